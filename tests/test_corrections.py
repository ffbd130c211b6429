"""Editing and deleting a sent broadcast: every delivered copy, once, counted, for organizers."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import texts
from bot.delivery.corrections import correction_text
from bot.delivery.posts import ShapeError, corrected_parts, planned_edits
from bot.delivery.sender import duration
from bot.preview.telegram_objects import bot_dict, chat_dict
from bot.preview.updates import callback_update, message_update
from bot.storage import CorrectionOutcome, CorrectionRecord, CorrectionTally, Fix, Storage
from bot.storage.sealing import Sealer

from .conftest import (
    ADMIN,
    ANA,
    BEN,
    POSTGRES_URL,
    Harness,
    _database_params,
    drop_tables,
    serving,
    until,
)
from .fake_telegram import FakeTelegram
from .test_cli import RunningBot
from .test_privacy import rows_holding, shown_counts
from .test_webhook import _seed

PEOPLE = [ANA, BEN, 3001, 3002, 3003]


def reply(
    body: str, *, to: int, user: int = ADMIN, asked_at: float | None = None
) -> dict[str, Any]:
    """Return an update: `user` replies `body` to the bot's message `to` in their chat."""
    update = message_update(body, user_id=user)
    update["message"]["reply_to_message"] = {
        "message_id": to,
        "date": int(asked_at or time.time()),
        "chat": chat_dict(user),
        "from": bot_dict(),
        "text": "question",
    }
    return update


async def sent_broadcast(bot: Harness, body: str, people: list[int] = PEOPLE) -> int:
    """Subscribe `people`, broadcast `body` to them through the organizer's buttons, and wait
    for the final report; return the status message id."""
    for person in people:
        await bot.storage.subscribe(person, "rafah", chat_type="private")
    await bot.command(f"/broadcast rafah {body}", user=ADMIN)
    status_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=status_id)
    await bot.report(ADMIN, status_id)
    return status_id


async def ask_edit(bot: Harness, broadcast_id: int, correction: str) -> None:
    """Press Edit for a broadcast and reply to the question with `correction`."""
    await bot.press(f"fx:edit:{broadcast_id}", user=ADMIN)
    question = bot.last(ADMIN)
    assert question["keyboard"] == {"force_reply": True, "selective": True}
    await bot.feed(reply(correction, to=int(question["message_id"])))


async def final(bot: Harness, message_id: int, word: str) -> str:
    """Wait for a correction's final report in its status message, and return it."""
    key = (ADMIN, message_id)
    await until(lambda: word in str(bot.api.messages[key]["text"]), f"the report ({word})")
    return str(bot.api.messages[key]["text"])


def edits_per_message(bot: Harness, method: str = "editMessageText") -> collections.Counter[Any]:
    """Return how many successful edits each (chat, message) had, the organizer's excluded."""
    return collections.Counter(
        (call.params["chat_id"], call.params["message_id"])
        for call in bot.api.calls_to(method)
        if call.error is None and call.params["chat_id"] != ADMIN
    )


async def test_an_edit_changes_every_delivered_copy_once_and_reports(bot: Harness) -> None:
    """Edit from /broadcasts: a preview with the count, Apply, every copy edited once."""
    await sent_broadcast(bot, "Rally at noon on Friday")
    await bot.command("/broadcasts", user=ADMIN)
    assert bot.buttons(ADMIN)["✏️ Edit #1"] == "fx:edit:1"
    assert bot.buttons(ADMIN)["🗑 Delete #1"] == "fx:del:1"
    await ask_edit(bot, 1, "Rally at one on Friday")
    *_, shown, preview = bot.texts(ADMIN)
    assert shown == "Rally at one on Friday"
    assert preview == texts.EDIT_PREVIEW.format(id=1, count=5)
    preview_id = int(bot.last(ADMIN)["message_id"])
    assert bot.buttons(ADMIN) == {
        texts.BUTTON_APPLY: "fx:apply:2",
        texts.BUTTON_CANCEL: "fx:cancel:2",
    }
    await bot.press("fx:apply:2", user=ADMIN, message_id=preview_id)
    report = await final(bot, preview_id, "edited.")
    assert report.splitlines()[:2] == [
        texts.EDIT_DONE.format(id=1),
        texts.EDIT_COUNTS.format(done=5, not_done=0),
    ]
    for person in PEOPLE:
        assert bot.texts(person) == ["Rally at one on Friday"]
    assert set(edits_per_message(bot).values()) == {1}
    await bot.press("fx:apply:2", user=ADMIN, message_id=preview_id)  # a replay does nothing
    assert bot.answers()[-1].params["text"] == texts.CORRECTION_ALREADY
    for forged in ("fx:apply:1", "fx:yes:2"):  # the unanswered question; Yes to an edit
        await bot.press(forged, user=ADMIN, message_id=preview_id)
        assert bot.answers()[-1].params["text"] == texts.CORRECTION_ALREADY
    assert await bot.storage.running_corrections() == []
    assert set(edits_per_message(bot).values()) == {1}
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert actions.count("broadcast_edit") == 1
    broadcast = await bot.storage.broadcast(1)
    assert broadcast is not None
    assert broadcast.parts == ["Rally at one on Friday"]


