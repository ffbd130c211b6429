"""Updates python-telegram-bot cannot parse: skipped when polling and on the webhook, no loop."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import TypeHandler

from bot.delivery.http import AiohttpRequest
from bot.preview.updates import message_update
from bot.server.updates import SkipUnparsable, count_update, without_unparsable_body
from bot.storage import Storage

from .conftest import ANA, BEN, serving, until
from .fake_telegram import TOKEN, FakeTelegram
from .test_cli import RunningBot
from .test_webhook import SECRET, SECRET_HEADER, WebhookBot, free_port, replies_to

SECRET_PLAN = "Meet me at the north gate at noon, bring the banner"


def dateless(text: str, user_id: int) -> dict[str, Any]:
    """Return a message update without its `date`, which python-telegram-bot requires."""
    update = message_update(text, user_id=user_id)
    del update["message"]["date"]
    return update


def old_poll() -> dict[str, Any]:
    """Return a poll as a Bot API server before 9.6 sends it: options without persistent_id."""
    option = {"text": "Monday", "voter_count": 0}
    poll = {
        "id": "5",
        "question": "Which day?",
        "options": [option],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }
    return {"poll": poll}


def skipped_lines(log: str) -> list[str]:
    """Return the log lines that report a skipped update."""
    return [line for line in log.splitlines() if "skipped update" in line]


def handled(kind: str) -> float:
    """Return how many updates of a kind the handlers were handed, by the metric."""
    return REGISTRY.get_sample_value("solidarity_updates_total", {"kind": kind}) or 0.0


def offsets(telegram: FakeTelegram) -> list[int]:
    """Return the offset of every getUpdates call so far."""
    return [int(c.params.get("offset", 0)) for c in telegram.api.calls_to("getUpdates")]


# The transport


def test_a_poll_from_an_older_server_is_what_ptb_cannot_parse() -> None:
    """The poll used below really is refused by python-telegram-bot, as a whole batch."""
    with pytest.raises(TypeError):
        Update.de_list([{"update_id": 1, **old_poll()}], None)


def test_a_parsable_answer_is_passed_on_untouched() -> None:
    """An answer whose updates all parse is handed on as the very same bytes."""
    body = b'{"ok": true, "result": [{"update_id": 3, "poll_answer": null}]}'
    assert without_unparsable_body(body) is body
    empty = b'{"ok": true, "result": []}'
    assert without_unparsable_body(empty) is empty


async def test_get_updates_returns_the_unparsable_one_as_an_empty_update() -> None:
    """Through the transport, a batch with an unparsable update parses, that one left empty."""
    async with FakeTelegram() as telegram:
        poison = telegram.api.push_update(dateless(SECRET_PLAN, ANA))
        good = telegram.api.push_update(message_update("/start", user_id=BEN))
        request = SkipUnparsable(AiohttpRequest(1))
        bot = Bot(
            TOKEN,
            base_url=telegram.base_url,
            request=AiohttpRequest(2),
            get_updates_request=request,
        )
        async with bot:
            first, second = await bot.get_updates(timeout=0)
    assert first == Update(poison)
    assert first.message is None
    assert second.update_id == good
    assert second.message is not None
    assert second.message.text == "/start"


def test_an_answer_that_is_not_json_is_reported_without_its_content() -> None:
    """A getUpdates answer that is not JSON becomes an error naming its size, not its text."""
    body = f'{{"ok": true, "result": [{{"text": "{SECRET_PLAN}"'.encode()
    with pytest.raises(TelegramError) as raised:
        SkipUnparsable.parse_json_payload(body)
    assert str(raised.value) == f"Invalid server response ({len(body)} bytes)"


# Polling, for real: `python -m bot run` against the fake Bot API


async def test_polling_skips_a_message_without_date_and_answers_the_next(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """One WARNING by id and kind, none of the message or name in the log; the next answered."""
    api = telegram.api
    poison = api.push_update(dateless(SECRET_PLAN, ANA))
    api.push_update(message_update("/start", user_id=BEN))  # same batch, after the poison
    bot = RunningBot(telegram, tmp_path)
    await bot.start()
    await until(lambda: api.texts_to(BEN) != [], "Ben is welcomed")
    assert await bot.stop() == 0
    log = bot.log.read_text(encoding="utf-8")
    [line] = skipped_lines(log)
    assert " WARNING " in line
    assert f"update {poison} (message)" in line
    assert SECRET_PLAN not in log
    assert "Person" not in log  # the first names Telegram sent
    assert " CRITICAL " not in log
    assert api.texts_to(ANA) == []


async def test_polling_skips_a_poll_from_an_older_server_and_counts_it(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """A poll lacking a newer required field is skipped and counted on the metrics port."""
    api = telegram.api
    poison = api.push_update(old_poll())
    bot = RunningBot(telegram, tmp_path)
    port = free_port()
    bot.env["METRICS_PORT"] = str(port)
    await bot.start()
    api.push_update(message_update("/start", user_id=BEN))
    await until(lambda: api.texts_to(BEN) != [], "Ben is welcomed")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as answer,
    ):
        status, page = answer.status, await answer.text()
        content_type = answer.content_type
    assert await bot.stop() == 0
    assert (status, content_type) == (200, "text/plain")
    assert 'solidarity_updates_skipped_total{kind="poll"} 1.0' in page
    [line] = skipped_lines(bot.log.read_text(encoding="utf-8"))
    assert f"update {poison} (poll)" in line


async def test_polling_confirms_a_poison_update_that_ends_its_batch(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Alone in its batch, the poison update is confirmed by the next offset; no refetch loop."""
    api = telegram.api
    poison = api.push_update(dateless(SECRET_PLAN, ANA))
    bot = RunningBot(telegram, tmp_path)
    await bot.start()
    try:
        await until(lambda: max(offsets(telegram)) > poison, "the poison update is confirmed", 10)
        before = len(offsets(telegram))
        await asyncio.sleep(2)
        polls = len(offsets(telegram)) - before
        api.push_update(message_update("/start", user_id=BEN))
        await until(lambda: api.texts_to(BEN) != [], "Ben is welcomed")
    finally:
        assert await bot.stop() == 0
    assert polls <= 5  # long polls of a second each; a refetch loop makes hundreds
    assert len(skipped_lines(bot.log.read_text(encoding="utf-8"))) == 1


