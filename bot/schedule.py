"""When a scheduled broadcast goes out: the organizer's "at ..." or "in ..." read into a time."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from bot import i18n

FURTHEST = dt.timedelta(days=366)

_WHEN = re.compile(
    r"""^(?:
        at\s+(?:(?P<date>\d{4}-\d{2}-\d{2})\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})
      | in\s+(?P<delay>(?:\d+\s*[dhm]\s*)+?)
    )(?:\s+|$)""",
    re.IGNORECASE | re.VERBOSE,
)
_DELAY_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class ScheduleError(ValueError):
    """A time the organizer wrote that cannot be used, said in one sentence."""


def split_schedule(body: str, now: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime | None, str]:
    """Take a leading `at [YYYY-MM-DD] HH:MM` or `in 1d2h30m` off `body`.

    Return the time in UTC (None when the body starts with neither) and the rest of the body.
    `at` times are in `zone`; `at HH:MM` alone means the next time the clock shows it.
    """
    match = _WHEN.match(body)
    if match is None:
        return None, body
    rest = body[match.end() :]
    if match["delay"]:
        delay = _sum_delay(match["delay"])
        if not delay:
            raise ScheduleError("“in 0m” is now: leave the time out to send at once")
        return _checked(now + delay, now), rest
    hour, minute = int(match["hour"]), int(match["minute"])
    local_now = now.astimezone(zone)
    try:
        day = dt.date.fromisoformat(match["date"]) if match["date"] else local_now.date()
        when = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
    except ValueError:
        written = f"{match['date'] or ''} {match['hour']}:{match['minute']}".strip()
        raise ScheduleError(f"“{written}” is not a date and time I can read") from None
    if match["date"] is None and when <= local_now:
        when = dt.datetime.combine(day + dt.timedelta(days=1), when.timetz())
    if when <= local_now:
        raise ScheduleError(f"{when:%Y-%m-%d %H:%M} ({zone.key}) has already passed")
    return _checked(when.astimezone(dt.UTC), now), rest


def _checked(when: dt.datetime, now: dt.datetime) -> dt.datetime:
    if when - now > FURTHEST:
        raise ScheduleError("that is more than a year ahead; schedule it closer to the time")
    return when


def describe(when: dt.datetime, zone: ZoneInfo) -> str:
    """Return a scheduled time as organizers read it, e.g. "Tue 1 Dec 2026, 18:00 (UTC)"."""
    return f"{i18n.format_moment(when.astimezone(zone))} ({zone.key})"


def parse_lead(text: str) -> dt.timedelta:
    """Read a lead time such as `1d`, `2h` or `1h30m`; ValueError if it is not one."""
    compact = text.strip().replace(" ", "")
    if not compact or not re.fullmatch(r"(?:\d+[dhm])+", compact, re.IGNORECASE):
        raise ValueError(f"{text!r} is not a lead time such as 1d, 2h or 1h30m")
    return _sum_delay(compact)


def _sum_delay(text: str) -> dt.timedelta:
    """Return the time a checked `1d2h30m` stands for."""
    delay = dt.timedelta()
    for amount, unit in _DELAY_PART.findall(text):
        delay += dt.timedelta(**{_UNITS[unit.lower()]: int(amount)})
    return delay


def describe_lead(lead: dt.timedelta) -> str:
    """Return a lead time as people say it: "1 day", "2 hours", "1 hour 30 minutes"."""
    minutes = int(lead.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    units = [
        (count, unit) for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
    ]
    units = [(count, unit) for count, unit in units if count] or [(0, "minute")]
    translated = i18n.format_units(units, short=False)
    if translated is not None:
        return translated
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in units)
