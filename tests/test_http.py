"""The aiohttp transport: what python-telegram-bot needs from it, over real loopback HTTP."""

from __future__ import annotations

import socket

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.delivery.http import AiohttpRequest

from .fake_telegram import TOKEN, FakeTelegram


async def test_sends_forms_and_files_and_reads_answers() -> None:
    """A message and a document upload reach the server with every field intact."""
    async with FakeTelegram() as telegram:
        bot = Bot(TOKEN, base_url=telegram.base_url, request=AiohttpRequest(4))
        async with bot:
            sent = await bot.send_message(77, "<b>hi</b>", parse_mode="HTML")
            await bot.send_document(77, b"a,b\n1,2\n", filename="list.csv", caption="rows: 1")
        assert sent.text == "<b>hi</b>"  # the stand-in stores the text as sent
        [document] = telegram.api.calls_to("sendDocument")
        assert document.params["caption"] == "rows: 1"
        assert document.params["document"].filename == "list.csv"
        assert document.params["document"].content == b"a,b\n1,2\n"


async def test_a_slow_answer_is_a_timeout() -> None:
    """An answer slower than the read timeout raises TimedOut, which the sender retries."""
    async with FakeTelegram() as telegram:
        telegram.latency = 0.5
        telegram.slow_methods = {"sendMessage"}
        bot = Bot(TOKEN, base_url=telegram.base_url, request=AiohttpRequest(4, read_timeout=0.1))
        async with bot:
            with pytest.raises(TimedOut):
                await bot.send_message(77, "hi")


async def test_an_unreachable_server_is_a_network_error() -> None:
    """Nothing listening on the port: NetworkError naming the cause, not a raw aiohttp error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(4))
    with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
        await bot.initialize()
    await bot.shutdown()