# The webhook, for real


async def post_body(bot: WebhookBot, body: bytes) -> int:
    """Post raw bytes to the webhook with the right secret; return the HTTP status."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{bot.base}/telegram", data=body, headers={SECRET_HEADER: SECRET}) as answer,
    ):
        return answer.status


async def test_webhook_answers_an_unparsable_update_200_and_handles_the_next(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """An authentic unparsable update is acknowledged and skipped; a body not an update is 400."""
    bot = WebhookBot(telegram, f"sqlite:///{tmp_path / 'bot.db'}", tmp_path / "bot.log")
    await bot.start()
    try:
        assert await bot.post(dateless(SECRET_PLAN, ANA)) == 200
        assert await bot.post(message_update("/start", user_id=BEN)) == 200
        await until(lambda: replies_to(telegram, BEN) != [], "Ben is welcomed")
        assert await post_body(bot, b"{not json") == 400
        assert await post_body(bot, b'{"message": {}}') == 400  # no update_id
        assert await post_body(bot, b"[1, 2]") == 400
    finally:
        assert await bot.stop() == 0
    assert replies_to(telegram, ANA) == []
    log = bot.log.read_text(encoding="utf-8")
    [line] = skipped_lines(log)
    assert " WARNING " in line
    assert re.search(r"skipped update \d+ \(message\)", line)  # ids are the session's
    assert SECRET_PLAN not in log
    assert "Person" not in log


# Counting handled updates (the handler app.py registers in group -3)


async def test_handled_updates_are_counted_and_a_skipped_ones_stand_in_stops(
    storage: Storage,
) -> None:
    """A command is counted as a message; the empty stand-in reaches no handler."""
    seen: list[int] = []

    async def see(update: Update, context: object) -> None:
        seen.append(update.update_id)

    async with serving(storage) as bot:
        bot.application.add_handler(TypeHandler(Update, count_update), group=-3)
        bot.application.add_handler(TypeHandler(Update, see), group=1)
        before = handled("message")
        await bot.command("/start", user=ANA)
        await bot.application.process_update(Update(999))
        assert handled("message") == before + 1
    assert seen == [1]
    assert bot.texts(ANA) != []
