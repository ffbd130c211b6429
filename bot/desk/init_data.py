"""A Mini App's initData, checked as Telegram documents it (core.telegram.org/bots/webapps).

The desk never keeps a session: every call carries the raw initData its page was opened with
(`Authorization: tma <initData>`), and every call is checked again here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

FUTURE_SLACK = dt.timedelta(minutes=1)  # a phone's clock a little ahead of ours


class InitDataError(Exception):
    """initData that does not prove who opened the page; the message says why, for a 401."""


@dataclass(frozen=True)
class Opener:
    """Who opened the page, as Telegram vouches for it."""

    user_id: int
    first_name: str
    language_code: str | None
    signed_at: dt.datetime


def _secret(token: str) -> bytes:
    # Mini Apps key by HMAC("WebAppData", token); the Login Widget's SHA256(token) is another.
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: list[tuple[str, str]]) -> str:
    """Return what the hash covers: every field but `hash` (`signature` included), sorted by
    key, values exactly as received."""
    return "\n".join(f"{key}={value}" for key, value in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], token: str) -> str:
    """Return `fields` as initData signed with the bot's token, as Telegram signs it (for the
    preview's demo organizer)."""
    pairs = list(fields.items())
    digest = hmac.new(_secret(token), _check_string(pairs).encode(), hashlib.sha256)
    return urlencode([*pairs, ("hash", digest.hexdigest())])


def check(raw: str, token: str, now: dt.datetime, max_age: dt.timedelta) -> Opener:
    """Return who signed `raw`, or raise InitDataError if Telegram did not, or too long ago."""
    try:
        fields = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("initData is not a query string") from None
    keys = [key for key, _value in fields]
    if len(set(keys)) != len(keys):
        raise InitDataError("initData repeats a field")
    values = dict(fields)
    received = values.get("hash", "")
    expected = hmac.new(_secret(token), _check_string(fields).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), received):
        raise InitDataError("initData is not signed by this bot")
    try:
        signed_at = dt.datetime.fromtimestamp(int(values["auth_date"]), dt.UTC)
        user = json.loads(values["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError, OverflowError):
        raise InitDataError("initData has no user or auth_date") from None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise InitDataError("initData has no user or auth_date")
    if now - signed_at > max_age:
        raise InitDataError("initData has expired: open the desk again")
    if signed_at - now > FUTURE_SLACK:
        raise InitDataError("initData is signed in the future")
    language = user.get("language_code")
    name = user.get("first_name")
    return Opener(
        user_id,
        name if isinstance(name, str) else str(user_id),
        language if isinstance(language, str) else None,
        signed_at,
    )


def claimed_language(raw: str) -> str | None:
    """Return the language initData's user names, signed or not (for wording a refusal)."""
    try:
        user = json.loads(dict(parse_qsl(raw)).get("user", "{}"))
    except ValueError:
        return None
    language = user.get("language_code") if isinstance(user, dict) else None
    return language if isinstance(language, str) else None
