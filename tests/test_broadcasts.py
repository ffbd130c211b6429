"""Organizers' view of broadcasts: scheduling, /broadcasts, stopping, progress, restarts."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import texts
from bot.delivery.pacing import Pacer
from bot.delivery.sender import Sender, duration, progress_bar, progress_text
from bot.preview.local_api import LocalBotAPI
from bot.storage import Progress, Storage

from .conftest import ADMIN, ANA, BEN, Harness, fast_pacer, serving, until
from .test_delivery import PEOPLE, finished, local_bot, queue, sending


def later(storage: Storage, delta: dt.timedelta) -> None:
    """Move the storage's clock (and so the bot's idea of now) forward by `delta`."""
    now = storage.clock()
    storage.clock = lambda: now + delta


async def schedule(bot: Harness, command: str) -> int:
    """Write a scheduled broadcast and press Schedule; return the status message id."""
    await bot.command(command, user=ADMIN)
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SCHEDULE], user=ADMIN, message_id=confirm_id)
    return confirm_id


async def test_a_scheduled_broadcast_waits_then_goes_to_who_is_subscribed_then(
    bot: Harness,
) -> None:
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    await bot.command("/broadcast rafah in 2h Rally tonight", user=ADMIN)
    preview, confirm = bot.texts(ADMIN)
    assert preview == "Rally tonight"
    assert "📅 Schedule it to go out on " in confirm
    assert "in 2 h" in confirm
    status_id = await schedule(bot, "/broadcast rafah in 2h Rally tonight")
    status = bot.api.messages[(ADMIN, status_id)]["text"]
    assert status.startswith("📅 Broadcast #2 to <b>rafah</b> is scheduled")
    assert bot.buttons(ADMIN) == {texts.BUTTON_UNSCHEDULE: "bc:stop:2"}
    await asyncio.sleep(0.2)  # several of the sender's due checks
    assert bot.texts(ANA) == []
    await bot.storage.subscribe(BEN, "rafah", chat_type="private")  # joins before it is due
    later(bot.storage, dt.timedelta(hours=2, seconds=1))
    await until(lambda: bot.texts(BEN) == ["Rally tonight"], "the broadcast went out")
    report = await bot.report(ADMIN, status_id)
    assert "Recipients: 2\n" in report
    assert bot.texts(ANA) == ["Rally tonight"]
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert "broadcast_schedule" in actions


async def test_a_scheduled_broadcast_survives_a_restart(storage: Storage) -> None:
    await storage.subscribe(ANA, "rafah", chat_type="private")
    day = (storage.clock() + dt.timedelta(days=30)).date()
    async with serving(storage) as bot:
        await schedule(bot, f"/broadcast rafah at {day} 12:00 Happy new year")
    async with serving(storage) as bot:
        await asyncio.sleep(0.2)
        assert bot.texts(ANA) == []
        storage.clock = lambda: dt.datetime.combine(day, dt.time(12, 0, 1), tzinfo=dt.UTC)
        await until(lambda: bot.texts(ANA) == ["Happy new year"], "it went out after a restart")


async def test_broadcasts_lists_and_cancels_a_scheduled_one(bot: Harness) -> None:
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    status_id = await schedule(bot, "/broadcast rafah at 18:00 Rally")
    await bot.command("/broadcasts", user=ADMIN)
    listing = bot.texts(ADMIN)[-1]
    assert "📅 #1 <b>rafah</b>: on " in listing
    assert bot.buttons(ADMIN) == {f"{texts.BUTTON_UNSCHEDULE} #1": "bc:stop:1"}
    await bot.press("bc:stop:1", user=ADMIN)
    assert bot.texts(ADMIN)[-1] == texts.STOP_SCHEDULED_CONFIRM.format(id=1)
    ask_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("bc:halt:1", user=ANA, message_id=ask_id)  # forged by a non-organizer
    assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
    await bot.press("bc:halt:1", user=ADMIN, message_id=ask_id)
    assert bot.api.messages[(ADMIN, ask_id)]["text"] == texts.UNSCHEDULED.format(id=1)
    assert bot.api.messages[(ADMIN, status_id)]["text"] == texts.UNSCHEDULED.format(id=1)
    await bot.press("bc:halt:1", user=ADMIN, message_id=ask_id)  # a replay does nothing
    assert bot.answers()[-1].params["text"] == texts.BROADCAST_ALREADY
    later(bot.storage, dt.timedelta(days=2))
    await asyncio.sleep(0.2)
    assert bot.texts(ANA) == []
    await bot.command("/broadcasts", user=ADMIN)
    assert "⏹ #1 <b>rafah</b>" in bot.texts(ADMIN)[-1]
    assert bot.buttons(ADMIN) == {}


async def test_keep_leaves_the_broadcast_alone(bot: Harness) -> None:
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    await schedule(bot, "/broadcast rafah in 1h Rally")
    await bot.press("bc:stop:1", user=ADMIN)
    await bot.press("bc:keep:1", user=ADMIN, message_id=int(bot.last(ADMIN)["message_id"]))
    assert bot.texts(ADMIN)[-1] == texts.STOP_KEPT.format(id=1)
    progress = await bot.storage.progress(1)
    assert progress is not None
    assert progress.state == "scheduled"


async def test_unusable_times_are_explained_and_nothing_is_stored(bot: Harness) -> None:
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    await bot.command("/broadcast rafah at 2020-01-01 10:00 too late", user=ADMIN)
    assert "has already passed" in bot.texts(ADMIN)[-1]
    await bot.command("/announce rafah in 3h", user=ADMIN)
    assert "📅 Schedule it to go out on " in bot.texts(ADMIN)[-1]
    assert await bot.storage.progress(1) is not None  # the announcement's draft
    assert await bot.storage.progress(2) is None


async def test_a_scheduled_broadcast_of_a_former_organizer_is_not_sent(storage: Storage) -> None:
    """The right to broadcast is checked again when it is due."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    when = storage.clock() + dt.timedelta(minutes=5)
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["x"], 42, when)
    assert await storage.start_broadcast(broadcast_id, 42, 1) == 1
    assert await storage.start_due_broadcasts(frozenset({42})) == ([], [])  # not due yet
    later(storage, dt.timedelta(minutes=6))
    assert await storage.start_due_broadcasts(frozenset({7})) == ([], [broadcast_id])
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.state, progress.total) == ("cancelled", 0)


