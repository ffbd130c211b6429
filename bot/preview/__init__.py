"""The offline preview: the real bot against a stand-in Telegram, in the terminal."""
