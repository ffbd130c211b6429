"""Settings from the environment and an optional `.env` file, checked before anything starts."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.schedule import parse_lead

DEFAULT_DATABASE_URL = "sqlite:///data/solidarity.db"
TELEGRAM_API_URL = "https://api.telegram.org"

# Ids Telegram shares between many people: never a person's own, so never an organizer.
_SHARED_IDS = {
    1087968824: "Telegram's anonymous group admin (shared by every anonymous admin)",
    136817688: "Telegram's channel bot (shared by every channel posting in groups)",
    777000: "Telegram's service account",
}
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting that is missing or malformed, said in one sentence."""


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, and where this process listens for them."""

    url: str  # the public https URL given to Telegram
    secret: str = field(repr=False)  # Telegram sends it back in a header with every update
    listen: str = "127.0.0.1"  # behind a reverse proxy that terminates TLS
    port: int = 8080
    max_connections: int = 40  # updates Telegram posts at once (its default)

    @property
    def path(self) -> str:
        """Return the URL's path, where updates arrive (`/` if it has none)."""
        return "/" + self.url.split("://", 1)[1].partition("/")[2]


@dataclass(frozen=True)
class Config:
    """Every setting the bot runs with."""

    token: str | None = field(default=None, repr=False)
    api_url: str = TELEGRAM_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    campaigns_dir: Path = Path("campaigns")
    admins: frozenset[int] = frozenset()
    log_level: str = "INFO"
    paid_broadcasts: bool = False
    timezone: str = "UTC"
    webhook: Webhook | None = None  # None: long polling
    group_policy: str = "anyone"  # or "organizers": leave groups a non-organizer added it to
    pledge_reminder: dt.timedelta = dt.timedelta(days=1)  # how long before an action
    metrics_port: int | None = None  # None: no /metrics when polling (a webhook serves it)
    metrics_listen: str = "127.0.0.1"
    feed_interval: float = 900.0  # seconds between polls of the campaigns' feeds; 0: never
    test_chat: int | None = None  # also gets every broadcast's test send (organizers' group)
    # How long rows are kept (docs/privacy.md): deliveries of finished broadcasts, ended
    # subscriptions, audit entries.
    delivery_retention: dt.timedelta = dt.timedelta(days=30)
    subscription_retention: dt.timedelta = dt.timedelta(days=30)
    audit_retention: dt.timedelta = dt.timedelta(days=365)
    approval_threshold: int | None = None  # above this many recipients, a second organizer
    # The key that seals every stored Telegram id (issue 14); None: ids are stored unsealed.
    id_key: bytes | None = field(default=None, repr=False)
    # Updates taken from Telegram and not yet answered, at most (issue 20): past it the bot
    # takes no more, and Telegram keeps them.
    update_backlog: int = 20_000
    # Answers waiting longer than this many seconds for a free slot take the paid lane (with
    # PAID_BROADCASTS), up to `paid_answers_per_day` a day (UTC); None: never.
    paid_answers_after: float | None = None
    paid_answers_per_day: int = 1000
    # The organizers' desk (a Mini App, issue 21): the public https address Telegram opens
    # (None: no desk), where it listens when polling (with a webhook: on the webhook's port),
    # and how long the initData a page was opened with is good for.
    desk_url: str | None = None
    desk_port: int = 8081
    desk_listen: str = "127.0.0.1"
    desk_login_age: dt.timedelta = dt.timedelta(hours=1)

    @property
    def zone(self) -> ZoneInfo:
        """Return the time zone organizers write scheduled times in."""
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        """Return the bot token, or raise ConfigError saying how to set it."""
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put "
                "TELEGRAM_BOT_TOKEN=... in the environment or in .env "
                "(or try `python -m bot preview`, which needs none)"
            )
        return self.token


def read_env_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines from a .env file; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _parse_admins(text: str) -> frozenset[int]:
    admins = set()
    for part in text.replace(";", ",").split(","):
        item = part.strip()
        if not item:
            continue
        if not re.fullmatch(r"\d{1,20}", item):
            raise ConfigError(
                f"BOT_ADMINS: {item!r} is not a numeric Telegram user id "
                "(list ids like 123456789, separated by commas; usernames can change hands)"
            )
        user_id = int(item)
        if user_id in _SHARED_IDS:
            raise ConfigError(f"BOT_ADMINS: {user_id} is {_SHARED_IDS[user_id]}, not a person")
        admins.add(user_id)
    return frozenset(admins)