async def test_stopping_a_running_broadcast_sends_no_more_and_reports(storage: Storage) -> None:
    api = LocalBotAPI()
    await api.call("sendMessage", {"chat_id": ADMIN, "text": "status"})
    people = list(range(3001, 3041))
    broadcast_id = await queue(storage, people)
    async with local_bot(api, fast_pacer(rate=20.0)) as bot, sending(storage, bot) as sender:

        def some_sent() -> bool:
            return sum(bool(api.texts_to(p)) for p in people) >= 5

        await until(some_sent, "some were sent")
        assert await storage.stop_broadcast(broadcast_id) == "sending"
        sender.wake(broadcast_id)

        def reported() -> bool:
            return "was stopped" in str(api.messages[(ADMIN, 1)]["text"])

        await until(reported, "the stop is reported")
        reached = sum(bool(api.texts_to(p)) for p in people)
        await asyncio.sleep(0.3)
        assert sum(bool(api.texts_to(p)) for p in people) == reached  # nothing after the report
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert progress.sent == reached
    assert progress.cancelled == len(people) - reached
    assert f"not sent {len(people) - reached}" in str(api.messages[(ADMIN, 1)]["text"])


async def test_progress_shows_a_bar_the_rate_and_time_left(storage: Storage) -> None:
    api = LocalBotAPI()
    await api.call("sendMessage", {"chat_id": ADMIN, "text": "status"})
    broadcast_id = await queue(storage, list(range(3001, 3061)))
    async with (
        local_bot(api, fast_pacer(rate=20.0)) as bot,
        sending(storage, bot, progress_interval=1.0),
    ):

        def shows_rate() -> bool:
            return "messages/s · about" in str(api.messages[(ADMIN, 1)]["text"])

        await until(shows_rate, "the status shows a rate")
        status = str(api.messages[(ADMIN, 1)]["text"])
        assert "▰" in status
        assert "of 60" in status
        assert (
            api.messages[(ADMIN, 1)]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            == f"bc:stop:{broadcast_id}"
        )
        await finished(api, broadcast_id)
    assert (
        "reply_markup" not in api.messages[(ADMIN, 1)]
        or not api.messages[(ADMIN, 1)]["reply_markup"]
    )


def test_progress_text_pieces() -> None:
    assert progress_bar(0, 10) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(45, 100) == "▰▰▰▰▱▱▱▱▱▱ 45%"
    assert progress_bar(0, 0) == "▰▰▰▰▰▰▰▰▰▰ 100%"
    assert [duration(s) for s in (0.2, 42, 200, 1800, 7500)] == [
        "under a second",
        "42 s",
        "3 min 20 s",
        "30 min",
        "2 h 5 min",
    ]
    when = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    progress = Progress(1, "rafah", "sending", 10_000, 2_990, 5, 5, 0, 0, ADMIN, 1, when)
    text = progress_text(progress, final=False, rate=29.9)
    assert text.splitlines() == [
        "📤 Broadcast #1 to <b>rafah</b>",
        "▰▰▰▱▱▱▱▱▱▱ 30% · 3,000 of 10,000",
        "29.9 messages/s · about 3 min 54 s left".replace("3 min 54 s", duration(7000 / 29.9)),
        "sent 2,990 · blocked 5 · failed 5",
    ]


def test_sender_defaults_follow_the_mode(storage: Storage) -> None:
    api = LocalBotAPI()
    pacer = Pacer()
    free = Sender(local_bot(api), storage, pacer=pacer)
    paid = Sender(local_bot(api), storage, pacer=pacer, paid=True)
    assert (free.rate, free.batch) == (30.0, 8)
    assert (paid.rate, paid.batch) == (1000.0, 250)
    assert PEOPLE  # the shared recipients of test_delivery stay importable


async def test_a_stopped_broadcast_stays_stopped_after_a_crash(storage: Storage) -> None:
    """Rows a crash left in flight go back to the queue, but not for a stopped broadcast."""
    broadcast_id = await queue(storage, PEOPLE)
    claimed = [job.delivery_id for job in await storage.claim_jobs(3)]
    assert await storage.mark_sending(claimed[:2]) == set(claimed[:2])  # two on their way
    assert await storage.stop_broadcast(broadcast_id) == "sending"
    assert await storage.requeue_in_flight() == 2  # the crash
    assert await storage.claim_jobs(10) == []
    assert await storage.finish_broadcasts() == [broadcast_id]
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.sent, progress.cancelled, progress.uncertain) == (0, 4, 2)
