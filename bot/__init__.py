"""solidarity-bot: a Telegram bot for solidarity campaigns."""
