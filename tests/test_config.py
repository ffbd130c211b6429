"""Settings: defaults, .env files, and one clear sentence for each malformed value."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config, new_id_key, parse_id_key
from bot.logs import RedactSecrets

from .conftest import ROOT

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_defaults_need_nothing_but_a_token_to_run(tmp_path: Path) -> None:
    """With an empty environment every setting has its documented default."""
    config = load_config({}, env_file=tmp_path / "missing.env")
    assert config == Config()
    assert config.database_url == "sqlite:///data/solidarity.db"
    assert config.api_url == "https://api.telegram.org"
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        config.require_token()


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    """A .env file supplies values; the environment overrides them."""
    env = tmp_path / ".env"
    env.write_text(
        f"# organizer settings\nTELEGRAM_BOT_TOKEN='{TOKEN}'\nBOT_ADMINS=11, 22\nLOG_LEVEL=debug\n"
        "export CAMPAIGNS_DIR=mine\n",
        encoding="utf-8",
    )
    config = load_config({"LOG_LEVEL": "WARNING"}, env_file=env)
    assert config.require_token() == TOKEN
    assert config.admins == frozenset({11, 22})
    assert config.log_level == "WARNING"
    assert config.campaigns_dir == Path("mine")


def test_token_never_appears_in_repr() -> None:
    """Printing the config does not print the token."""
    assert TOKEN not in repr(Config(token=TOKEN))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BOT_ADMINS": "12, @ana"}, "BOT_ADMINS: '@ana' is not a numeric Telegram user id"),
        ({"BOT_ADMINS": "1087968824"}, "anonymous group admin"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "does not look like a bot token"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: unsupported database 'mysql'"),
        ({"DATABASE_URL": "::nonsense"}, "DATABASE_URL: not a database URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: 'LOUD' is not a level"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL: 'ftp://x' is not an http"),
        ({"METRICS_PORT": "0"}, "METRICS_PORT: '0' is not a port number"),
        ({"METRICS_PORT": "65536"}, "METRICS_PORT: '65536' is not a port number"),
        ({"METRICS_PORT": "-1"}, "METRICS_PORT: '-1' is not a port number"),
        ({"METRICS_PORT": "nine"}, "METRICS_PORT: 'nine' is not a port number"),
        ({"FEED_INTERVAL": "30"}, "FEED_INTERVAL: '30' must be 0 (never poll"),
        ({"FEED_INTERVAL": "15m"}, "FEED_INTERVAL: '15m' must be 0 (never poll"),
        ({"FEED_INTERVAL": "86401"}, "FEED_INTERVAL: '86401' must be 0"),
        (
            {
                "METRICS_PORT": "9108",
                "WEBHOOK_URL": "https://bot.example.org/telegram",
                "WEBHOOK_SECRET": "s3cret-for-the-webhook-tests_0123456789",
            },
            "METRICS_PORT is for long polling: with WEBHOOK_URL set, /metrics is served on "
            "WEBHOOK_PORT",
        ),
    ],
)
def test_malformed_values_are_one_sentence(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    """Each malformed setting is refused with a sentence naming it."""
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_config(environ, env_file=None)


def test_bad_token_message_does_not_echo_it() -> None:
    """A malformed token is refused without repeating it."""
    with pytest.raises(ConfigError) as caught:
        load_config({"TELEGRAM_BOT_TOKEN": "123:short"}, env_file=None)
    assert "123:short" not in str(caught.value)


def test_bad_env_file_line_is_located(tmp_path: Path) -> None:
    """A .env line that is not KEY=VALUE is reported with its line number."""
    env = tmp_path / ".env"
    env.write_text("LOG_LEVEL=INFO\nthis is wrong\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=VALUE"):
        load_config({}, env_file=env)


def test_api_url_accepts_a_self_hosted_server() -> None:
    """A self-hosted Bot API URL is used as given, with or without /bot."""
    assert load_config({"TELEGRAM_API_URL": "http://127.0.0.1:8081/"}, env_file=None).api_url == (
        "http://127.0.0.1:8081"
    )
    assert (
        load_config({"TELEGRAM_API_URL": "http://h:1/bot"}, env_file=None).api_url == "http://h:1"
    )


def test_redaction_removes_the_token_from_messages_and_tracebacks() -> None:
    """A log record holding the token, in its text or its traceback, is rewritten."""
    redact = RedactSecrets([TOKEN])
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST %s", (f"https://api/bot{TOKEN}/getMe",), None
    )
    assert redact.filter(record)
    assert record.getMessage() == "POST https://api/bot[redacted]/getMe"
    try:
        raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
    except RuntimeError:
        import sys

        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    redact.filter(failing)
    assert failing.exc_text is not None
    assert TOKEN not in failing.exc_text
    assert "[redacted]" in failing.exc_text


def test_paid_broadcasts_and_time_zone_are_read_and_checked(tmp_path: Path) -> None:
    """PAID_BROADCASTS is a yes/no flag; TIMEZONE must name a real zone."""
    missing = tmp_path / "missing.env"
    config = load_config({"PAID_BROADCASTS": "yes", "TIMEZONE": "Asia/Gaza"}, env_file=missing)
    assert config.paid_broadcasts
    assert config.zone.key == "Asia/Gaza"
    assert not load_config({"PAID_BROADCASTS": "0"}, env_file=missing).paid_broadcasts
    with pytest.raises(ConfigError, match="PAID_BROADCASTS: 'maybe' is not true or false"):
        load_config({"PAID_BROADCASTS": "maybe"}, env_file=missing)
    with pytest.raises(ConfigError, match="TIMEZONE: 'Mars/Olympus' is not a time zone name"):
        load_config({"TIMEZONE": "Mars/Olympus"}, env_file=missing)


def test_the_example_env_file_is_valid_and_names_every_setting() -> None:
    example = ROOT / ".env.example"
    config = load_config({}, example)
    assert config.token is None  # to be filled in
    named = set(re.findall(r"^#? ?([A-Z_]+)=", example.read_text(encoding="utf-8"), re.M))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", readme)) & named
    assert named == documented, named - documented
    used = set(re.findall(r'"([A-Z][A-Z_]+)"', (ROOT / "bot" / "config.py").read_text()))
    assert used - {"UTC", "INFO"} <= named, used - named


def test_metrics_port_is_off_unless_set() -> None:
    """No metrics port by default; METRICS_PORT and METRICS_LISTEN are read when set."""
    assert load_config({}, env_file=None).metrics_port is None
    config = load_config({"METRICS_PORT": " 9108 ", "METRICS_LISTEN": "0.0.0.0"}, env_file=None)
    assert (config.metrics_port, config.metrics_listen) == (9108, "0.0.0.0")
    assert load_config({"METRICS_PORT": "9108"}, env_file=None).metrics_listen == "127.0.0.1"


def test_feed_interval_is_15_minutes_unless_set() -> None:
    """FEED_INTERVAL is 900 seconds by default, 0 switches feeds off, and it is read when set."""
    assert load_config({}, env_file=None).feed_interval == 900
    assert load_config({"FEED_INTERVAL": "0"}, env_file=None).feed_interval == 0
    assert load_config({"FEED_INTERVAL": " 3600 "}, env_file=None).feed_interval == 3600


def test_the_id_key_comes_from_the_environment_or_a_file_never_both(tmp_path: Path) -> None:
    """ID_ENCRYPTION_KEY or ID_ENCRYPTION_KEY_FILE gives the key; never echoed, never both."""
    key = new_id_key()
    secret = tmp_path / "id-key"
    secret.write_text(key + "\n")
    assert load_config({}, None).id_key is None
    from_env = load_config({"ID_ENCRYPTION_KEY": key}, None)
    from_file = load_config({"ID_ENCRYPTION_KEY_FILE": str(secret)}, None)
    assert from_env.id_key == from_file.id_key == parse_id_key(key)
    assert len(from_env.id_key or b"") == 64
    assert key not in repr(from_env)
    both = {"ID_ENCRYPTION_KEY": key, "ID_ENCRYPTION_KEY_FILE": str(secret)}
    with pytest.raises(ConfigError, match="are both set"):
        load_config(both, None)
    with pytest.raises(ConfigError, match=r"cannot read .*missing: No such file"):
        load_config({"ID_ENCRYPTION_KEY_FILE": str(tmp_path / "missing")}, None)
    for wrong in (key[:20], "not base64!", key + key):
        with pytest.raises(ConfigError, match="is not a key made by") as refused:
            load_config({"ID_ENCRYPTION_KEY": wrong}, None)
        assert wrong not in str(refused.value)
