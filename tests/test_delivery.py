"""The broadcast sender: every Telegram answer handled, pacing, and restarts that lose nothing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from telegram import Bot

from bot.delivery.http import AiohttpRequest
from bot.delivery.pacing import PAID_RATE, PacedRequest, Pacer
from bot.delivery.posts import album, file_part
from bot.delivery.sender import Sender, send_in_turn
from bot.delivery.turns import BroadcastTurn
from bot.preview.local_api import LocalBotAPI, LocalRequest
from bot.storage import Outcome, Storage
from bot.storage.sealing import sealer_of

from .conftest import ADMIN, FAST_SENDER, fast_pacer, until
from .fake_telegram import TOKEN, FakeTelegram

PEOPLE = [2001, 2002, 2003, 2004]
GROUP, NEW_GROUP = -500, -1009999


@pytest.fixture
async def api() -> LocalBotAPI:
    """The local Bot API with the organizer's status message already sent."""
    local = LocalBotAPI()
    await local.call("sendMessage", {"chat_id": ADMIN, "text": "status"})
    return local


@contextlib.asynccontextmanager
async def sending(storage: Storage, bot: Bot, **options: object) -> AsyncIterator[Sender]:
    """Run a sender in the background for the duration of the block, pacing as its bot does."""
    assert isinstance(bot.request, PacedRequest)
    options = {**FAST_SENDER, "pacer": bot.request.pacer, **options}
    sender = Sender(bot, storage, **options)  # type: ignore[arg-type]
    task = asyncio.create_task(sender.run())
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def queue(storage: Storage, chats: list[int], parts: list[str] | None = None) -> int:
    """Subscribe the chats and queue a confirmed broadcast to them; return its id."""
    for chat in chats:
        await storage.subscribe(chat, "rafah", chat_type="private" if chat > 0 else "group")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", parts or ["news"], ADMIN)
    assert await storage.start_broadcast(broadcast_id, ADMIN, 1) == len(chats)
    return broadcast_id


async def finished(api: LocalBotAPI, broadcast_id: int) -> None:
    """Wait until the sender reports the broadcast finished in the organizer's status message."""

    def reported() -> bool:
        status = str(api.messages[(ADMIN, 1)]["text"])
        return status.startswith(f"✅ Broadcast #{broadcast_id} ") and "finished" in status

    await until(reported, f"broadcast {broadcast_id} is reported finished")


def local_bot(api: LocalBotAPI, pacer: Pacer | None = None) -> Bot:
    """Return a bot talking to the local Bot API through the paced transport."""
    return Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer or fast_pacer()))


async def test_every_recipient_gets_every_part_in_order(
    storage: Storage, api: LocalBotAPI
) -> None:
    """Each recipient gets all parts, in order, and the organizer gets the final report."""
    broadcast_id = await queue(storage, [*PEOPLE, GROUP], ["part one", "part two"])
    sent = REGISTRY.get_sample_value("solidarity_broadcast_deliveries_total", {"outcome": "sent"})
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    counted = REGISTRY.get_sample_value(
        "solidarity_broadcast_deliveries_total", {"outcome": "sent"}
    )
    assert counted == (sent or 0) + 5
    assert REGISTRY.get_sample_value("solidarity_broadcast_recipients_left") == 0
    for chat in [*PEOPLE, GROUP]:
        assert api.texts_to(chat) == ["part one", "part two"]
    report = api.texts_to(ADMIN)[0]
    assert "finished in under a second. Recipients: 5" in report
    assert "sent 5 · blocked 0 · failed 0" in report