async def test_late_answers_and_confirmations_expire(bot: Harness) -> None:
    """A reply to a question, or an Apply or Yes, over 30 minutes old does nothing."""
    await sent_broadcast(bot, "Expiring", people=[ANA])
    await bot.press("fx:edit:1", user=ADMIN)
    question_id = int(bot.last(ADMIN)["message_id"])
    await bot.feed(reply("Too late", to=question_id, asked_at=time.time() - 31 * 60))
    assert bot.texts(ADMIN)[-1] == texts.EDIT_ASK_EXPIRED.format(minutes=30)
    await ask_edit(bot, 1, "In time")
    await bot.press("fx:del:1", user=ADMIN)
    old = int(time.time()) - 31 * 60
    for data in ("fx:apply:2", "fx:yes:3"):
        await bot.feed(callback_update(data, user_id=ADMIN, message_id=1, message_date=old))
        assert bot.answers()[-1].params["text"] == texts.CONFIRMATION_EXPIRED.format(minutes=30)
    assert await bot.storage.running_corrections() == []
    assert bot.texts(ANA) == ["Expiring"]


async def test_delete_for_everyone_removes_every_copy_and_counts(bot: Harness) -> None:
    """Delete asks first with the count; Yes deletes each copy, counting the blocked apart."""
    await sent_broadcast(bot, "Wrong date, sorry")
    bot.api.blocked.add(3003)
    await bot.press("fx:del:1", user=ADMIN)
    assert bot.texts(ADMIN)[-1] == texts.DELETE_CONFIRM.format(id=1, count=5)
    ask_id = int(bot.last(ADMIN)["message_id"])
    assert bot.buttons(ADMIN) == {
        texts.BUTTON_DELETE_YES: "fx:yes:1",
        texts.BUTTON_STOP_NO: "fx:no:1",
    }
    await bot.press("fx:yes:1", user=ADMIN, message_id=ask_id)
    report = await final(bot, ask_id, "deleted for everyone.")
    assert report.splitlines() == [
        texts.DELETE_DONE.format(id=1),
        texts.DELETE_COUNTS.format(done=4, not_done=1),
        texts.CORRECTION_BLOCKED.format(count=1),
    ]
    for person in PEOPLE[:4]:
        assert bot.texts(person) == []
    assert bot.texts(3003) == ["Wrong date, sorry"]
    await bot.press("fx:yes:1", user=ADMIN, message_id=ask_id)
    assert bot.answers()[-1].params["text"] == texts.CORRECTION_ALREADY
    assert len([c for c in bot.api.calls_to("deleteMessages") if c.error is None]) == 4
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert actions.count("broadcast_delete") == 1


async def test_a_retraction_after_48_hours_is_refused_with_a_sentence(bot: Harness) -> None:
    """Past Telegram's 48 hours, Delete says so before any confirmation, and deletes nothing."""
    await sent_broadcast(bot, "An old one")
    later = bot.storage.clock() + dt.timedelta(hours=49)
    bot.storage.clock = lambda: later
    await bot.press("fx:del:1", user=ADMIN)
    assert bot.texts(ADMIN)[-1] == texts.DELETE_TOO_LATE.format(id=1)
    assert bot.buttons(ADMIN) == {}
    assert bot.api.calls_to("deleteMessages") == []
    assert all(bot.texts(person) == ["An old one"] for person in PEOPLE)


