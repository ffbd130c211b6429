"""The /metrics page: beside the webhook, and on its own port (METRICS_PORT) when polling."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from bot.campaign.content import load_campaigns
from bot.config import Config, load_config
from bot.preview.local_api import LocalBotAPI, LocalRequest
from bot.preview.updates import message_update, with_id
from bot.server.app import build_application, running
from bot.server.metrics_server import PortError, serving_metrics
from bot.server.webhook import SECRET_HEADER, web_app

from .conftest import ADMIN, ANA, CAMPAIGNS, open_storage, until
from .fake_telegram import TOKEN
from .test_cli import bot_command
from .test_webhook import PUBLIC_URL, SECRET, free_port


def skipped(kind: str) -> float:
    """Return how many updates of a kind were skipped, by the metric."""
    return REGISTRY.get_sample_value("solidarity_updates_skipped_total", {"kind": kind}) or 0.0


async def test_the_webhook_serves_metrics_counting_a_skipped_update(tmp_path: Path) -> None:
    """An unparsable update is answered 200, not kept for answering, and counted on /metrics;
    the next one is answered."""
    storage = await open_storage("sqlite", tmp_path)
    config = Config(token=TOKEN, admins=frozenset({ADMIN}))
    api = LocalBotAPI()
    application = build_application(
        config, load_campaigns(CAMPAIGNS), storage, request=LocalRequest(api)
    )
    webhook = load_config({"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET}, None).webhook
    assert webhook is not None
    poison = with_id(message_update("/start", user_id=ANA), 7)
    del poison["message"]["date"]
    before = skipped("message")

    def welcomed() -> bool:
        return any(int(c.params["chat_id"]) == ANA for c in api.calls_to("sendMessage"))

    async with (
        running(application),
        TestClient(TestServer(web_app(application, webhook))) as client,
    ):
        headers = {SECRET_HEADER: SECRET}
        answer = await client.post("/telegram", json=poison, headers=headers)
        assert answer.status == 200
        assert await storage.waiting_updates() == 0
        assert not welcomed()
        good = with_id(message_update("/start", user_id=ANA), 8)
        assert (await client.post("/telegram", json=good, headers=headers)).status == 200
        await until(welcomed, "the next update is answered")
        page = await client.get("/metrics")
        text = await page.text()
    await storage.close()
    assert (page.status, page.content_type) == (200, "text/plain")
    assert "# TYPE solidarity_updates_skipped_total counter" in text
    assert 'solidarity_updates_skipped_total{kind="message"}' in text
    assert skipped("message") == before + 1


async def test_the_metrics_port_serves_the_page_and_refuses_a_taken_port() -> None:
    """serving_metrics answers /metrics while open; a taken port is one sentence."""
    port = free_port()
    async with serving_metrics("127.0.0.1", port):
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as answer,
        ):
            assert answer.status == 200
            assert "solidarity_updates_skipped_total" in await answer.text()
        with pytest.raises(PortError, match=f"cannot listen on 127.0.0.1:{port} for"):
            async with serving_metrics("127.0.0.1", port):
                pass


def test_run_with_a_taken_metrics_port_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    """`run` polling with METRICS_PORT taken stops before polling, in one sentence, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = bot_command(
            "run",
            env={
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": "http://127.0.0.1:9",  # never reached
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "METRICS_PORT": str(port),
            },
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"cannot listen on 127.0.0.1:{port} for /metrics: Address already in use "
        "(set METRICS_LISTEN and METRICS_PORT, or unset METRICS_PORT)"
    )
    assert "Traceback" not in done.stderr