async def test_retry_after_pauses_everything_then_retries(
    storage: Storage, api: LocalBotAPI
) -> None:
    """A 429 pauses all sending for the time Telegram asks, then the message goes out."""
    broadcast_id = await queue(storage, PEOPLE)
    api.fail_next(429, "Too Many Requests: retry after 1", {"retry_after": 1}, chat_id=PEOPLE[0])
    started = time.monotonic()
    paced = fast_pacer(rate=30.0, catch_up=0.0)  # no catch-up burst at the start: 33 ms apart
    async with local_bot(api, paced) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    assert time.monotonic() - started >= 1.0
    sends = api.calls_to("sendMessage")[1:]  # after the status message
    [refused] = [call for call in sends if call.error == 429]
    after = sorted(call.at - refused.at for call in sends if call.at > refused.at)
    assert len(after) == 4  # the refused message again, and the other three
    # Nothing new starts while Telegram asks to wait; at most one send already on its way
    # when the answer came (paced at 30/s, sends are 33 ms apart) goes out.
    assert all(delay >= 0.99 for delay in after[1:])
    assert after[0] >= 0.99 or after[0] < 0.05
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.sent, progress.failed) == (4, 0)
    assert all(api.texts_to(chat) == ["news"] for chat in PEOPLE)


async def test_forbidden_marks_the_chat_blocked_and_skips_it_next_time(
    storage: Storage, api: LocalBotAPI
) -> None:
    """A 403 ends that recipient as blocked, and the next broadcast does not include it."""
    api.blocked.add(PEOPLE[1])
    first = await queue(storage, PEOPLE)
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, first)
        progress = await storage.progress(first)
        assert progress is not None
        assert (progress.sent, progress.blocked) == (3, 1)
        assert not await storage.is_subscribed(PEOPLE[1], "rafah")
        second = await storage.create_broadcast("rafah", "broadcast", ["again"], ADMIN)
        assert await storage.start_broadcast(second, ADMIN, 1) == 3
        await finished(api, second)
    assert api.texts_to(PEOPLE[1]) == []


async def test_migrated_group_gets_it_at_its_new_id(storage: Storage, api: LocalBotAPI) -> None:
    """A group that became a supergroup is moved and gets the message at its new id."""
    api.migrated[GROUP] = NEW_GROUP
    broadcast_id = await queue(storage, [GROUP])
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    assert api.texts_to(NEW_GROUP) == ["news"]
    assert await storage.is_subscribed(NEW_GROUP, "rafah")
    assert not await storage.is_subscribed(GROUP, "rafah")


async def test_bad_request_is_recorded_for_that_recipient(
    storage: Storage, api: LocalBotAPI
) -> None:
    """A 400 fails only that recipient, with Telegram's reason kept."""
    api.bad_request[PEOPLE[0]] = "chat not found"
    broadcast_id = await queue(storage, PEOPLE)
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.sent, progress.failed) == (3, 1)
    async with storage.engine.connect() as connection:
        from sqlalchemy import text

        errors = (
            await connection.execute(
                text("SELECT chat_id, error FROM deliveries WHERE status = 'failed'")
            )
        ).all()
    unseal = sealer_of(storage.engine.sync_engine.dialect).unseal
    assert [(unseal(chat), error) for chat, error in errors] == [(PEOPLE[0], "Chat not found")]


async def test_network_errors_are_retried_then_given_up(
    storage: Storage, api: LocalBotAPI
) -> None:
    """Two server errors are retried through; a persistent one ends as failed with its reason."""
    broadcast_id = await queue(storage, PEOPLE[:1])
    api.fail_next(502, "Bad Gateway", times=2, chat_id=PEOPLE[0])
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    assert api.texts_to(PEOPLE[0]) == ["news"]
    second = await storage.create_broadcast("rafah", "broadcast", ["again"], ADMIN)
    await storage.start_broadcast(second, ADMIN, 1)
    api.fail_next(502, "Bad Gateway", times=10, chat_id=PEOPLE[0])
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, second)
    progress = await storage.progress(second)
    assert progress is not None
    assert (progress.sent, progress.failed) == (0, 1)


