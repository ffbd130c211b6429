"""Logging set up so that no secret reaches a log line and no repeating fault fills a disk."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


class LimitRepeats(logging.Filter):
    """Let through a few warnings (or worse) of one kind a minute, and count the rest.

    A kind is a logger and its message template (`msg` before `%` arguments), so a fault that
    repeats, traceback and all, cannot fill a disk. The first after a quiet spell says how many
    were held back. At most `max_kinds` kinds are tracked; past that, new ones share one.
    """

    OTHERS = ("", "")  # the kind new kinds share once max_kinds are tracked

    def __init__(
        self,
        *,
        period: float = 60.0,
        burst: int = 3,
        max_kinds: int = 500,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.period, self.burst, self.max_kinds, self.level = period, burst, max_kinds, level
        self.clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()  # the filter runs outside the handler's lock

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass the record (noting held-back ones in its text), or hold it back and count it."""
        if record.levelno < self.level:
            return True
        with self._lock:
            now = self.clock()
            key = self._kind(record, now)
            like = "of other kinds" if key == self.OTHERS else "like this"
            window = self._windows.get(key)
            if window is None or now - window.start >= self.period:
                self._windows[key] = _Window(now)
                if window is not None and window.held:
                    _note(record, f"and {window.held:,} more {like} were not logged")
                return True
            window.passed += 1
            if window.passed > self.burst:
                window.held += 1
                return False
        if window.passed == self.burst:
            within = f"within {self.period:g} s of the first"
            _note(record, f"more {like} {within} are counted, not logged")
            record.exc_info = record.exc_text = record.stack_info = None  # the first had it
        return True

    def _kind(self, record: logging.LogRecord, now: float) -> tuple[str, str]:
        key = (record.name, str(record.msg))
        if key in self._windows or len(self._windows) < self.max_kinds:
            return key
        # Full: forget the windows that are over (their held-back counts go unsaid).
        self._windows = {k: w for k, w in self._windows.items() if now - w.start < self.period}
        return key if len(self._windows) < self.max_kinds else self.OTHERS


def _note(record: logging.LogRecord, note: str) -> None:
    # Appended to the template, before its % arguments are put in: the note has no % of its own.
    record.msg = f"{record.msg} ({note})"


@dataclass
class _Window:
    """One kind's minute: when it began, how many passed, how many were held back."""

    start: float
    passed: int = 1
    held: int = 0


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
    """Log to stderr (or `stream`) at `level`, redacting secrets, repeats limited, HTTP request
    logs quieted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # First: the limit keys on the message template, which the others replace with the text.
    handler.addFilter(LimitRepeats())
    handler.addFilter(ShortNetworkErrors())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token; alembic
    # narrates each step of a migration (our own log says what it did).
    # trafilatura and htmldate, reading a campaign's web pages, log the pages' text at DEBUG.
    for noisy in (
        "httpx",
        "httpcore",
        "aiosqlite",
        "asyncio",
        "alembic",
        "trafilatura",
        "htmldate",
        "courlan",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG, python-telegram-bot logs whole updates and replies: people's names and messages.
    # Our own modules may be verbose; the library never below INFO.
    telegram = logging.getLogger("telegram")
    telegram.setLevel(max(logging.INFO, logging.getLevelName(level)))
