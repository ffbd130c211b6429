"""The local Bot API answers a real PTB Bot as Telegram would, in process and over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable
from typing import Any, NamedTuple

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultCachedPhoto,
    InputFile,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)

from bot.preview.local_api import LocalBotAPI, LocalRequest
from bot.preview.refusals import ApiError
from bot.preview.updates import (
    callback_update,
    message_update,
    migrate_update,
    my_chat_member_update,
    with_id,
)

from .fake_telegram import TOKEN, FakeTelegram

ANA, GROUP = 1001, -1002000000001


async def refusal(request: Awaitable[object]) -> str:
    """Return the message of the BadRequest that PTB raises for a request."""
    with pytest.raises(BadRequest) as raised:
        await request
    return raised.value.message


class Telegram(NamedTuple):
    """A PTB Bot and the LocalBotAPI that answers it."""

    bot: Bot
    api: LocalBotAPI


@pytest.fixture(params=["in-process", "http"])
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[Telegram]:
    """A PTB Bot talking to a LocalBotAPI through LocalRequest, or through the HTTP fake."""
    if request.param == "http":
        async with FakeTelegram() as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
            yield Telegram(bot, fake.api)
        return
    api = LocalBotAPI()
    # PTB keeps a separate request object for getUpdates: both must stay off the network.
    local = LocalRequest(api)
    async with Bot(TOKEN, request=local, get_updates_request=local) as bot:
        yield Telegram(bot, api)


@pytest.fixture
async def http() -> AsyncIterator[FakeTelegram]:
    """The HTTP fake alone, for tests about HTTP itself."""
    async with FakeTelegram() as fake:
        yield fake


async def test_get_me_answers_the_configured_bot(telegram: Telegram) -> None:
    """getMe returns the bot's id and username, and PTB initializes with it."""
    me = await telegram.bot.get_me()
    assert (me.id, me.username, me.is_bot) == (100, "solidarity_preview_bot", True)
    assert telegram.bot.username == "solidarity_preview_bot"
    assert telegram.api.calls_to("getMe")[0].params == {}


