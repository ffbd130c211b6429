"""Webhook mode and several processes: real `python -m bot run` processes, the fake Bot API."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Config, ConfigError, load_config
from bot.preview.local_api import LocalBotAPI, LocalRequest
from bot.preview.updates import callback_update, message_update, with_id
from bot.server.app import build_application
from bot.server.webhook import SECRET_HEADER, web_app
from bot.storage import Storage, SubscriptionRecord

from .conftest import ADMIN, ANA, BEN, CAMPAIGNS, POSTGRES_URL, ROOT, open_storage, until
from .fake_telegram import TOKEN, FakeTelegram

SECRET = "s3cret-for-the-webhook-tests_0123456789"
PUBLIC_URL = "https://bot.example.org/telegram"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Telegram numbers a bot's updates once for all its webhook processes: two processes never
# get the same update_id (the inbox keeps one update per id).
_UPDATE_IDS = itertools.count(1)


class WebhookBot:
    """A `python -m bot run` process in webhook mode, and Telegram's side of its webhook."""

    def __init__(self, telegram: FakeTelegram, database_url: str, log: Path, **env: str) -> None:
        self.telegram = telegram
        self.log = log
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "DATABASE_URL": database_url,
            "BOT_ADMINS": str(ADMIN),
            "LOG_LEVEL": "DEBUG",
            "CAMPAIGNS_DIR": str(CAMPAIGNS),
            "WEBHOOK_URL": PUBLIC_URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_PORT": str(self.port),
            **env,
        }
        self.command = [sys.executable, "-m", "bot", "run"]  # a test may run it as another user
        self.process: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, env=self.env, cwd=ROOT, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while (await self.health())[0] != 200:
            assert self.process.returncode is None, self.log.read_text()
            assert time.monotonic() < deadline, "the bot never became healthy"
            await asyncio.sleep(0.05)

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        """Post an update as Telegram does; return the HTTP status."""
        headers = {} if secret is None else {SECRET_HEADER: secret}
        body = with_id(update, next(_UPDATE_IDS))
        self.telegram.api.register_chats(body)
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.base}/telegram", json=body, headers=headers) as answer,
        ):
            return answer.status

    async def health(self) -> tuple[int, dict[str, Any]]:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{self.base}/healthz") as answer,
            ):
                return answer.status, await answer.json()
        except aiohttp.ClientError:
            return 0, {}

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 30)


def replies_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [
        str(call.params.get("text", ""))
        for call in telegram.api.calls_to("sendMessage")
        if call.params.get("chat_id") == chat_id and call.error is None
    ]


async def test_updates_arrive_only_with_the_secret(telegram: FakeTelegram, tmp_path: Path) -> None:
    bot = WebhookBot(telegram, f"sqlite:///{tmp_path / 'bot.db'}", tmp_path / "bot.log")
    await bot.start()
    try:
        assert telegram.api.webhook is not None
        assert telegram.api.webhook["url"] == PUBLIC_URL
        assert telegram.api.webhook["secret_token"] == SECRET

        assert await bot.post(message_update("/start", user_id=ANA)) == 200
        await until(lambda: replies_to(telegram, ANA) != [], "Ana gets the welcome")

        assert await bot.post(message_update("/start", user_id=BEN), secret="wrong") == 403
        assert await bot.post(message_update("/start", user_id=BEN), secret=None) == 403
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{bot.base}/telegram", data=b"{not json", headers={SECRET_HEADER: SECRET}
            ) as answer,
        ):
            assert answer.status == 400
        assert await bot.post(message_update("/subscribe", user_id=ANA)) == 200
        await until(lambda: len(replies_to(telegram, ANA)) == 2, "Ana is subscribed")
        assert replies_to(telegram, BEN) == []

        status, body = await bot.health()
        assert (status, body) == (
            200,
            {"ok": True, "database": "ok", "sending_broadcasts": True, "content_version": 1},
        )
        assert telegram.api.calls_to("getUpdates") == []
    finally:
        assert await bot.stop() == 0
    log = bot.log.read_text()
    assert "refused a webhook request without the right secret" in log
    assert SECRET not in log
    assert TOKEN not in log