def _parse_approval_threshold(text: str) -> int | None:
    value = text.strip().replace("_", "").replace(",", "")
    if value in ("", "0", "off"):
        return None
    if not value.isdigit():
        raise ConfigError(
            f"APPROVAL_THRESHOLD: {text!r} is not a number of recipients (e.g. 500: a "
            "broadcast to more needs a second organizer; 0 or empty: never)"
        )
    return int(value)


def _parse_test_chat(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"-?\d{1,20}", value) or int(value) == 0:
        raise ConfigError(
            f"TEST_CHAT: {value!r} is not a numeric chat id (a group's looks like "
            "-1001234567890; add the bot to the group first)"
        )
    return int(value)


# AES-SIV's key sizes: two AES keys of 128, 192 or 256 bits.
ID_KEY_SIZES = (32, 48, 64)


def new_id_key() -> str:
    """Return a fresh key for ID_ENCRYPTION_KEY: 64 random bytes (AES-256-SIV), base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode("ascii")


def parse_id_key(text: str, name: str = "ID_ENCRYPTION_KEY") -> bytes:
    """Decode a key made by `python -m bot new-key`, or raise ConfigError (never echoing it)."""
    try:  # strict: no stray characters, no padding in the middle (a key pasted twice)
        standard = text.strip().translate(str.maketrans("-_", "+/")).encode("ascii")
        key = binascii.a2b_base64(standard, strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) not in ID_KEY_SIZES:
        raise ConfigError(
            f"{name} is not a key made by `python -m bot new-key` (base64 of 32, 48 or 64 "
            "bytes): make one with that command"
        )
    return key


def _read_id_key(values: Mapping[str, str]) -> bytes | None:
    """Return the key from ID_ENCRYPTION_KEY or the file ID_ENCRYPTION_KEY_FILE names."""
    text = values.get("ID_ENCRYPTION_KEY", "").strip()
    path = values.get("ID_ENCRYPTION_KEY_FILE", "").strip()
    if text and path:
        raise ConfigError(
            "ID_ENCRYPTION_KEY and ID_ENCRYPTION_KEY_FILE are both set: keep only one"
        )
    if path:
        return read_id_key_file(Path(path), "ID_ENCRYPTION_KEY_FILE")
    return parse_id_key(text) if text else None


def read_id_key_file(path: Path, name: str) -> bytes:
    """Read a key from a file (a systemd credential, a Docker secret), or raise ConfigError."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not a text file"
        raise ConfigError(f"{name}: cannot read {path}: {reason}") from None
    return parse_id_key(text, f"{name} ({path})")


def _parse_flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}: {text!r} is not true or false")


def _parse_timezone(text: str) -> str:
    name = text.strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"TIMEZONE: {name!r} is not a time zone name (e.g. UTC, Europe/London, Asia/Gaza)"
        ) from None
    return name


def check_database_url(url: str, name: str = "DATABASE_URL") -> None:
    """Raise ConfigError unless `url` is an sqlite:/// or postgresql:// URL."""
    scheme = re.match(r"^([a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?://", url)
    if scheme is None:
        reason = "not a database URL"
    elif scheme[1] not in ("sqlite", "postgresql", "postgres"):
        reason = f"unsupported database {scheme[1]!r}: use sqlite:/// or postgresql://"
    else:
        return
    raise ConfigError(f"{name}: {reason} (e.g. {DEFAULT_DATABASE_URL})")


def _parse_api_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise ConfigError(f"TELEGRAM_API_URL: {text!r} is not an http(s) URL")
    return url.removesuffix("/bot")


def _parse_pledge_reminder(text: str) -> dt.timedelta:
    try:
        lead = parse_lead(text or "1d")
    except ValueError as error:
        raise ConfigError(f"PLEDGE_REMINDER: {error}") from None
    if not dt.timedelta(minutes=5) <= lead <= dt.timedelta(days=14):
        raise ConfigError(f"PLEDGE_REMINDER: {text!r} must be between 5 minutes and 14 days")
    return lead