async def test_html_message_with_keyboard_round_trips(telegram: Telegram) -> None:
    """A sent message is stored as sent, keyboard included, and PTB reads it back."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Sign", callback_data="sign:1")]])
    sent = await telegram.bot.send_message(
        ANA, "<b>Ceasefire</b> now", parse_mode="HTML", reply_markup=markup
    )
    assert (sent.message_id, sent.chat.id, sent.chat.type) == (1, ANA, "private")
    assert sent.reply_markup == markup
    stored = telegram.api.messages[(ANA, 1)]
    assert stored["text"] == "<b>Ceasefire</b> now"
    assert stored["reply_markup"] == markup.to_dict()
    [call] = telegram.api.calls_to("sendMessage")
    assert call.params["chat_id"] == ANA
    assert call.params["parse_mode"] == "HTML"
    second = await telegram.bot.send_message(ANA, "again")
    assert second.message_id == 2
    assert telegram.api.texts_to(ANA) == ["<b>Ceasefire</b> now", "again"]


async def test_values_that_look_like_json_stay_text(telegram: Telegram) -> None:
    """A text such as "007" or "[1]" reaches the API as the same string."""
    for text in ("007", "[1]", "true", "-5"):
        await telegram.bot.send_message(ANA, text)
    assert telegram.api.texts_to(ANA) == ["007", "[1]", "true", "-5"]


async def test_edit_replaces_text_and_refuses_no_change_or_unknown_message(
    telegram: Telegram,
) -> None:
    """editMessageText edits in place; an identical edit or a missing message is a BadRequest."""
    bot, api = telegram
    sent = await bot.send_message(ANA, "draft")
    edited = await bot.edit_message_text("final", ANA, sent.message_id)
    assert not isinstance(edited, bool)
    assert (edited.text, edited.message_id) == ("final", sent.message_id)
    assert edited.edit_date is not None
    assert api.texts_to(ANA) == ["final"]
    unchanged = await refusal(bot.edit_message_text("final", ANA, sent.message_id))
    assert unchanged.startswith("Message is not modified: ")
    assert await refusal(bot.edit_message_text("x", ANA, 99)) == "Message to edit not found"


async def test_answer_callback_query_is_recorded(telegram: Telegram) -> None:
    """answerCallbackQuery returns True and keeps its id, text and show_alert."""
    assert await telegram.bot.answer_callback_query("42", text="Signed", show_alert=True)
    [call] = telegram.api.calls_to("answerCallbackQuery")
    assert call.params == {"callback_query_id": "42", "text": "Signed", "show_alert": True}


async def test_commands_are_kept_per_scope(telegram: Telegram) -> None:
    """setMyCommands for one chat is returned for that scope only."""
    bot = telegram.bot
    scope = BotCommandScopeChat(ANA)
    assert await bot.set_my_commands([BotCommand("stats", "Counts")], scope=scope)
    assert await bot.get_my_commands(scope=scope) == (BotCommand("stats", "Counts"),)
    assert await bot.get_my_commands() == ()
    assert await bot.delete_my_commands(scope=scope)
    assert await bot.get_my_commands(scope=scope) == ()


async def test_document_upload_keeps_its_name_and_bytes(telegram: Telegram) -> None:
    """sendDocument with bytes stores the file name and content; PTB reads a Document back."""
    csv = b"id,status\n1001,active\n"
    sent = await telegram.bot.send_document(
        GROUP, InputFile(csv, filename="subscribers.csv"), caption="Export"
    )
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("subscribers.csv", len(csv))
    assert sent.chat.type == "supergroup"
    [stored] = telegram.api.sent_to(GROUP)
    assert stored["content"] == csv
    assert telegram.api.texts_to(GROUP) == ["Export"]


async def test_a_photo_is_sent_again_by_its_file_id_until_telegram_loses_it(
    telegram: Telegram,
) -> None:
    """sendPhoto takes JPEG, PNG or WebP bytes and gives a file id, taken again later, until
    the file ids are lost: then "wrong file identifier", as Telegram answers."""
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 16
    first = await telegram.bot.send_photo(ANA, InputFile(jpeg, filename="poster.jpg"))
    file_id = first.photo[-1].file_id
    assert telegram.api.files[file_id] == {"kind": "photo", "file_name": "poster.jpg"}
    again = await telegram.bot.send_photo(GROUP, file_id)
    assert again.photo[-1].file_id == file_id
    assert (
        await refusal(telegram.bot.send_photo(ANA, InputFile(b"%PDF-1.4", filename="x.png")))
        == "Image_process_failed"
    )
    telegram.api.lose_files()
    assert await refusal(telegram.bot.send_photo(ANA, file_id)) == (
        "Wrong file identifier/http url specified"
    )
    assert len(telegram.api.sent_to(ANA)) == 1


async def test_a_cached_photo_result_is_checked_like_a_caption(telegram: Telegram) -> None:
    """An inline cached photo needs a file id Telegram has and a caption of 1,024 at most."""
    sent = await telegram.bot.send_photo(ANA, InputFile(b"\x89PNG\r\n\x1a\n", filename="p.png"))
    file_id = sent.photo[-1].file_id
    good = InlineQueryResultCachedPhoto("1", file_id, caption="<b>ok</b>", parse_mode="HTML")
    assert await telegram.bot.answer_inline_query("q1", [good])
    long = InlineQueryResultCachedPhoto("2", file_id, caption="x" * 1025)
    assert await refusal(telegram.bot.answer_inline_query("q2", [long])) == (
        "Media_caption_too_long"
    )
    telegram.api.lose_files()
    assert "Wrong file identifier" in await refusal(telegram.bot.answer_inline_query("q3", [good]))


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("creator", ChatMemberOwner),
        ("administrator", ChatMemberAdministrator),
        ("member", ChatMemberMember),
        ("restricted", ChatMemberRestricted),
        ("left", ChatMemberLeft),
        ("kicked", ChatMemberBanned),
    ],
)
async def test_chat_member_status_is_configurable(
    telegram: Telegram, status: str, kind: type[Any]
) -> None:
    """getChatMember answers the configured status with every field PTB requires."""
    telegram.api.member_status[(GROUP, ANA)] = status
    member = await telegram.bot.get_chat_member(GROUP, ANA)
    assert type(member) is kind
    assert (member.status, member.user.id) == (status, ANA)


async def test_chat_member_defaults_to_member_and_admins_are_listed(telegram: Telegram) -> None:
    """An unconfigured user is a member; getChatAdministrators lists the configured admins."""
    telegram.api.member_status[(GROUP, 7)] = "creator"
    member = await telegram.bot.get_chat_member(GROUP, ANA)
    assert member.status == "member"
    admins = await telegram.bot.get_chat_administrators(GROUP)
    assert [(a.user.id, a.status) for a in admins] == [(7, "creator")]


@pytest.mark.parametrize("fault", ["blocked", "migrated", "bad_request", "flood"])
async def test_faults_raise_ptbs_own_exceptions(telegram: Telegram, fault: str) -> None:
    """Blocked, migrated, bad and flooded chats make PTB raise its specific errors."""
    bot, api = telegram
    expected: type[Exception] = {
        "blocked": Forbidden,
        "migrated": ChatMigrated,
        "bad_request": BadRequest,
        "flood": RetryAfter,
    }[fault]
    if fault == "blocked":
        api.blocked.add(ANA)
    elif fault == "migrated":
        api.migrated[ANA] = GROUP
    elif fault == "bad_request":
        api.bad_request[ANA] = "chat not found"
    else:
        api.fail_next(429, "Too Many Requests: retry after 3", {"retry_after": 3})
    with pytest.raises(expected) as raised:
        await bot.send_message(ANA, "hello")
    error = raised.value
    if isinstance(error, Forbidden):
        assert error.message == "Forbidden: bot was blocked by the user"
    elif isinstance(error, ChatMigrated):
        assert error.new_chat_id == GROUP
    elif isinstance(error, RetryAfter):
        # bot/__init__.py opts in to PTB_TIMEDELTA: without it reading this warns.
        assert error.retry_after == dt.timedelta(seconds=3)
    else:
        # PTB drops Telegram's "Bad Request: " prefix and capitalizes what is left.
        assert error.message == "Chat not found"
    assert api.sent_to(ANA) == []


async def test_fail_next_fails_only_that_many_sends(telegram: Telegram) -> None:
    """fail_next(times=2) fails two sends, then the chat works again."""
    telegram.api.fail_next(400, "Bad Request: chat not found", times=2)
    for _ in range(2):
        with pytest.raises(BadRequest):
            await telegram.bot.send_message(ANA, "x")
    await telegram.bot.send_message(ANA, "y")
    assert telegram.api.texts_to(ANA) == ["y"]


async def test_telegram_refuses_broken_html_long_text_and_long_button_data(
    telegram: Telegram,
) -> None:
    """Unknown or unclosed HTML tags, texts over 4096 and button data over 64 bytes fail."""
    bot = telegram.bot
    assert await refusal(bot.send_message(ANA, "a <br> b", parse_mode="HTML")) == (
        'Can\'t parse entities: unsupported start tag "br" at byte offset 2'
    )
    assert await refusal(bot.send_message(ANA, "<b>open", parse_mode="HTML")) == (
        "Can't parse entities: can't find end tag corresponding to start tag b"
    )
    assert await refusal(bot.send_message(ANA, "x" * 4097)) == "Message is too long"
    assert await refusal(bot.send_message(ANA, "<i></i>", parse_mode="HTML")) == (
        "Message text is empty"
    )
    button = InlineKeyboardButton("Go", callback_data="x" * 65)
    long_data = bot.send_message(ANA, "hi", reply_markup=InlineKeyboardMarkup([[button]]))
    assert await refusal(long_data) == "Button_data_invalid"
    # Tags do not count towards the limit, and escaped characters count once.
    await bot.send_message(ANA, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    assert len(telegram.api.texts_to(ANA)) == 1


async def test_pushed_updates_are_delivered_once(telegram: Telegram) -> None:
    """getUpdates returns queued updates until a later offset confirms them."""
    bot, api = telegram
    first = api.push_update(message_update("/start", user_id=ANA))
    api.push_update(callback_update("sign:1", user_id=ANA))
    updates = await bot.get_updates(offset=0, timeout=0)
    assert [u.update_id for u in updates] == [first, first + 1]
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"
    assert updates[1].callback_query is not None
    assert updates[1].callback_query.data == "sign:1"
    assert await bot.get_updates(offset=first + 2, timeout=0) == ()
    third = api.push_update(message_update("/help", user_id=ANA))
    [update] = await bot.get_updates(offset=first + 2, timeout=0)
    assert update.update_id == third


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(http: FakeTelegram) -> None:
    """Over HTTP a getUpdates with a timeout waits, and answers when an update arrives."""
    http.api.poll_cap = 5.0
    async with Bot(TOKEN, base_url=http.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert not poll.done()
        http.api.push_update(message_update("/start", user_id=ANA))
        [update] = await asyncio.wait_for(poll, 1)
    assert update.message is not None
    assert update.message.text == "/start"


async def test_a_wrong_token_is_invalid_token(http: FakeTelegram) -> None:
    """A bot with another token gets 401 Unauthorized, which PTB raises as InvalidToken."""
    other = Bot("987654321:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", base_url=http.base_url)
    # PTB replaces Telegram's "Unauthorized" with its own sentence when getMe fails.
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with other:  # initializing calls getMe
            pass


async def test_an_unknown_method_is_not_found(telegram: Telegram) -> None:
    """A method Telegram lacks answers 404, which PTB raises as EndPointNotFound."""
    with pytest.raises(EndPointNotFound):
        await telegram.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": ANA})


async def test_get_chat_knows_chats_seen_in_updates(telegram: Telegram) -> None:
    """A chat from a pushed update keeps its type and title in getChat and in replies."""
    bot, api = telegram
    api.push_update(message_update("/start", user_id=ANA, chat_id=-5, chat_type="group"))
    chat = await bot.get_chat(-5)
    assert (chat.type, chat.title) == ("group", "Group -5")
    assert (await bot.send_message(-5, "hi")).chat.type == "group"
    assert (await bot.get_chat(ANA)).type == "private"


def test_api_error_has_telegrams_body() -> None:
    """An ApiError serializes as Telegram's error body; parameters only when present."""
    assert ApiError(403, "Forbidden: x").to_json() == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: x",
    }
    error = ApiError(429, "Too Many Requests", {"retry_after": 3})
    assert error.to_json()["parameters"] == {"retry_after": 3}


