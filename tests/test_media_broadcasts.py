"""Broadcasting any message: files, albums and polls, sent by file id, and test sends.

The bot runs as the real Application against the fake Bot API over HTTP; each organizer
message comes in as Telegram would send it, and the subscribers' copies are read back from
what the fake stored.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.telegram_limits import LimitedTelegram
from bot import texts
from bot.preview.updates import callback_update, media_update, message_update, poll_update
from bot.storage import Storage
from tests.fake_telegram import FakeTelegram

from .conftest import ADMIN, ANA, BEN, GROUP, ROOT, Harness, serving, until
from .test_cli import RunningBot, bot_command

TEST_CHAT = -1009876


@pytest.fixture
async def bot(storage: Storage, telegram: FakeTelegram) -> AsyncIterator[Harness]:
    """The bot over HTTP, with Ana (reading Arabic), Ben and a group subscribed to rafah."""
    await storage.subscribe(ANA, "rafah", chat_type="private", language_code="ar")
    await storage.subscribe(BEN, "rafah", chat_type="private", language_code="en")
    await storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    async with serving(storage, telegram=telegram, test_chat=TEST_CHAT) as harness:
        yield harness


async def reply_broadcast(
    bot: Harness, original: dict[str, Any], command: str = "/broadcast rafah"
) -> None:
    """Send the organizer's message, then reply to it with the command."""
    await bot.feed(original)
    await bot.feed(message_update(command, user_id=ADMIN, reply_to=original["message"]))


async def send_it(bot: Harness, confirm_id: int | None = None) -> int:
    """Press Send under the preview (the last message, unless said); return the status
    message's id once it is final."""
    confirm_id = confirm_id or int(bot.last(ADMIN)["message_id"])
    rows = bot.api.messages[(ADMIN, confirm_id)]["reply_markup"]["inline_keyboard"]
    send = next(b["callback_data"] for row in rows for b in row if b["text"] == texts.BUTTON_SEND)
    await bot.press(send, user=ADMIN, message_id=confirm_id)
    await bot.report(ADMIN, confirm_id)
    return confirm_id


@pytest.mark.parametrize("kind", ["photo", "video", "animation", "document", "audio", "voice"])
async def test_a_file_goes_out_by_its_file_id_with_its_caption(bot: Harness, kind: str) -> None:
    original = media_update(kind, f"{kind}-file-1", user_id=ADMIN, caption="Rally at noon")
    await reply_broadcast(bot, original)
    preview, confirm = bot.sent_to(ADMIN)[-2:]
    assert preview[kind]  # the organizer sees the same file
    assert preview["caption"] == "Rally at noon"
    assert "Messages per recipient: 1. Recipients now: <b>3</b>" in confirm["text"]
    report = await bot.report(ADMIN, await send_it(bot))
    assert "Recipients: 3\nsent 3 · blocked 0 · failed 0" in report
    for chat in (ANA, BEN, GROUP):
        (copy,) = bot.sent_to(chat)
        media = copy[kind][-1] if kind == "photo" else copy[kind]
        assert media["file_id"] == f"{kind}-file-1"
        assert copy["caption"] == "Rally at noon"
    method = "sendAnimation" if kind == "animation" else f"send{kind.capitalize()}"
    assert all(c.params[kind] == f"{kind}-file-1" for c in bot.api.calls_to(method))


async def test_formatting_spoiler_and_caption_languages_are_kept(bot: Harness) -> None:
    original = media_update(
        "photo",
        "poster",
        user_id=ADMIN,
        caption="Rally\n[ar]\nمسيرة",
        caption_entities=[{"type": "bold", "offset": 0, "length": 5}],
        has_media_spoiler=True,
    )
    await reply_broadcast(bot, original)
    await send_it(bot)
    (ben,) = bot.sent_to(BEN)
    (ana,) = bot.sent_to(ANA)
    assert ben["caption"] == "<b>Rally</b>"
    assert ana["caption"] == "مسيرة"
    assert ben["has_media_spoiler"]
    assert ana["has_media_spoiler"]
    assert ben["photo"][0]["file_id"] == ana["photo"][0]["file_id"] == "poster"


