"""Notifications: mails, chat webhooks and the in-app inbox, through one outbox."""
