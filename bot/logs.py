"""Logging set up so that no secret reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TextIO


class RedactSecrets(logging.Filter):
    """Replace secrets (the bot token) wherever they appear in a record's text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record with every secret replaced; never drop it."""
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            message = message.replace(secret, "[redacted]")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        record.msg, record.args = message, None
        return True


class ShortNetworkErrors(logging.Filter):
    """Drop the traceback from python-telegram-bot's network retry messages: one line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, without a traceback when it is a network retry report."""
        text = record.getMessage()
        if record.name.startswith("telegram") and text.startswith("Network Retry Loop"):
            if record.exc_info and record.exc_info[1] is not None:
                record.msg = f"{text} ({record.exc_info[1]})"
                record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(
    level: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Log to stderr (or `stream`) at `level`, redacting secrets, HTTP request logs quieted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ShortNetworkErrors())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token; alembic
    # narrates each step of a migration (our own log says what it did).
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG, python-telegram-bot logs whole updates and replies: people's names and messages.
    # Our own modules may be verbose; the library never below INFO.
    telegram = logging.getLogger("telegram")
    telegram.setLevel(max(logging.INFO, logging.getLevelName(level)))