async def test_an_album_goes_out_whole_from_a_reply_to_any_of_its_items(bot: Harness) -> None:
    items = [
        media_update("photo", "a1", user_id=ADMIN, media_group_id="g1", caption="March"),
        media_update("video", "a2", user_id=ADMIN, media_group_id="g1"),
        media_update("photo", "a3", user_id=ADMIN, media_group_id="g1"),
    ]
    for item in items:
        await bot.feed(item)
    middle = items[1]["message"]
    await bot.feed(message_update("/broadcast rafah", user_id=ADMIN, reply_to=middle))
    assert "Messages per recipient: 3." in bot.last(ADMIN)["text"]
    await send_it(bot)
    copies = bot.sent_to(BEN)
    assert [c.get("photo", [{}])[-1].get("file_id") or c["video"]["file_id"] for c in copies] == [
        "a1",
        "a2",
        "a3",
    ]
    assert len({c["media_group_id"] for c in copies}) == 1
    assert copies[0]["caption"] == "March"
    albums = [c for c in bot.api.calls_to("sendMediaGroup") if c.params["chat_id"] == BEN]
    assert len(albums) == 1


async def test_an_album_the_bot_no_longer_remembers_is_asked_for_again(
    storage: Storage, telegram: FakeTelegram
) -> None:
    await storage.subscribe(BEN, "rafah", chat_type="private")
    item = media_update("photo", "b1", user_id=ADMIN, media_group_id="g2")
    async with serving(storage, telegram=telegram) as bot:
        await bot.feed(item)
    async with serving(storage, telegram=telegram) as bot:  # a restart in between
        await bot.feed(message_update("/broadcast", user_id=ADMIN, reply_to=item["message"]))
        assert bot.texts(ADMIN)[-1] == texts.ALBUM_FORGOTTEN
    assert await storage.progress(1) is None


async def test_polls_and_quizzes_each_recipient_gets_their_own(bot: Harness) -> None:
    poll = poll_update("Which day?", ["Friday", "Saturday"], user_id=ADMIN)
    await reply_broadcast(bot, poll)
    await send_it(bot)
    (copy,) = bot.sent_to(BEN)
    assert copy["poll"]["question"] == "Which day?"
    assert [o["text"] for o in copy["poll"]["options"]] == ["Friday", "Saturday"]
    quiz = poll_update(
        "Rafah is in?", ["Gaza", "Sinai"], user_id=ADMIN, quiz=True, correct_option_ids=[0]
    )
    await reply_broadcast(bot, quiz)
    await send_it(bot)
    assert bot.sent_to(ANA)[-1]["poll"]["correct_option_ids"] == [0]
    assert bot.sent_to(ANA)[-1]["poll"]["type"] == "quiz"


@pytest.mark.parametrize(
    ("original", "refusal"),
    [
        (
            poll_update("Forwarded?", ["Yes", "No"], user_id=ADMIN, quiz=True),
            texts.MEDIA_QUIZ_ANSWER,
        ),
        (
            media_update("photo", "p", user_id=ADMIN, has_protected_content=True),
            texts.MEDIA_PROTECTED,
        ),
        (
            message_update("", user_id=ADMIN, paid_media={"star_count": 5, "paid_media": []}),
            texts.MEDIA_PAID,
        ),
        (
            media_update("sticker", "s", user_id=ADMIN),
            texts.MEDIA_UNSUPPORTED.format(kind="Sticker"),
        ),
    ],
    ids=["quiz-without-answer", "protected", "paid", "sticker"],
)
async def test_what_cannot_be_copied_is_refused_with_a_reason(
    bot: Harness, original: dict[str, Any], refusal: str
) -> None:
    original["message"].pop("text", None)
    await reply_broadcast(bot, original)
    assert bot.texts(ADMIN)[-1] == refusal
    assert await bot.storage.progress(1) is None


async def test_a_reply_takes_only_options_and_a_text_reply_is_sent_as_text(bot: Harness) -> None:
    text = message_update("Bring water\n[ar]\nأحضروا الماء", user_id=ADMIN)
    await reply_broadcast(bot, text, "/broadcast rafah and more words")
    assert bot.texts(ADMIN)[-1] == texts.REPLY_TAKES_OPTIONS_ONLY
    await bot.feed(
        message_update("/broadcast rafah lang:ar", user_id=ADMIN, reply_to=text["message"])
    )
    await send_it(bot)
    assert bot.texts(ANA) == ["أحضروا الماء"]
    assert bot.texts(BEN) == []  # only readers of Arabic


async def test_it_arrives_though_the_organizer_deletes_the_original(bot: Harness) -> None:
    original = media_update("photo", "kept-by-id", user_id=ADMIN, caption="Poster")
    await reply_broadcast(bot, original)
    # Deleting a message in Telegram leaves nothing the bot could copy it from: the fake
    # forgets it, and the broadcast must not need it.
    bot.api.messages.pop((ADMIN, original["message"]["message_id"]), None)
    await send_it(bot)
    assert bot.sent_to(BEN)[0]["photo"][0]["file_id"] == "kept-by-id"
    calls = {c.method.lower() for c in bot.api.calls}
    assert not calls & {"copymessage", "forwardmessage", "copymessages"}