async def test_restart_mid_broadcast_resumes_without_losing_anyone(storage: Storage) -> None:
    """Stopping the sender mid-broadcast and starting a new one delivers to everyone, once."""
    people = list(range(3000, 3060))
    async with FakeTelegram() as telegram:
        await telegram.api.call("sendMessage", {"chat_id": ADMIN, "text": "status"})
        telegram.latency = 0.01
        broadcast_id = await queue(storage, people)
        request = PacedRequest(AiohttpRequest(), fast_pacer(rate=100.0))
        async with Bot(TOKEN, base_url=f"{telegram.url}/bot", request=request) as bot:
            async with sending(storage, bot):
                # Stop it a few messages in (waiting on what arrived, not on the clock, which
                # a busy machine stretches).
                await until(
                    lambda: sum(map(len, map(telegram.api.texts_to, people))) >= 5,
                    "a few messages are out",
                )
            progress = await storage.progress(broadcast_id)
            assert progress is not None
            assert 0 < progress.sent < len(people)
            async with sending(storage, bot):
                await finished(telegram.api, broadcast_id)
    counts = [len(telegram.api.texts_to(chat)) for chat in people]
    assert counts == [1] * len(people)


async def test_crash_leftovers_are_resent_and_reported_as_uncertain(
    storage: Storage, api: LocalBotAPI
) -> None:
    """Recipients a crash left in flight are sent on restart, and the report says how many."""
    broadcast_id = await queue(storage, PEOPLE)
    # What a killed process leaves behind: three claimed, two of them handed to Telegram.
    claimed = [job.delivery_id for job in await storage.claim_jobs(3)]
    assert len(await storage.mark_sending(claimed[:2])) == 2
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    assert all(api.texts_to(chat) == ["news"] for chat in PEOPLE)
    report = api.texts_to(ADMIN)[0]
    assert "sent 4 · blocked 0 · failed 0" in report
    assert "2 were in flight when the bot restarted" in report


async def test_a_429_on_a_status_edit_pauses_the_broadcast_too(
    storage: Storage, api: LocalBotAPI
) -> None:
    """A 429 on the organizer's status edit holds every send for retry_after; none is lost."""
    broadcast_id = await queue(storage, PEOPLE)
    api.fail_next(429, "Too Many Requests: retry after 1", {"retry_after": 1}, chat_id=ADMIN)
    paced = fast_pacer(rate=30.0, catch_up=0.0)
    async with local_bot(api, paced) as bot, sending(storage, bot, progress_interval=0.0):
        await finished(api, broadcast_id)
    [refused] = [call for call in api.calls if call.error == 429]
    assert refused.method == "editMessageText"
    later = [call for call in api.calls_to("sendMessage") if call.at > refused.at]
    assert all(call.at - refused.at >= 0.99 for call in later[1:])
    assert all(api.texts_to(chat) == ["news"] for chat in PEOPLE)


async def test_outcomes_are_final_for_everyone(storage: Storage, api: LocalBotAPI) -> None:
    """With a mix of answers, every recipient ends sent, blocked or failed: none pending."""
    api.blocked.add(PEOPLE[0])
    api.bad_request[PEOPLE[1]] = "message is too long"
    broadcast_id = await queue(storage, PEOPLE)
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.sent, progress.blocked, progress.failed, progress.total) == (2, 1, 1, 4)
    assert await storage.claim_jobs(10) == []


async def test_timeouts_are_retried_a_bounded_number_of_times(storage: Storage) -> None:
    """A Bot API that never answers in time: a few retries, then failed with the reason."""
    from telegram.request import HTTPXRequest

    async with FakeTelegram() as telegram:
        await telegram.api.call("sendMessage", {"chat_id": ADMIN, "text": "status"})
        broadcast_id = await queue(storage, PEOPLE[:1])
        request = PacedRequest(HTTPXRequest(read_timeout=0.1), fast_pacer())
        async with Bot(TOKEN, base_url=f"{telegram.url}/bot", request=request) as bot:
            telegram.latency = 0.5  # from now on every message comes too late
            telegram.slow_methods = {"sendMessage"}
            async with sending(storage, bot):
                await until(
                    lambda: telegram.received.count("sendMessage") >= 4, "four attempts", 10
                )
                telegram.latency = 0.0
                await finished(telegram.api, broadcast_id)
    assert telegram.received.count("sendMessage") == 4  # one try and three retries
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.sent, progress.failed) == (0, 1)
    async with storage.engine.connect() as connection:
        from sqlalchemy import text

        [error] = (await connection.execute(text("SELECT error FROM deliveries"))).scalars()
    assert error.startswith("network: Timed out")