async def test_copies_older_than_48_hours_are_counted_not_tried(bot: Harness) -> None:
    """In a long broadcast, the copies over 48 hours old are counted as such, not tried."""
    await sent_broadcast(bot, "A long one")
    async with bot.storage.engine.begin() as connection:
        old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=50)
        await connection.execute(
            text("UPDATE deliveries SET updated_at = :old WHERE chat_id IN (:a, :b)"),
            {"old": old, "a": Sealer().seal(ANA), "b": Sealer().seal(BEN)},  # as stored
        )
    await bot.press("fx:del:1", user=ADMIN)
    ask_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:yes:1", user=ADMIN, message_id=ask_id)
    report = await final(bot, ask_id, "deleted for everyone.")
    assert texts.DELETE_COUNTS.format(done=3, not_done=2) in report
    assert texts.CORRECTION_TOO_OLD.format(count=2) in report
    assert bot.texts(ANA) == bot.texts(BEN) == ["A long one"]
    assert {c.params["chat_id"] for c in bot.api.calls_to("deleteMessages")} == {3001, 3002, 3003}


async def test_a_non_organizer_cannot_edit_or_delete(bot: Harness) -> None:
    """Edit, Delete, Apply and Yes pressed by someone not in BOT_ADMINS are refused."""
    await sent_broadcast(bot, "Only organizers correct this")
    await ask_edit(bot, 1, "Corrected by an organizer")
    preview_id = int(bot.last(ADMIN)["message_id"])
    for data in ("fx:edit:1", "fx:del:1", "fx:apply:2"):
        await bot.press(data, user=ANA, message_id=preview_id)
        assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
    await bot.feed(reply("Hijacked", to=preview_id, user=ANA))
    await bot.press("fx:del:1", user=ADMIN)
    await bot.press("fx:yes:3", user=BEN, message_id=int(bot.last(ADMIN)["message_id"]))
    assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
    assert bot.texts(ANA) == ["Only organizers correct this"]
    assert bot.api.calls_to("deleteMessages") == []
    assert edits_per_message(bot) == collections.Counter()
    assert [c.state for c in [await bot.storage.correction(n) for n in (1, 2, 3)] if c] == [
        "draft"
    ] * 3


async def test_corrections_that_do_not_fit_are_refused_in_one_sentence(bot: Harness) -> None:
    """A text of another length, an unknown language, the same text: each said, nothing kept."""
    await sent_broadcast(bot, "Short")
    await ask_edit(bot, 1, "\n\n".join(["word " * 700] * 2))
    assert bot.texts(ADMIN)[-1] == texts.EDIT_REFUSED_COUNT.format(id=1, new=2, old=1)
    await ask_edit(bot, 1, "Short\n[es]\nCorto")
    assert bot.texts(ADMIN)[-1] == texts.EDIT_REFUSED_LANGUAGE.format(
        id=1, language="Spanish", languages="English"
    )
    await ask_edit(bot, 1, "Short")
    assert bot.texts(ADMIN)[-1] == texts.EDIT_REFUSED_SAME.format(id=1)
    poll = {"type": "poll", "question": "Which day?", "options": ["Fri", "Sat"]}
    broadcast_id = await bot.storage.create_broadcast("rafah", "broadcast", [poll], ADMIN)
    assert await bot.storage.start_broadcast(broadcast_id, ADMIN, 1)
    await bot.settle()
    async with bot.storage.engine.begin() as connection:  # as if the poll arrived
        await connection.execute(
            text(
                "UPDATE deliveries SET status = 'sent', message_ids = '[7]' WHERE broadcast_id = 2"
            )
        )
    await bot.press(f"fx:edit:{broadcast_id}", user=ADMIN)
    assert bot.texts(ADMIN)[-1] == texts.EDIT_REFUSED_POLL.format(id=broadcast_id)
    assert edits_per_message(bot) == collections.Counter()
    assert await bot.storage.running_corrections() == []


