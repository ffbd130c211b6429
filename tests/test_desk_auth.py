"""The desk's initData check, against initData signed here the way Telegram signs it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import quote

import pytest

from bot.desk.init_data import InitDataError, check, sign

from .fake_telegram import TOKEN

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
# The user field as Telegram's clients send it: slashes escaped, which json.dumps never writes.
USER = (
    '{"id":42,"first_name":"Ana","language_code":"ar","allows_write_to_pm":true,'
    '"photo_url":"https:\\/\\/t.me\\/i\\/userpic\\/320\\/abc.svg"}'
)
SIGNATURE = (
    "Xq3hZt0yn4m9pDqoG3Bvb8QvL2vZk8kTf4bXmTqzJ0sXxvGQ8lE1a5Zm4W8HcQJtE3c1cVdA9PwX8o1mYbNcAg"
)


def telegram_init_data(
    fields: dict[str, str], token: str = TOKEN, *, key: bytes | None = None
) -> str:
    """Sign `fields` as Telegram does: HMAC-SHA256 under HMAC-SHA256("WebAppData", token), over
    the fields but `hash` sorted by key, `key=value` per line; then percent-encode them all."""
    secret = key or hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    check_string = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    digest = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in {**fields, "hash": digest}.items())


def opened(at: dt.datetime = NOW, user: str = USER, **extra: str) -> dict[str, str]:
    """Return the fields Telegram gives a page opened from the menu button at `at`."""
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": user,
        "auth_date": str(int(at.timestamp())),
        "signature": SIGNATURE,
        **extra,
    }


def test_initdata_signed_by_telegram_names_the_organizer() -> None:
    """initData signed over every field, escaped photo_url and signature included, is accepted."""
    assert json.dumps(json.loads(USER)) != USER  # re-serializing the user would break the hash
    opener = check(telegram_init_data(opened()), TOKEN, NOW, HOUR)
    assert (opener.user_id, opener.language_code) == (42, "ar")
    assert opener.signed_at == NOW


def test_initdata_signed_without_the_signature_field_is_refused() -> None:
    """The hash covers `signature` too: a hash made without it does not match."""
    fields = opened()
    without = {k: v for k, v in fields.items() if k != "signature"}
    forged = telegram_init_data(without) + f"&signature={SIGNATURE}"
    with pytest.raises(InitDataError, match="not signed by this bot"):
        check(forged, TOKEN, NOW, HOUR)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda raw: raw.replace("%22id%22%3A42", "%22id%22%3A43"), "not signed by this bot"),
        (lambda raw: raw.rsplit("&hash=", 1)[0], "not signed by this bot"),
        (lambda raw: raw + "&auth_date=1", "repeats a field"),
        (lambda raw: "", "not signed by this bot"),
        (lambda raw: "user=%7B&&hash", "not a query string"),
    ],
    ids=["another user", "no hash", "duplicate key", "empty", "malformed"],
)
def test_tampered_initdata_is_refused(change: object, reason: str) -> None:
    """A changed field, a missing hash, a repeated key or junk is refused, saying which."""
    raw = telegram_init_data(opened())
    with pytest.raises(InitDataError, match=reason):
        check(change(raw), TOKEN, NOW, HOUR)  # type: ignore[operator]


def test_initdata_for_another_bot_or_the_login_widget_is_refused() -> None:
    """Signed with another token, or with the Login Widget's key, it is not ours."""
    other = telegram_init_data(opened(), "123:another-bots-token")
    widget_key = hashlib.sha256(TOKEN.encode()).digest()
    widget = telegram_init_data(opened(), key=widget_key)
    for raw in (other, widget):
        with pytest.raises(InitDataError, match="not signed by this bot"):
            check(raw, TOKEN, NOW, HOUR)


def test_old_or_future_initdata_is_refused() -> None:
    """initData older than the window, or from the future, is refused; just inside is not."""
    assert check(telegram_init_data(opened(NOW - HOUR)), TOKEN, NOW, HOUR).user_id == 42
    old = telegram_init_data(opened(NOW - HOUR - dt.timedelta(seconds=1)))
    with pytest.raises(InitDataError, match="expired"):
        check(old, TOKEN, NOW, HOUR)
    ahead = telegram_init_data(opened(NOW + dt.timedelta(minutes=5)))
    with pytest.raises(InitDataError, match="future"):
        check(ahead, TOKEN, NOW, HOUR)


@pytest.mark.parametrize("user", ['{"first_name":"Ana"}', '{"id":"42"}', "[42]", "not json"])
def test_initdata_without_a_numeric_user_id_is_refused(user: str) -> None:
    """Signed, but naming no numeric user: nobody to check against BOT_ADMINS."""
    with pytest.raises(InitDataError, match="no user"):
        check(telegram_init_data(opened(user=user)), TOKEN, NOW, HOUR)


def test_the_preview_signs_as_telegram_does() -> None:
    """initData from `sign` (the preview's demo organizer) is what Telegram would send."""
    fields = opened()
    assert check(sign(fields, TOKEN), TOKEN, NOW, HOUR).user_id == 42
    ours, theirs = sign(fields, TOKEN), telegram_init_data(fields)
    assert ours.rsplit("hash=", 1)[1] == theirs.rsplit("hash=", 1)[1]
