"""The fake Bot API speaks HTTP as Telegram does, so PTB raises the real errors from it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter

from bot.local_api import message_update

from .fake_telegram import TOKEN, FakeTelegram


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API on loopback."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the fake by base_url."""
    async with Bot(TOKEN, base_url=f"{telegram.url}/bot") as real:
        yield real


async def test_messages_keyboards_edits_and_documents_round_trip(
    bot: Bot, telegram: FakeTelegram
) -> None:
    """Form, JSON and multipart bodies are understood and answered in Telegram's shapes."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await bot.send_message(7, "<b>hi</b>", parse_mode="HTML", reply_markup=markup)
    assert sent.reply_markup == markup
    edited = await bot.edit_message_text("bye", 7, sent.message_id)
    assert edited.text == "bye"  # type: ignore[union-attr]
    document = await bot.send_document(7, InputFile(b"a,b\n", filename="x.csv"), caption="c")
    assert document.document is not None
    assert document.document.file_name == "x.csv"
    assert telegram.api.sent_to(7)[-1]["content"] == b"a,b\n"
    assert telegram.api.texts_to(7) == ["bye", "c"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [("blocked", Forbidden), ("migrated", ChatMigrated), ("bad", BadRequest), ("429", RetryAfter)],
)
async def test_faults_become_ptbs_own_exceptions(
    bot: Bot, telegram: FakeTelegram, fault: str, error: type[Exception]
) -> None:
    """403, 400 with migrate_to_chat_id, 400 and 429 with retry_after raise PTB's errors."""
    api = telegram.api
    if fault == "blocked":
        api.blocked.add(7)
    elif fault == "migrated":
        api.migrated[7] = -100777
    elif fault == "bad":
        api.bad_request[7] = "chat not found"
    else:
        api.fail_next(429, "Too Many Requests: retry after 3", {"retry_after": 3})
    with pytest.raises(error) as caught:
        await bot.send_message(7, "x")
    if isinstance(caught.value, ChatMigrated):
        assert caught.value.new_chat_id == -100777
    if isinstance(caught.value, RetryAfter):
        assert caught.value.retry_after == dt.timedelta(seconds=3)
    assert api.texts_to(7) == []


async def test_long_poll_returns_when_an_update_arrives(bot: Bot, telegram: FakeTelegram) -> None:
    """getUpdates waits, and returns as soon as an update is pushed, once."""
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    telegram.api.push_update(message_update("/start", user_id=5))
    [update] = await asyncio.wait_for(poll, 2)
    assert update.message is not None
    assert update.message.text == "/start"
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_a_wrong_token_is_refused(telegram: FakeTelegram) -> None:
    """A bot with another token gets 401, which PTB reports as InvalidToken."""
    with pytest.raises(InvalidToken):
        async with Bot(
            "987654321:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", base_url=f"{telegram.url}/bot"
        ):
            pass