async def test_group_subscribed_under_both_ids_gets_it_once(
    storage: Storage, api: LocalBotAPI
) -> None:
    """A group subscribed before and after its migration gets one copy, and nothing sticks."""
    api.migrated[GROUP] = NEW_GROUP
    broadcast_id = await queue(storage, [GROUP, NEW_GROUP])
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    assert api.texts_to(NEW_GROUP) == ["news"]
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.total, progress.sent, progress.state) == (1, 1, "done")
    assert await storage.claim_jobs(10) == []


async def test_a_broadcast_send_uses_the_slot_its_sender_took() -> None:
    """An answer books its own slot; a broadcast's send, whose sender took one, books none."""
    api = LocalBotAPI()
    pacer = Pacer(rate=10.0, catch_up=0.0, chat_interval=0.0)
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        started = time.monotonic()
        await bot.send_message(PEOPLE[0], "an answer")
        await bot.get_me()  # puts nothing in a chat: not paced
        assert pacer.free.next_slot == pytest.approx(started + 0.1, abs=0.05)
        turn = BroadcastTurn(pacer)
        await turn.take()  # the sender's, before it starts the delivery
        booked = pacer.free.next_slot
        with turn.sending():
            await bot.send_message(PEOPLE[1], "a broadcast")
        assert pacer.free.next_slot == booked


async def test_each_message_takes_one_slot_also_when_its_chat_made_it_wait(
    storage: Storage,
) -> None:
    """Each message of a broadcast takes one overall slot (an album one per item), also when
    its chat's pace made it wait; a slot its sender took before such a wait went by meanwhile,
    and a fresh one is taken."""
    api = LocalBotAPI()
    now = 1000.0  # a clock that stands still: the lane's bookings count the slots taken
    pacer = Pacer(rate=1000.0, catch_up=0.0, chat_interval=0.02, chat_burst=1, clock=lambda: now)

    def slots() -> int:
        return round((pacer.free.next_slot - now) * pacer.free.rate)

    photos = album([file_part("photo", "poster-1"), file_part("photo", "poster-2")])
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        turn = BroadcastTurn(pacer)
        await turn.take()  # the sender's, before it starts the delivery
        for part in ["one", photos, "three"]:  # the second and third wait for the chat
            assert await send_in_turn(bot, turn, storage, PEOPLE[0], part) == (Outcome.SENT, None)
        assert slots() == 4
        turn = BroadcastTurn(pacer)  # the next broadcast, to the same chat
        await turn.take()
        assert await send_in_turn(bot, turn, storage, PEOPLE[0], "four") == (Outcome.SENT, None)
        assert slots() == 6
    assert len(api.sent_to(PEOPLE[0])) == 5


async def test_paid_broadcasts_ask_telegram_for_paid_delivery(
    storage: Storage, api: LocalBotAPI
) -> None:
    """With paid broadcasts on, every broadcast message carries allow_paid_broadcast."""
    assert Sender(local_bot(api), storage, pacer=Pacer(), paid=True).rate == PAID_RATE
    broadcast_id = await queue(storage, PEOPLE)
    async with local_bot(api) as bot, sending(storage, bot, paid=True):
        await finished(api, broadcast_id)
    sends = [c for c in api.calls_to("sendMessage") if c.params["chat_id"] in PEOPLE]
    assert len(sends) == len(PEOPLE)
    assert all(c.params["allow_paid_broadcast"] in (True, "true") for c in sends)


async def test_free_broadcasts_do_not_ask_for_paid_delivery(
    storage: Storage, api: LocalBotAPI
) -> None:
    broadcast_id = await queue(storage, PEOPLE[:1])
    async with local_bot(api) as bot, sending(storage, bot):
        await finished(api, broadcast_id)
    [send] = [c for c in api.calls_to("sendMessage") if c.params["chat_id"] == PEOPLE[0]]
    assert "allow_paid_broadcast" not in send.params
