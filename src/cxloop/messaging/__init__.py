"""Messages to customers: templates, consent and pacing rules, an outbox and the SMS/email/webhook channels."""
