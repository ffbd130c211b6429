"""Getting messages to Telegram: the one paced transport, the broadcast sender, reminders."""
