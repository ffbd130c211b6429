"""Bounded logs: a warning that repeats is let through a few times a minute and counted."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import LimitRepeats, configure_logging


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(
    msg: str, *args: object, name: str = "bot.x", level: int = logging.ERROR, error: bool = False
) -> logging.LogRecord:
    """Return a log record as `logging.getLogger(name).log(level, msg, *args)` makes it."""
    exc_info = None
    if error:
        try:
            raise RuntimeError("boom")
        except RuntimeError as raised:
            exc_info = (RuntimeError, raised, raised.__traceback__)
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def passed(limit: LimitRepeats, records: list[logging.LogRecord]) -> list[str]:
    """Return the text of the records the filter lets through."""
    return [r.getMessage() for r in records if limit.filter(r)]


def test_a_repeat_passes_a_few_times_then_is_counted() -> None:
    """Three pass (the third says more are counted), the rest wait for the next minute."""
    clock = Clock()
    limit = LimitRepeats(clock=clock)
    first = passed(limit, [record("send to chat %d failed", n) for n in range(1000)])
    assert first == [
        "send to chat 0 failed",
        "send to chat 1 failed",
        "send to chat 2 failed (more like this within 60 s of the first are counted, not logged)",
    ]
    clock.now += 59
    assert passed(limit, [record("send to chat %d failed", 7)]) == []
    clock.now += 1
    assert passed(limit, [record("send to chat %d failed", 8)]) == [
        "send to chat 8 failed (and 998 more like this were not logged)"
    ]
    assert passed(limit, [record("send to chat %d failed", 9)]) == ["send to chat 9 failed"]


def test_kinds_are_a_logger_and_a_template() -> None:
    """Another template, or the same one from another logger, is limited on its own."""
    limit = LimitRepeats(clock=Clock(), burst=1)
    records = [
        record("a %s", 1),
        record("a %s", 2),
        record("b %s", 1),
        record("a %s", 3, name="bot.y"),
    ]
    assert passed(limit, records) == ["a 1", "b 1", "a 3"]


def test_info_and_debug_are_not_limited() -> None:
    """Below WARNING every record passes: they say what the bot does, not what goes wrong."""
    limit = LimitRepeats(clock=Clock())
    records = [record("update %d", n, level=logging.INFO) for n in range(100)]
    assert len(passed(limit, records)) == 100


def test_tracebacks_are_limited_by_template_too() -> None:
    """Records with a traceback count as their template; the third passes without it."""
    limit = LimitRepeats(clock=Clock())
    records = [record("error while handling update %s", n, error=True) for n in range(50)]
    through = [r for r in records if limit.filter(r)]
    assert [r.exc_info is not None for r in through] == [True, True, False]


def test_kinds_tracked_are_capped() -> None:
    """Past max_kinds, new kinds share one limit, and the memory held stays bounded."""
    clock = Clock()
    limit = LimitRepeats(clock=clock, max_kinds=5, burst=1)
    texts = passed(limit, [record(f"fault number {n}") for n in range(10_000)])
    assert texts[:5] == [f"fault number {n}" for n in range(5)]
    assert texts[5:] == ["fault number 5"]  # the first of the others; the rest are counted
    assert len(limit._windows) == 5 + 1  # the five kinds, and the one the others share
    clock.now += 60  # the windows are over: new kinds are tracked again
    assert passed(limit, [record("fault number 10000")]) == ["fault number 10000"]
    assert len(limit._windows) == 1


@pytest.fixture
def own_logging() -> Iterator[io.StringIO]:
    """Logging configured as the bot does, into a string; the suite's own set-up restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_fault_repeating_ten_thousand_times_is_a_handful_of_lines(
    own_logging: io.StringIO,
) -> None:
    """Ten thousand identical errors, traceback and all, make at most a handful of lines."""
    logger = logging.getLogger("bot.test_logs")
    for update_id in range(10_000):
        try:
            raise ConnectionError("database went away")
        except ConnectionError:
            logger.exception("error while handling update %s", update_id)
    lines = own_logging.getvalue().splitlines()
    assert 3 <= len(lines) <= 15, lines
    assert sum("error while handling update" in line for line in lines) == 3