async def test_a_photo_broadcast_gets_its_caption_edited(bot: Harness) -> None:
    """A media broadcast's correction is its caption, edited in place with editMessageCaption."""
    for person in PEOPLE:
        await bot.storage.subscribe(person, "rafah", chat_type="private")
    photo = {"type": "photo", "file_id": "AgADphoto", "caption": "Old caption", "spoiler": False}
    broadcast_id = await bot.storage.create_broadcast("rafah", "broadcast", [photo], ADMIN)
    assert await bot.storage.start_broadcast(broadcast_id, ADMIN, 1) == len(PEOPLE)
    await bot.settle()
    await ask_edit(bot, broadcast_id, "x" * 1100)
    assert bot.texts(ADMIN)[-1] == texts.EDIT_REFUSED_CAPTION.format(length=1100)
    await ask_edit(bot, broadcast_id, "New caption")
    assert bot.last(ADMIN)["text"] == texts.EDIT_PREVIEW.format(id=broadcast_id, count=5)
    assert bot.sent_to(ADMIN)[-2]["caption"] == "New caption"  # shown as readers will see it
    preview_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:apply:3", user=ADMIN, message_id=preview_id)
    report = await final(bot, preview_id, "edited.")
    assert texts.EDIT_COUNTS.format(done=5, not_done=0) in report
    for person in PEOPLE:
        (message,) = bot.sent_to(person)
        assert (message["caption"], "photo" in message) == ("New caption", True)
    assert set(edits_per_message(bot, "editMessageCaption").values()) == {1}


async def test_an_edit_while_sending_reaches_sent_in_flight_and_later_copies(
    storage: Storage,
) -> None:
    """Edited mid-broadcast: copies sent before (in flight included) are edited, the rest go
    out corrected and are left alone; each copy ends corrected, none edited twice."""
    people = await _seed(storage, 1500)
    async with FakeTelegram() as fake, serving(storage, telegram=fake) as bot:
        fake.latency = 0.05  # sends overlap
        fake.slow_methods = {"sendMessage"}
        fake.gated_chats = frozenset(people)
        await bot.command("/broadcast rafah First version", user=ADMIN)
        status_id = int(bot.last(ADMIN)["message_id"])
        await bot.press("bc:send:1", user=ADMIN, message_id=status_id)

        def sent() -> int:
            return sum(
                1 for c in fake.api.calls_to("sendMessage") if c.params["chat_id"] in people
            )

        await until(lambda: sent() >= 200, "some are sent")
        # Copies on their way are held unanswered until Apply: some are certainly in flight.
        fake.gate.clear()
        await until(lambda: fake.at_gate > 0, "some copies are in flight")
        await ask_edit(bot, 1, "Second version")
        preview_id = int(bot.last(ADMIN)["message_id"])
        await bot.press("fx:apply:2", user=ADMIN, message_id=preview_id)
        at_apply = sent()
        in_flight = fake.at_gate
        fake.gate.set()
        await bot.report(ADMIN, status_id)
        report = await final(bot, preview_id, "edited.")
        finals = {person: bot.texts(person) for person in people}
    assert at_apply < len(people)
    assert set(map(tuple, finals.values())) == {("Second version",)}
    edits = edits_per_message(bot)
    assert set(edits.values()) == {1}
    assert in_flight > 0
    assert len(edits) >= at_apply + in_flight  # copies on their way at Apply were edited too
    sent_new = len(people) - len(edits)
    assert 0 < sent_new < len(people) - 200
    assert texts.EDIT_COUNTS.format(done=len(edits), not_done=0) in report
    assert texts.CORRECTION_SENT_NEW.format(count=sent_new) in report


async def test_an_edit_of_one_language_edits_only_its_readers(bot: Harness) -> None:
    """A correction of the Spanish text edits the Spanish readers' copies, nobody else's."""
    await bot.storage.subscribe(ANA, "rafah", chat_type="private", language_code="es")
    await bot.storage.subscribe(BEN, "rafah", chat_type="private", language_code="en")
    await bot.command("/broadcast rafah Rally at six.\n[es]\nMarcha a las sies.", user=ADMIN)
    status_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=status_id)
    await bot.report(ADMIN, status_id)
    await ask_edit(bot, 1, "[es]\nMarcha a las seis.")
    assert bot.texts(ADMIN)[-3:] == [
        texts.BROADCAST_VERSION.format(language="Spanish", count=1),
        "Marcha a las seis.",
        texts.EDIT_PREVIEW.format(id=1, count=1),
    ]
    preview_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:apply:2", user=ADMIN, message_id=preview_id)
    report = await final(bot, preview_id, "edited.")
    assert texts.EDIT_COUNTS.format(done=1, not_done=0) in report
    assert bot.texts(ANA) == ["Marcha a las seis."]
    assert bot.texts(BEN) == ["Rally at six."]
    assert list(edits_per_message(bot)) == [(ANA, 1)]
    broadcast = await bot.storage.broadcast(1)
    assert broadcast is not None
    assert (broadcast.parts, broadcast.translations) == (
        ["Rally at six."],
        {"es": ["Marcha a las seis."]},
    )


