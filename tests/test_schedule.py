"""Reading the organizer's "at ..." and "in ..." into the time a broadcast goes out."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import ScheduleError, describe, split_schedule

NOW = dt.datetime(2026, 11, 25, 16, 30, tzinfo=dt.UTC)  # a Wednesday
UTC, GAZA = ZoneInfo("UTC"), ZoneInfo("Asia/Gaza")  # Gaza is UTC+2 in November


@pytest.mark.parametrize(
    ("body", "when", "rest"),
    [
        ("at 2026-12-01 18:00 Rally!", dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC), "Rally!"),
        ("at 18:00 Rally", dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC), "Rally"),
        ("at 9:15\n\nMorning", dt.datetime(2026, 11, 26, 9, 15, tzinfo=dt.UTC), "Morning"),
        ("in 2h30m go", NOW + dt.timedelta(hours=2, minutes=30), "go"),
        ("IN 1d 2h go", NOW + dt.timedelta(days=1, hours=2), "go"),
        ("in 45m", NOW + dt.timedelta(minutes=45), ""),
        ("Rally at 18:00", None, "Rally at 18:00"),
        ("in the square at noon", None, "in the square at noon"),
    ],
)
def test_leading_times_are_read_and_taken_off(
    body: str, when: dt.datetime | None, rest: str
) -> None:
    assert split_schedule(body, NOW, UTC) == (when, rest)


def test_at_is_in_the_organizers_time_zone() -> None:
    """18:00 in Gaza (UTC+2) is 16:00 UTC, already past at 16:30 UTC: so tomorrow's."""
    when, _ = split_schedule("at 18:00 x", NOW, GAZA)
    assert when == dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.UTC)
    assert describe(when, GAZA) == "Thu 26 Nov 2026, 18:00 (Asia/Gaza)"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("at 2026-11-25 12:00 x", "2026-11-25 12:00 (UTC) has already passed"),
        ("at 2026-02-30 18:00 x", "“2026-02-30 18:00” is not a date and time I can read"),
        ("at 25:00 x", "“25:00” is not a date and time I can read"),
        ("in 0m x", "“in 0m” is now"),
        ("in 400d x", "more than a year ahead"),
    ],
)
def test_unusable_times_are_refused_in_one_sentence(body: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(problem)):
        split_schedule(body, NOW, UTC)