async def test_health_says_503_when_the_database_is_away() -> None:
    api = LocalBotAPI()
    storage = Storage.connect("postgresql://postgres@127.0.0.1:1/nothing_listens_here")
    config = Config(token=TOKEN, admins=frozenset({ADMIN}))
    application = build_application(config, _content(), storage, request=LocalRequest(api))
    webhook = load_config({"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET}, None).webhook
    assert webhook is not None
    async with TestClient(TestServer(web_app(application, webhook))) as client:
        answer = await client.get("/healthz")
        body = await answer.json()
    await storage.close()
    assert answer.status == 503
    assert body["ok"] is False
    assert body["database"].startswith("unreachable (")


def _content() -> Any:
    from bot.campaign.content import load_campaigns

    return load_campaigns(CAMPAIGNS)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEBHOOK_URL": "http://bot.example.org/x", "WEBHOOK_SECRET": SECRET}, "https URL"),
        ({"WEBHOOK_URL": PUBLIC_URL}, "WEBHOOK_SECRET must be set"),
        ({"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET must be set"),
        (
            {"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET, "WEBHOOK_PORT": "99999"},
            "WEBHOOK_PORT: '99999' is not a port",
        ),
    ],
)
def test_webhook_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(env, None)
    assert "short" not in str(raised.value)


def test_webhook_path_and_defaults() -> None:
    webhook = load_config({"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET}, None).webhook
    assert webhook is not None
    assert (webhook.path, webhook.listen, webhook.port) == ("/telegram", "127.0.0.1", 8080)
    assert SECRET not in repr(webhook)
    assert load_config({}, None).webhook is None


# Several processes, one PostgreSQL

RECIPIENTS = 2000
BODY = "Two processes, one sender"


async def _seed(storage: Storage, count: int) -> set[int]:
    now = dt.datetime.now(dt.UTC)
    chat_ids = set(range(2_000_000_000, 2_000_000_000 + count))
    await storage.add_subscriptions(
        SubscriptionRecord(chat_id, "rafah", "private", None, "active", None, now, now)
        for chat_id in chat_ids
    )
    return chat_ids


def _send_button(telegram: FakeTelegram) -> tuple[str, int] | None:
    for call in telegram.api.calls_to("sendMessage"):
        if call.params.get("chat_id") != ADMIN or call.result is None:
            continue
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if str(button.get("callback_data", "")).startswith("bc:send:"):
                    return button["callback_data"], int(call.result["message_id"])
    return None


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_one_sender_among_processes_and_a_takeover_when_it_dies(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Two webhook processes on one PostgreSQL: one sends; killed midway, the other finishes."""
    storage = await open_storage("postgres", tmp_path)
    expected = await _seed(storage, RECIPIENTS)
    telegram.latency = 0.02  # Telegram's answers take a while, so the kill lands mid-send
    telegram.slow_methods = {"sendMessage"}
    bots = [
        WebhookBot(telegram, POSTGRES_URL, tmp_path / f"bot{n}.log", PAID_BROADCASTS="true")
        for n in (1, 2)
    ]
    try:
        for bot in bots:
            await bot.start()
        senders = [(await bot.health())[1]["sending_broadcasts"] for bot in bots]
        assert sorted(senders) == [False, True]
        sender, other = (bots[0], bots[1]) if senders[0] else (bots[1], bots[0])

        # The organizer's command reaches the process that does not send; Send, the other.
        assert await other.post(message_update(f"/broadcast rafah {BODY}", user_id=ADMIN)) == 200
        await until(lambda: _send_button(telegram) is not None, "the preview")
        found = _send_button(telegram)
        assert found is not None
        data, message_id = found
        await sender.post(callback_update(data, user_id=ADMIN, message_id=message_id))
        broadcast_id = int(data.rsplit(":", 1)[1])

        def delivered() -> collections.Counter[int]:
            return collections.Counter(
                int(call.params["chat_id"])
                for call in telegram.api.calls_to("sendMessage")
                if call.params.get("text") == BODY and call.error is None
            )

        await until(lambda: len(delivered()) >= RECIPIENTS // 3, "a third is delivered", 60)
        assert (await other.health())[1]["sending_broadcasts"] is False
        await sender.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        at_kill = sum(delivered().values())

        deadline = time.monotonic() + 10
        while (await other.health())[1].get("sending_broadcasts") is not True:
            assert time.monotonic() < deadline, "nobody took over the sending"
            await asyncio.sleep(0.1)
        took_over = time.monotonic() - killed_at

        async def done() -> bool:
            progress = await storage.progress(broadcast_id)
            return progress is not None and progress.state == "done"

        deadline = time.monotonic() + 60
        while not await done():
            assert time.monotonic() < deadline, other.log.read_text()[-3000:]
            await asyncio.sleep(0.1)
        counts = delivered()
        progress = await storage.progress(broadcast_id)
        assert progress is not None
    finally:
        for bot in bots:
            if bot.process is not None:
                await bot.stop(signal.SIGKILL)
        await storage.close()

    missed = expected - set(counts)
    duplicates = sum(count - 1 for count in counts.values())
    print(
        f"takeover {took_over:.1f} s; {at_kill} delivered at the kill; "
        f"duplicates {duplicates} <= uncertain {progress.uncertain}"
    )
    assert took_over < 5
    assert 0 < at_kill < RECIPIENTS
    assert missed == set()
    assert progress.sent == RECIPIENTS
    assert duplicates <= progress.uncertain <= 250  # the in-flight window: 200 sends at once