async def test_mydata_counts_an_organizers_corrections_and_forget_erases_them(
    bot: Harness,
) -> None:
    """Edits and deletions hold the organizer's id: /mydata shows them, /forget leaves none."""
    await sent_broadcast(bot, "Counted in mydata", people=[ANA])
    await ask_edit(bot, 1, "Counted in /mydata")
    await bot.press("fx:del:1", user=ADMIN)
    await bot.command("/mydata", user=ADMIN)
    shown = bot.texts(ADMIN)[-1]
    stored = await rows_holding(bot.storage, ADMIN)
    assert stored["corrections"] == 3  # the question, the corrected preview, the deletion
    assert texts.MYDATA_CORRECTIONS.format(count=3) in shown
    assert shown_counts(shown) == {k: v for k, v in stored.items() if k != "corrections"}
    await bot.command("/forget", user=ADMIN)
    await bot.press("forget:yes", user=ADMIN, message_id=int(bot.last(ADMIN)["message_id"]))
    assert await rows_holding(bot.storage, ADMIN) == {}


def test_a_correction_keeps_the_shape_of_what_was_sent() -> None:
    """Texts repack to as many messages; a file or an album takes the caption; the rest is
    refused with its reason."""
    photo = {"type": "photo", "file_id": "p", "caption": "old", "spoiler": True}
    album = {
        "type": "album",
        "items": [
            {"type": "photo", "file_id": "a"},
            {"type": "photo", "file_id": "b", "caption": "x"},
        ],
    }
    assert corrected_parts(["one", "two"], ["uno", "dos"]) == ["uno", "dos"]
    assert corrected_parts([photo], ["new"]) == [{**photo, "caption": "new"}]
    assert corrected_parts([album], ["y"])[0]["items"][1]["caption"] == "y"
    for parts, packed, reason in (
        (["one"], ["uno", "dos"], "count"),
        (["text", photo], ["x"], "mixed"),
        ([{"type": "poll", "question": "?", "options": ["a", "b"]}], ["x"], "poll"),
        ([photo], ["é" * 1025], "caption_long"),
    ):
        with pytest.raises(ShapeError) as refused:
            corrected_parts(parts, packed)
        assert refused.value.reason == reason


def test_only_changed_messages_are_edited_and_missing_ones_skipped() -> None:
    """An album edits only the item whose caption changed; a copy cut short edits what it has."""
    album = {
        "type": "album",
        "items": [
            {"type": "photo", "file_id": "a"},
            {"type": "photo", "file_id": "b", "caption": "x"},
        ],
    }
    new = corrected_parts([album], ["y"])
    assert planned_edits([album], new, [10, 11]) == [(11, new[0]["items"][1])]
    assert planned_edits(["a", "b"], ["a", "c"], [5, 6]) == [(6, "c")]
    assert planned_edits(["a", "b"], ["z", "c"], [5]) == [(5, "z")]  # its second never arrived