async def test_factories_build_updates_ptb_accepts(telegram: Telegram) -> None:
    """Each factory gives an update PTB parses, with the fields the bot relies on."""
    bot = telegram.bot
    command = Update.de_json(
        with_id(message_update("/start@solidarity_preview_bot x", user_id=ANA), 1), bot
    )
    assert command.message is not None
    [(entity, text)] = command.message.parse_entities().items()
    assert (entity.type, text) == ("bot_command", "/start@solidarity_preview_bot")
    assert command.effective_user is not None
    assert command.effective_user.first_name

    anonymous = message_update(
        "/x", user_id=ANA, chat_id=GROUP, chat_type="supergroup", sender_chat_id=GROUP
    )
    parsed = Update.de_json(with_id(anonymous, 2), bot).message
    assert parsed is not None
    assert parsed.sender_chat is not None
    assert parsed.sender_chat.id == GROUP

    press = Update.de_json(with_id(callback_update("go", user_id=ANA, message_id=4), 3), bot)
    assert press.callback_query is not None
    assert press.callback_query.message is not None
    assert (press.callback_query.data, press.callback_query.message.message_id) == ("go", 4)

    kicked = my_chat_member_update(
        chat_id=ANA, chat_type="private", user_id=ANA, old_status="member", new_status="kicked"
    )
    change = Update.de_json(with_id(kicked, 4), bot).my_chat_member
    assert change is not None
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    assert change.new_chat_member.user.id == bot.id

    moved = migrate_update(old_chat_id=-5, new_chat_id=GROUP, user_id=ANA)
    service = Update.de_json(with_id(moved, 5), bot).message
    assert service is not None
    assert (service.chat.id, service.migrate_to_chat_id) == (-5, GROUP)
