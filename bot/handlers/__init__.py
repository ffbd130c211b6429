"""What answers people in Telegram: public commands, preferences, sharing, organizer commands."""