async def test_a_test_send_goes_to_the_organizer_and_the_test_chat_and_is_not_counted(
    bot: Harness,
) -> None:
    original = media_update("photo", "t1", user_id=ADMIN, caption="Soon\n[ar]\nقريبا")
    await reply_broadcast(bot, original)
    confirm_id = int(bot.last(ADMIN)["message_id"])
    test = bot.buttons(ADMIN)[texts.BUTTON_TEST]
    await bot.press(test, user=ANA, message_id=confirm_id)  # not an organizer
    assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
    assert bot.sent_to(TEST_CHAT) == []
    for _ in range(2):  # as often as asked
        await bot.press(test, user=ADMIN, message_id=confirm_id)
    assert bot.answers()[-1].params["text"] == texts.TEST_SENT_TO_CHAT
    header = texts.TEST_SENT.format(id=1)
    for chat in (ADMIN, TEST_CHAT):
        tail = bot.sent_to(chat)[-4:]
        assert [m.get("text") for m in tail[::2]] == [header, header]
        assert [m["caption"] for m in tail[1::2]] == ["Soon", "Soon"]
    # In Arabic, the organizer's test is the Arabic version.
    await bot.press(test, user=ADMIN, message_id=confirm_id, language_code="ar")
    assert bot.sent_to(ADMIN)[-1]["caption"] == "قريبا"
    assert bot.sent_to(BEN) == []
    assert bot.sent_to(ANA) == []
    progress = await bot.storage.progress(1)
    assert progress is not None
    assert progress.state == "draft"
    assert progress.total == 0
    assert [e[1] for e in await bot.storage.audit_log()].count("broadcast_test") == 3
    await send_it(bot, confirm_id)  # the real one still goes, to everyone, once
    assert len(bot.sent_to(BEN)) == 1
    assert len(bot.sent_to(ANA)) == 1


async def test_a_test_chat_the_bot_cannot_reach_is_reported(bot: Harness) -> None:
    bot.api.blocked.add(TEST_CHAT)
    await reply_broadcast(bot, message_update("Hello", user_id=ADMIN))
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_TEST], user=ADMIN, message_id=confirm_id)
    assert bot.texts(ADMIN)[-1].startswith(f"The test could not be sent to {TEST_CHAT}: ")
    assert bot.texts(ADMIN)[-2] == "Hello"  # the organizer's own test arrived


