"""E-mail: messages queued in the outbox and their delivery."""