async def test_one_correction_of_a_broadcast_runs_at_a_time(storage: Storage) -> None:
    """A second edit waits for the first; one shown before the first changed the text is
    refused, so it cannot put the old text back."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["v1"], ADMIN)
    await storage.start_broadcast(broadcast_id, ADMIN, 1)
    v1, v2, v3 = ({"parts": [v], "translations": {}} for v in ("v1", "v2", "v3"))
    first = await storage.create_correction(broadcast_id, "edit", ADMIN, previous=v1, corrected=v2)
    second = await storage.create_correction(
        broadcast_id, "edit", ADMIN, previous=v1, corrected=v3
    )
    retraction = await storage.create_correction(broadcast_id, "delete", ADMIN)
    assert await storage.start_correction(first, ADMIN, 2) == "started"
    assert await storage.start_correction(first, ADMIN, 2) == "already"
    assert await storage.start_correction(retraction, ADMIN, 3) == "busy"
    assert await storage.finish_correction(first)
    assert await storage.start_correction(second, ADMIN, 4) == "busy"  # shown before v2
    assert await storage.broadcast_revision(broadcast_id) == first
    draft = await storage.broadcast(broadcast_id)
    assert draft is not None
    assert draft.parts == ["v2"]
    assert await storage.start_correction(retraction, ADMIN, 3) == "started"


def test_the_status_shows_progress_then_counts_with_reasons() -> None:
    """While running: a bar, done of all, the rate; at the end: counts, reasons grouped."""
    when = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    record = CorrectionRecord(5, 1, "edit", "running", ADMIN, when)
    tally = CorrectionTally(
        {"edited": 300, "failed": 12, "blocked": 3}, [("Bad Request: x", 12)], 685
    )
    assert correction_text(record, tally, final=False, rate=29.5).splitlines() == [
        texts.EDITING.format(id=1),
        "▰▰▰▱▱▱▱▱▱▱ 31% · 315 of 1,000",
        texts.CORRECTION_RATE.format(rate=29.5, left=duration(685 / 29.5)),
    ]
    done = CorrectionTally(
        {"edited": 985, "failed": 12, "blocked": 3}, [("Bad Request: x", 12)], 0
    )
    assert correction_text(record, done, final=True, uncertain=4).splitlines() == [
        texts.EDIT_DONE.format(id=1),
        texts.EDIT_COUNTS.format(done=985, not_done=15),
        texts.CORRECTION_BLOCKED.format(count=3),
        texts.CORRECTION_REASON.format(count=12, reason="Bad Request: x"),
        texts.CORRECTION_UNCERTAIN.format(count=4),
    ]


# The real process, polling the fake Bot API over HTTP, killed in the middle of a correction.

KILLED = list(range(6000, 6120))


async def running_broadcast(
    telegram: FakeTelegram, bot: RunningBot, body: str, people: list[int] = KILLED
) -> None:
    """Subscribe `people`, start the bot, and broadcast `body` to them through its buttons."""
    storage = await Storage.open(bot.env["DATABASE_URL"])
    for person in people:
        await storage.subscribe(person, "rafah", chat_type="private")
    await storage.close()
    await bot.start()
    api = telegram.api
    api.push_update(message_update(f"/broadcast {body}", user_id=ADMIN))
    await until(lambda: "Send it?" in "".join(api.texts_to(ADMIN)), "the preview")
    status_id = int(api.sent_to(ADMIN)[-1]["message_id"])
    api.push_update(callback_update("bc:send:1", user_id=ADMIN, message_id=status_id))
    await until(lambda: "finished" in api.messages[(ADMIN, status_id)]["text"], "sent", 60)


async def kill_and_restart(bot: RunningBot, done: Callable[[], int], at: int) -> None:
    """Kill the bot once `done()` reaches `at`, and start it again."""
    await until(lambda: done() >= at, f"{at} done before the kill", 60)
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    assert done() < len(KILLED)  # killed in the middle
    await bot.start()


def in_flight(report: str) -> int:
    """Return how many copies a correction's report says were in flight at a restart."""
    pattern = re.escape(texts.CORRECTION_UNCERTAIN).replace(r"\{count:,\}", r"([\d,]+)")
    found = re.search(pattern, report)
    print(f"in flight at the kill: {found[1] if found else 0}")
    return int(found[1].replace(",", "")) if found else 0