RETENTION_RANGE = (dt.timedelta(days=1), dt.timedelta(days=3650))


def _parse_retention(values: Mapping[str, str], name: str, default: str) -> dt.timedelta:
    hint = f"1d to 3650d (days, e.g. {default}; h and m work too)"
    return _parse_period(values, name, default, RETENTION_RANGE, hint)


def _parse_period(
    values: Mapping[str, str],
    name: str,
    default: str,
    span: tuple[dt.timedelta, dt.timedelta],
    hint: str,
) -> dt.timedelta:
    """Read a time like "30d", "1h" or "5m" within `span`, or raise ConfigError with `hint`."""
    text = values.get(name, "").strip() or default
    try:
        period = parse_lead(text)
    except ValueError:
        period = dt.timedelta(0)
    low, high = span
    if not low <= period <= high:
        raise ConfigError(f"{name}: {text!r} must be a time from {hint}")
    return period


FEED_INTERVAL_RANGE = (60, 86400)  # a minute is polite to a small site; a day is still news


def _parse_feed_interval(text: str) -> float:
    value = text.strip() or "900"
    low, high = FEED_INTERVAL_RANGE
    if not value.isdigit() or not (int(value) == 0 or low <= int(value) <= high):
        raise ConfigError(
            f"FEED_INTERVAL: {text!r} must be 0 (never poll the campaigns' feeds) or a number "
            f"of seconds from {low} to {high} (e.g. 900, every 15 minutes)"
        )
    return float(value)


GROUP_POLICIES = ("anyone", "organizers")


def _parse_group_policy(text: str) -> str:
    policy = text.strip().lower() or "anyone"
    if policy not in GROUP_POLICIES:
        raise ConfigError(
            f"GROUP_POLICY: {text!r} is not anyone (anyone may add the bot to a group) or "
            "organizers (the bot leaves groups and channels a non-organizer adds it to)"
        )
    return policy