async def test_an_album_through_polling_survives_a_kill_and_its_original_going(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`python -m bot run` reads the album from getUpdates; killed mid-broadcast and
    restarted, it reaches everyone with the whole album, repeating only what was in flight."""
    api = telegram.api
    telegram.latency = 0.02
    bot = RunningBot(telegram, tmp_path)
    storage = await Storage.open(bot.env["DATABASE_URL"])
    people = list(range(6000, 6060))
    for person in people:
        await storage.subscribe(person, "rafah", chat_type="private")
    await storage.close()
    await bot.start()
    items = [
        media_update("photo", "m1", user_id=ADMIN, media_group_id="g9", caption="Saturday"),
        media_update("photo", "m2", user_id=ADMIN, media_group_id="g9"),
    ]
    for item in items:
        api.push_update(item)
    api.push_update(message_update("/broadcast", user_id=ADMIN, reply_to=items[0]["message"]))
    await until(lambda: "Send it?" in "".join(api.texts_to(ADMIN)), "the preview")
    assert "Messages per recipient: 2." in api.texts_to(ADMIN)[-1]
    confirm_id = api.sent_to(ADMIN)[-1]["message_id"]
    for item in items:  # the organizer deletes the album: the broadcast does not need it
        api.messages.pop((ADMIN, item["message"]["message_id"]), None)
    api.push_update(callback_update("bc:send:1", user_id=ADMIN, message_id=confirm_id))
    await until(lambda: sum(bool(api.sent_to(p)) for p in people) >= 20, "a third is sent")
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    await bot.start()
    await until(lambda: "finished" in api.messages[(ADMIN, confirm_id)]["text"], "the report", 60)
    await bot.stop()
    report = api.messages[(ADMIN, confirm_id)]["text"]
    assert "sent 60 · blocked 0 · failed 0" in report
    albums = [len(api.sent_to(p)) // 2 for p in people]
    for person in people:
        copies = api.sent_to(person)
        assert [c["photo"][0]["file_id"] for c in copies[:2]] == ["m1", "m2"]
        assert copies[0]["caption"] == "Saturday"
    assert min(albums) == 1
    uncertain = re.search(r"(\d+) were in flight when the bot restarted", report)
    repeats = sum(count - 1 for count in albums)
    assert repeats <= (int(uncertain[1]) if uncertain else 0)


def test_the_preview_sends_a_photo_and_broadcasts_it() -> None:
    """In the offline preview an organizer sends a photo, replies /broadcast and sends it."""
    poster = ROOT / "docs" / "examples" / "poster.png"
    done = bot_command(
        "preview",
        stdin=f"/subscribe\n:photo {poster} March on Saturday\n:reply /broadcast\n3\n1\n"
        ":poll Which day? | Friday | Saturday\n:reply /broadcast\n:quit\n",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("🖼 an image (poster.png): March on Saturday") == 3  # preview, test, copy
    assert "🧪 Test of broadcast #1" in out
    assert "Messages per recipient: 1. Recipients now: 1. Send it?" in out
    assert "📊 a poll: Which day?\n   ○ Friday\n   ○ Saturday" in out


async def test_albums_keep_telegrams_limits_counting_each_item(tmp_path: Path) -> None:
    """Two albums of three in a row to 40 people and a group, against a fake that counts an
    album as its items: all arrive whole, and Telegram never answers 429."""
    async with LimitedTelegram() as limited:
        bot = RunningBot(limited, tmp_path)
        storage = await Storage.open(bot.env["DATABASE_URL"])
        people = list(range(7000, 7040))
        for chat in [*people, GROUP]:
            await storage.subscribe(chat, "rafah", chat_type="private" if chat > 0 else "group")
            limited.watch(chat)
        await storage.close()
        limited.watch(ADMIN)
        await bot.start()
        for number in (1, 2):
            items = [
                media_update("photo", f"{number}-{i}", user_id=ADMIN, media_group_id=f"a{number}")
                for i in range(3)
            ]
            for item in items:
                limited.api.push_update(item)
            reply = message_update("/broadcast", user_id=ADMIN, reply_to=items[0]["message"])
            limited.api.push_update(reply)
            await until(
                lambda n=number: (
                    sum("Send it?" in m.get("text", "") for _, m in limited.by_chat[ADMIN]) == n
                ),
                "the preview",
            )
            confirm_id = next(
                m["message_id"]
                for _, m in reversed(limited.by_chat[ADMIN])
                if "Send it?" in m.get("text", "")
            )
            limited.api.push_update(
                callback_update(f"bc:send:{number}", user_id=ADMIN, message_id=confirm_id)
            )
        everyone = [*people, GROUP]
        await until(
            lambda: all(len(limited.by_chat[chat]) == 6 for chat in everyone), "both albums", 60
        )
        assert await bot.stop() == 0
    assert limited.total_too_many() == 0, (limited.too_many, limited.too_many_chats)
    for chat in everyone:
        got = [m["photo"][0]["file_id"] for _, m in limited.by_chat[chat]]
        assert got == ["1-0", "1-1", "1-2", "2-0", "2-1", "2-2"]


async def test_a_scheduled_photo_goes_out_when_due(bot: Harness) -> None:
    original = media_update("photo", "later", user_id=ADMIN, caption="Tonight")
    await reply_broadcast(bot, original, "/broadcast rafah in 2h lang:en")
    assert "📅 Schedule it to go out on " in bot.texts(ADMIN)[-1]
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("bc:send:1", user=ADMIN, message_id=confirm_id)
    assert bot.sent_to(BEN) == []
    now = bot.storage.clock()
    bot.storage.clock = lambda: now + dt.timedelta(hours=2, seconds=1)
    await until(lambda: bool(bot.sent_to(BEN)), "the photo went out when due")
    assert bot.sent_to(BEN)[0]["photo"][0]["file_id"] == "later"
    await bot.settle()
    assert bot.sent_to(ANA) == []  # only readers of English


def test_the_preview_edits_then_deletes_what_went_out() -> None:
    """In the offline preview: Edit in /broadcasts, :reply the new caption, Apply; Delete."""
    poster = ROOT / "docs" / "examples" / "poster.png"
    done = bot_command(
        "preview",
        stdin=f"/subscribe\n:photo {poster} March on Saturday\n:reply /broadcast\n1\n"
        "/broadcasts\n5\n:reply March on Sunday\n7\n/broadcasts\n10\n11\n:quit\n",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "(it asks for a reply: type :reply and your answer)" in out
    assert "🤖 (caption of message 4 edited)\n   March on Sunday" in out
    assert "(messages [4] deleted for everyone)" in out
