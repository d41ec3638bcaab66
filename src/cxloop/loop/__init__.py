"""Closing the loop: alert rules, improvement tasks, complaint cases, notifications and the audit trail."""