async def test_an_edit_killed_midway_finishes_after_a_restart(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Killed mid-edit and restarted: every copy ends corrected, none edited twice."""
    api = telegram.api
    bot = RunningBot(telegram, tmp_path)
    await running_broadcast(telegram, bot, "Meet at the north gate")
    api.push_update(callback_update("fx:edit:1", user_id=ADMIN, message_id=1))
    await until(lambda: "keyboard" in api.sent_to(ADMIN)[-1], "the question")
    question_id = int(api.sent_to(ADMIN)[-1]["message_id"])
    api.push_update(reply("Meet at the south gate", to=question_id))
    await until(lambda: "Apply?" in api.texts_to(ADMIN)[-1], "the corrected preview")
    preview_id = int(api.sent_to(ADMIN)[-1]["message_id"])
    api.push_update(callback_update("fx:apply:2", user_id=ADMIN, message_id=preview_id))

    def edited() -> int:
        return sum(1 for c in api.calls_to("editMessageText") if c.params["chat_id"] != ADMIN)

    await kill_and_restart(bot, edited, 30)
    report_key = (ADMIN, preview_id)
    await until(lambda: "edited." in api.messages[report_key]["text"], "the report", 60)
    report = str(api.messages[report_key]["text"])
    await bot.stop()
    assert all(api.texts_to(person) == ["Meet at the south gate"] for person in KILLED)
    successes = collections.Counter(
        c.params["chat_id"]
        for c in api.calls_to("editMessageText")
        if c.error is None and c.params["chat_id"] != ADMIN
    )
    assert set(successes.values()) == {1}
    assert len(successes) == len(KILLED)
    assert texts.EDIT_COUNTS.format(done=len(KILLED), not_done=0) in report
    # Claimed and not yet recorded: the batch being worked (8, a quarter second at 30/s) and
    # what the one before still had in flight.
    assert in_flight(report) <= 16


async def test_a_retraction_killed_midway_finishes_after_a_restart(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Killed mid-deletion and restarted: every copy is gone, each deleted by one call, and
    the report counts them all as deleted, owning up to the uncertain ones."""
    api = telegram.api
    bot = RunningBot(telegram, tmp_path)
    await running_broadcast(telegram, bot, "Posted by mistake")
    api.push_update(callback_update("fx:del:1", user_id=ADMIN, message_id=1))
    await until(lambda: "Delete broadcast #1" in api.texts_to(ADMIN)[-1], "the question")
    ask_id = int(api.sent_to(ADMIN)[-1]["message_id"])
    api.push_update(callback_update("fx:yes:1", user_id=ADMIN, message_id=ask_id))

    def deleted() -> int:
        return sum(1 for person in KILLED if api.texts_to(person) == [])

    await kill_and_restart(bot, deleted, 30)
    await until(lambda: "for everyone." in api.messages[(ADMIN, ask_id)]["text"], "report", 60)
    report = str(api.messages[(ADMIN, ask_id)]["text"])
    await bot.stop()
    assert deleted() == len(KILLED)
    successes = collections.Counter(
        c.params["chat_id"] for c in api.calls_to("deleteMessages") if c.error is None
    )
    assert set(successes.values()) == {1}
    assert len(successes) == len(KILLED)
    assert texts.DELETE_COUNTS.format(done=len(KILLED), not_done=0) in report
    assert in_flight(report) <= 16
    actions = {c.params.get("text") for c in api.calls_to("answerCallbackQuery")}
    assert texts.NOT_ADMIN not in actions


async def test_a_deleted_broadcast_has_nothing_left_to_edit(bot: Harness) -> None:
    """After a retraction, Edit finds no copy to edit and sends Telegram nothing."""
    await sent_broadcast(bot, "Gone soon", people=[ANA, BEN])
    await bot.press("fx:del:1", user=ADMIN)
    ask_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:yes:1", user=ADMIN, message_id=ask_id)
    await final(bot, ask_id, "deleted for everyone.")
    await ask_edit(bot, 1, "Gone soon, corrected")
    assert bot.texts(ADMIN)[-1] == texts.EDIT_PREVIEW.format(id=1, count=0)
    await bot.press("fx:apply:3", user=ADMIN, message_id=int(bot.last(ADMIN)["message_id"]))
    report = await final(bot, int(bot.last(ADMIN)["message_id"]), "edited.")
    assert texts.EDIT_COUNTS.format(done=0, not_done=0) in report
    assert edits_per_message(bot) == collections.Counter()


# The schema: migration 0007 up and down on a database holding data.

T0 = "2026-11-30 12:00:00"


@pytest.fixture(params=_database_params())
async def at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A database at schema 0006 holding a sent broadcast: SQLite, and PostgreSQL if set."""
    if request.param == "sqlite":
        storage = Storage.connect(f"sqlite:///{tmp_path / 'schema.db'}")
    else:
        storage = Storage.connect(POSTGRES_URL)
        await drop_tables(storage)
    await storage.migrate("0006")
    async with storage.engine.begin() as connection:
        for statement in (
            "INSERT INTO broadcasts (id, campaign_id, kind, parts, created_by, created_at, "
            "state, status_chat_id, status_message_id, uncertain) VALUES (1, 'rafah', "
            f"'broadcast', '[\"Hello\"]', 42, '{T0}', 'done', 42, 7, 0)",
            "INSERT INTO deliveries (broadcast_id, chat_id, status, attempts, updated_at, "
            f"message_ids) VALUES (1, 1001, 'sent', 1, '{T0}', '[5]'), "
            f"(1, 1002, 'sent', 1, '{T0}', '[8]'), (1, 1003, 'blocked', 1, '{T0}', 'null')",
        ):
            await connection.execute(text(statement))
    yield storage
    await storage.close()


async def test_migration_0007_keeps_deliveries_up_and_down(at_0006: Storage) -> None:
    """Up: corrections work on the old rows (JSON null made NULL); down and up again: the
    message ids stay, the correction columns and table go and come back."""
    storage = at_0006
    await storage.migrate()
    assert await storage.delivered_languages(1) == {None: 2}
    previous = {"parts": ["Hello"], "translations": {}}
    corrected = {"parts": ["Hello!"], "translations": {}}
    correction = await storage.create_correction(
        1, "edit", 42, previous=previous, corrected=corrected
    )
    assert await storage.start_correction(correction, 42, 9) == "started"
    copies = await storage.claim_copies(correction, 1, 10)
    assert [(c.chat_id, c.message_ids) for c in copies] == [(1001, (5,)), (1002, (8,))]
    await storage.record_fixes(
        correction, [Fix(c.delivery_id, CorrectionOutcome.EDITED) for c in copies]
    )
    await storage.migrate("0006")
    async with storage.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT chat_id, message_ids FROM deliveries ORDER BY chat_id")
            )
        ).all()
        columns = await connection.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("deliveries")}
        )
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert [(chat, json.loads(ids) if isinstance(ids, str) else ids) for chat, ids in rows] == [
        (1001, [5]),
        (1002, [8]),
        (1003, None),
    ]
    assert "fixed_by" not in columns
    assert "corrections" not in tables
    await storage.migrate()
    assert (await storage.schema_state()).current
    assert await storage.broadcast_revision(1) is None  # the correction went with its table


async def test_over_http_outsiders_and_48_hours_are_refused(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """The real process: a non-organizer's Edit, Delete and Yes do nothing; past 48 hours,
    Delete says why in a sentence and asks nothing."""
    api = telegram.api
    bot = RunningBot(telegram, tmp_path)
    await running_broadcast(telegram, bot, "Said too soon", people=KILLED[:3])
    for data in ("fx:edit:1", "fx:del:1"):
        api.push_update(callback_update(data, user_id=ANA, message_id=1))
    api.push_update(callback_update("fx:del:1", user_id=ADMIN, message_id=1))
    await until(lambda: "Delete broadcast #1" in api.texts_to(ADMIN)[-1], "the question")
    ask_id = int(api.sent_to(ADMIN)[-1]["message_id"])
    api.push_update(callback_update("fx:yes:1", user_id=BEN, message_id=ask_id))
    await until(lambda: len(api.calls_to("answerCallbackQuery")) == 5, "every press answered")
    refusals = [c.params.get("text") for c in api.calls_to("answerCallbackQuery")]
    assert refusals.count(texts.NOT_ADMIN) == 3
    async with aiosqlite_engine(bot) as connection:
        await connection.execute(
            text("UPDATE broadcasts SET started_at = :then"),
            {"then": dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=49)},
        )
    api.push_update(callback_update("fx:del:1", user_id=ADMIN, message_id=1))
    await until(lambda: api.texts_to(ADMIN)[-1] == texts.DELETE_TOO_LATE.format(id=1), "why")
    api.push_update(callback_update("fx:yes:1", user_id=ADMIN, message_id=ask_id))  # asked before
    await until(
        lambda: api.messages[(ADMIN, ask_id)]["text"] == texts.DELETE_TOO_LATE.format(id=1),
        "the old question answered",
    )
    await bot.stop()
    assert api.calls_to("deleteMessages") == []
    assert all(api.texts_to(person) == ["Said too soon"] for person in KILLED[:3])
    assert not [c for c in api.calls_to("sendMessage") if c.params["chat_id"] in (ANA, BEN)]


@contextlib.asynccontextmanager
async def aiosqlite_engine(bot: RunningBot) -> AsyncIterator[AsyncConnection]:
    """Open the running bot's SQLite database beside it, for one transaction."""
    storage = Storage.connect(bot.env["DATABASE_URL"])
    try:
        async with storage.engine.begin() as connection:
            yield connection
    finally:
        await storage.close()
