"""solidarity-bot: a Telegram bot for solidarity campaigns."""

import os

# python-telegram-bot 22 warns that durations (RetryAfter.retry_after, ...) become timedeltas in
# its next major version; we handle timedeltas already, so take them now and stay warning-free.
os.environ.setdefault("PTB_TIMEDELTA", "true")