def _parse_webhook(values: Mapping[str, str]) -> Webhook | None:
    url = values.get("WEBHOOK_URL", "").strip()
    if not url:
        return None
    if not re.fullmatch(r"https://[^\s/?#]+(/[^\s?#]*)?", url):
        raise ConfigError(
            f"WEBHOOK_URL: {url!r} is not an https URL without query "
            "(Telegram only posts to https, e.g. https://bot.example.org/telegram)"
        )
    secret = values.get("WEBHOOK_SECRET", "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
        # Never echo the value.
        raise ConfigError(
            "WEBHOOK_SECRET must be set with WEBHOOK_URL: 16 to 256 of A-Z a-z 0-9 _ - "
            '(make one with: python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    port = _parse_port("WEBHOOK_PORT", values.get("WEBHOOK_PORT", "").strip() or "8080")
    listen = values.get("WEBHOOK_LISTEN", "").strip() or "127.0.0.1"
    connections = _parse_int(values, "WEBHOOK_MAX_CONNECTIONS", 40, 1, 100)
    return Webhook(url=url, secret=secret, listen=listen, port=port, max_connections=connections)


def _parse_int(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = values.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name}: {text!r} must be a whole number from {low:,} to {high:,}")
    return int(text)


def _parse_paid_answers_after(values: Mapping[str, str]) -> float | None:
    text = values.get("PAID_ANSWERS_AFTER", "").strip()
    if not text:
        return None
    try:
        seconds = float(text.removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not 1.0 <= seconds <= 3600.0:
        raise ConfigError(
            f"PAID_ANSWERS_AFTER: {text!r} must be a number of seconds from 1 to 3600 (how long "
            "an answer may wait for a free slot before it takes the paid lane)"
        )
    if not _parse_flag("PAID_BROADCASTS", values.get("PAID_BROADCASTS", "")):
        raise ConfigError(
            "PAID_ANSWERS_AFTER needs PAID_BROADCASTS=true: the paid lane costs Stars, which "
            "only a bot with paid broadcasts enabled can spend"
        )
    return seconds


def _parse_port(name: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{name}: {text!r} is not a port number (1-65535)")
    return int(text)


def _parse_metrics_port(values: Mapping[str, str]) -> int | None:
    text = values.get("METRICS_PORT", "").strip()
    if not text:
        return None
    if values.get("WEBHOOK_URL", "").strip():
        raise ConfigError(
            "METRICS_PORT is for long polling: with WEBHOOK_URL set, /metrics is served on "
            "WEBHOOK_PORT (unset METRICS_PORT)"
        )
    return _parse_port("METRICS_PORT", text)


def _parse_desk_url(text: str) -> str | None:
    url = text.strip()
    if not url:
        return None
    local = re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/", url + "/")
    if not url.startswith("https://") and not local:
        raise ConfigError(
            f"DESK_URL: {url!r} must start with https:// (Telegram opens Mini Apps over https "
            "only; http:// is for 127.0.0.1 and localhost)"
        )
    return url if url.endswith("/") else url + "/"


def _parse_desk_port(values: Mapping[str, str]) -> int:
    text = values.get("DESK_PORT", "").strip()
    if not text:
        return 8081
    if values.get("WEBHOOK_URL", "").strip():
        raise ConfigError(
            "DESK_PORT is for long polling: with WEBHOOK_URL set, the desk is served on "
            "WEBHOOK_PORT under /desk/ (unset DESK_PORT)"
        )
    return _parse_port("DESK_PORT", text)


DESK_LOGIN_AGE_RANGE = (dt.timedelta(minutes=5), dt.timedelta(days=1))


def _parse_desk_login_age(values: Mapping[str, str]) -> dt.timedelta:
    hint = "5m to 24h (how long a desk opened from Telegram stays signed in, e.g. 1h)"
    return _parse_period(values, "DESK_LOGIN_AGE", "1h", DESK_LOGIN_AGE_RANGE, hint)


def load_config(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Config:
    """Build the config from a .env file, overridden by the environment, or raise ConfigError."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update(read_env_file(env_file))
    values.update(os.environ if environ is None else environ)

    token = values.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token is not None and not _TOKEN.match(token):
        # Never echo the value: a malformed token may still be most of a real one.
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters; "
            "copy it again from @BotFather)"
        )
    database_url = values.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    check_database_url(database_url)
    log_level = values.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in logging.getLevelNamesMapping():
        raise ConfigError(
            f"LOG_LEVEL: {log_level!r} is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL)"
        )
    return Config(
        token=token,
        api_url=_parse_api_url(values.get("TELEGRAM_API_URL", "") or TELEGRAM_API_URL),
        database_url=database_url,
        campaigns_dir=Path(values.get("CAMPAIGNS_DIR", "").strip() or "campaigns"),
        admins=_parse_admins(values.get("BOT_ADMINS", "")),
        log_level=log_level,
        paid_broadcasts=_parse_flag("PAID_BROADCASTS", values.get("PAID_BROADCASTS", "")),
        timezone=_parse_timezone(values.get("TIMEZONE", "")),
        webhook=_parse_webhook(values),
        group_policy=_parse_group_policy(values.get("GROUP_POLICY", "")),
        pledge_reminder=_parse_pledge_reminder(values.get("PLEDGE_REMINDER", "")),
        metrics_port=_parse_metrics_port(values),
        metrics_listen=values.get("METRICS_LISTEN", "").strip() or "127.0.0.1",
        feed_interval=_parse_feed_interval(values.get("FEED_INTERVAL", "")),
        test_chat=_parse_test_chat(values.get("TEST_CHAT", "")),
        delivery_retention=_parse_retention(values, "DELIVERY_RETENTION", "30d"),
        subscription_retention=_parse_retention(values, "SUBSCRIPTION_RETENTION", "30d"),
        audit_retention=_parse_retention(values, "AUDIT_RETENTION", "365d"),
        approval_threshold=_parse_approval_threshold(values.get("APPROVAL_THRESHOLD", "")),
        id_key=_read_id_key(values),
        update_backlog=_parse_int(values, "UPDATE_BACKLOG", 20_000, 100, 1_000_000),
        paid_answers_after=_parse_paid_answers_after(values),
        paid_answers_per_day=_parse_int(values, "PAID_ANSWERS_PER_DAY", 1000, 1, 10_000_000),
        desk_url=_parse_desk_url(values.get("DESK_URL", "")),
        desk_port=_parse_desk_port(values),
        desk_listen=values.get("DESK_LISTEN", "").strip() or "127.0.0.1",
        desk_login_age=_parse_desk_login_age(values),
    )
