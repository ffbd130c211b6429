"""The one outgoing path: Telegram's three limits, answers first, 429s and blips ridden out."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.delivery.http import Unreachable
from bot.delivery.pacing import PacedRequest, Pacer
from bot.delivery.turns import BroadcastTurn
from bot.preview.local_api import LocalBotAPI, LocalRequest

from .conftest import ANA, BEN, GROUP, until
from .fake_telegram import TOKEN

RETRY_AFTER_1 = ("Too Many Requests: retry after 1", {"retry_after": 1})


async def test_broadcast_slots_are_spaced_at_the_rate() -> None:
    """At 50 a second, 26 broadcast slots take at least half a second."""
    pacer = Pacer(rate=50.0, catch_up=0.0)
    started = time.monotonic()
    for _ in range(26):
        await pacer.broadcast_slot()
    assert time.monotonic() - started >= 0.49


def test_a_late_caller_catches_up_a_bounded_number_of_slots() -> None:
    """After a stall, at most `catch_up` seconds of slots are due at once, then the rate."""
    now = 1000.0
    pacer = Pacer(rate=30.0, catch_up=0.1)
    slots = [pacer.free.take(now, 0.0) for _ in range(10)]
    assert len([slot for slot in slots if slot <= now]) == 4  # 3 caught up plus this one
    assert slots[-1] - slots[0] == pytest.approx(9 / 30)


async def test_answers_go_before_a_broadcast_already_waiting() -> None:
    """Answers booked while a broadcast waits for its slot all go out before it."""
    pacer = Pacer(rate=10.0, catch_up=0.0, chat_interval=0.0)
    await pacer.broadcast_slot()
    order: list[str] = []

    async def slot(name: str, waiting: asyncio.Future[None]) -> None:
        await waiting
        order.append(name)

    broadcast = asyncio.create_task(
        slot("broadcast", asyncio.ensure_future(pacer.broadcast_slot()))
    )
    await asyncio.sleep(0)  # the broadcast is waiting now
    answers = [
        asyncio.create_task(slot(f"answer {n}", asyncio.ensure_future(pacer.answer_slot(n))))
        for n in (ANA, BEN, ANA + 7)
    ]
    await asyncio.gather(broadcast, *answers)
    assert order == ["answer 1001", "answer 1002", "answer 1008", "broadcast"]


def test_a_private_chat_gets_a_burst_of_two_then_one_a_second() -> None:
    """A person's chat: two messages at once, then one a second; another chat is not held."""
    pacer = Pacer()
    now = 1000.0
    assert [pacer._book_chat(ANA, now) for _ in range(4)] == [now, now, now + 1, now + 2]
    assert pacer._book_chat(BEN, now) == now
    assert pacer._book_chat(ANA, now + 10) == now + 10  # rested


def test_a_group_gets_twenty_a_minute() -> None:
    """The 21st message to one group waits until the first is a window old; others do not."""
    pacer = Pacer()
    turns = [pacer._book_group(GROUP, 1000.0 + second) for second in range(20)]
    assert turns == [1000.0 + second for second in range(20)]
    assert pacer._book_group(GROUP, 1020.0) == pytest.approx(1000.0 + 61.0)
    assert pacer._book_group(GROUP, 1020.0) == pytest.approx(1001.0 + 61.0)
    assert pacer._book_group(GROUP - 1, 1020.0) == 1020.0


async def test_chat_turns_hold_a_quick_reader_to_one_a_second() -> None:
    """Five answers to one person take at least three seconds (a burst of two, then 1/s)."""
    api = LocalBotAPI()
    pacer = Pacer(chat_interval=0.2)  # a fifth of the time, the same shape
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        started = time.monotonic()
        for n in range(5):
            await bot.send_message(ANA, f"part {n}")
    assert time.monotonic() - started >= 0.6 - 0.01
    assert api.texts_to(ANA) == [f"part {n}" for n in range(5)]


async def test_a_429_on_any_call_pauses_everything_and_is_tried_again() -> None:
    """A 429 on an answer pauses the other sends too; both arrive after retry_after."""
    api = LocalBotAPI()
    api.fail_next(429, *RETRY_AFTER_1, chat_id=ANA)
    pacer = Pacer(chat_interval=0.0)
    counted = counts()
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        started = time.monotonic()
        refused = asyncio.create_task(bot.send_message(ANA, "first"))
        await asyncio.sleep(0.05)
        await bot.send_message(BEN, "second")
        assert time.monotonic() - started >= 0.99
        await refused
    assert api.texts_to(ANA) == ["first"]
    assert api.texts_to(BEN) == ["second"]
    assert [now - then for now, then in zip(counts(), counted, strict=True)] == [2, 1, 1]


def counts() -> tuple[float, float, float]:
    """Return the metrics of answers sent, answers refused (429), and retries after a 429."""
    sent = REGISTRY.get_sample_value(
        "solidarity_messages_sent_total", {"method": "sendMessage", "lane": "answer"}
    )
    refused = REGISTRY.get_sample_value("solidarity_telegram_429_total", {"lane": "answer"})
    retried = REGISTRY.get_sample_value("solidarity_telegram_retries_total", {"reason": "429"})
    return sent or 0.0, refused or 0.0, retried or 0.0


async def test_callback_answers_are_tried_again_after_a_429() -> None:
    """answerCallbackQuery answered 429 waits it out and goes through (not dropped)."""

    class RefuseOnce(LocalRequest):
        refused = False

        async def do_request(self, url: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
            if url.endswith("answerCallbackQuery") and not self.refused:
                self.refused = True
                return 429, b'{"ok":false,"error_code":429,"parameters":{"retry_after":1}}'
            return await super().do_request(url, *args, **kwargs)  # type: ignore[arg-type]

    api = LocalBotAPI()
    request = RefuseOnce(api)
    async with Bot(TOKEN, request=PacedRequest(request, Pacer())) as bot:
        started = time.monotonic()
        assert await bot.answer_callback_query("query-1", "Noted")
    assert request.refused
    assert time.monotonic() - started >= 0.99
    assert len(api.calls_to("answerCallbackQuery")) == 1


async def test_a_network_blip_is_tried_again_and_a_long_outage_reaches_the_caller() -> None:
    """Telegram out of reach: tried again on the retry delays, then the caller is told."""

    class Refusing(LocalRequest):
        failures, limit = 0, 2

        async def do_request(self, url: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
            if url.endswith("sendMessage") and self.failures < self.limit:
                self.failures += 1
                raise Unreachable("connection refused")
            return await super().do_request(url, *args, **kwargs)  # type: ignore[arg-type]

    api = LocalBotAPI()
    request = Refusing(api)
    pacer = Pacer(network_retry_delays=(0.01, 0.01, 0.01))
    async with Bot(TOKEN, request=PacedRequest(request, pacer)) as bot:
        await bot.send_message(ANA, "through the blip")
        assert api.texts_to(ANA) == ["through the blip"]
        request.failures, request.limit = 0, 10
        with pytest.raises(NetworkError):
            await bot.send_message(BEN, "never")
    assert request.failures == 4  # one try and three retries


def test_chats_at_rest_are_forgotten() -> None:
    """Past 10,000 chats, those whose pace is back to rest are dropped; busy ones are kept."""
    pacer = Pacer()
    for chat in range(1, 10_001):
        pacer._book_chat(chat, 1000.0)
    pacer._book_group(GROUP, 1000.0)
    pacer._book_chat(ANA, 1000.5)  # booked just now: not at rest at 1001.2
    pacer._book_chat(10_001, 1001.2)  # one more: the others are at rest by now
    assert set(pacer._chats) == {ANA, 10_001}
    assert set(pacer._groups) == {GROUP}  # 20 a minute: its sends are kept for the minute


class TimesOutOnce(LocalRequest):
    """The local Bot API, whose first sendMessage times out after Telegram took it."""

    timed_out = False

    async def do_request(self, url: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
        answer = await super().do_request(url, *args, **kwargs)  # type: ignore[arg-type]
        if url.endswith("sendMessage") and not self.timed_out:
            self.timed_out = True
            raise TimedOut("the answer came too late")
        return answer


async def test_an_answer_that_timed_out_is_not_sent_twice_but_a_broadcast_is_retried() -> None:
    """A late reply: the answer (most likely delivered) is not sent again; a broadcast's is."""
    api = LocalBotAPI()
    pacer = Pacer(chat_interval=0.0, network_retry_delays=(0.01,))
    async with Bot(TOKEN, request=PacedRequest(TimesOutOnce(api), pacer)) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(ANA, "an answer")
        assert api.texts_to(ANA) == ["an answer"]  # it did arrive, once
    async with Bot(TOKEN, request=PacedRequest(TimesOutOnce(api), pacer)) as bot:
        turn = BroadcastTurn(pacer)
        await turn.take()
        with turn.sending():
            await bot.send_message(BEN, "a broadcast")
    assert api.texts_to(BEN) == ["a broadcast", "a broadcast"]  # the price of not missing it


async def test_a_broadcast_send_waits_out_a_pause_that_began_after_its_slot() -> None:
    """A slot taken before a 429 does not let a broadcast's send out during the pause."""
    api = LocalBotAPI()
    pacer = Pacer(chat_interval=0.0)
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        turn = BroadcastTurn(pacer)
        await turn.take()
        await pacer.pause(0.5)
        started = time.monotonic()
        with turn.sending():
            await bot.send_message(ANA, "after the pause")
    assert time.monotonic() - started >= 0.45


async def test_a_broadcasts_retry_after_a_429_takes_a_fresh_slot_behind_the_answers() -> None:
    """The slot a broadcast's sender took serves its first try only: refused with a 429, it
    is tried again in a new slot, after the answers that waited through the pause."""
    api = LocalBotAPI()
    api.fail_next(429, *RETRY_AFTER_1, chat_id=BEN)
    pacer = Pacer(rate=10.0, catch_up=0.0, chat_interval=0.0)
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        turn = BroadcastTurn(pacer)
        await turn.take()

        async def broadcast() -> None:
            with turn.sending():
                await bot.send_message(BEN, "a broadcast")

        sending = asyncio.create_task(broadcast())
        await until(lambda: bool(api.calls_to("sendMessage")), "the broadcast is refused")
        answers = [asyncio.create_task(bot.send_message(ANA, f"answer {n}")) for n in range(3)]
        await asyncio.gather(sending, *answers)
    tries = api.calls_to("sendMessage")
    assert [call.params["chat_id"] for call in tries] == [BEN, ANA, ANA, ANA, BEN]
    assert tries[0].error == 429
    assert tries[-1].at - tries[0].at >= 0.99
    assert api.texts_to(BEN) == ["a broadcast"]


async def test_the_paid_lane_does_not_wait_for_a_free_broadcast() -> None:
    """A reminder waiting behind answers on the free lane does not hold paid broadcasts."""
    pacer = Pacer(rate=10.0, chat_interval=0.0)
    for _ in range(20):  # two seconds of answers booked on the free lane
        pacer.free.take(time.monotonic(), 0.0)
    waiting = asyncio.create_task(pacer.broadcast_slot())
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await pacer.broadcast_slot(paid=True)
    assert time.monotonic() - started < 0.1
    assert not waiting.done()
    waiting.cancel()


async def test_stopping_ends_pauses_and_retries() -> None:
    """A bot that stops is not held by a 30 s pause: the waiting answer goes at once."""
    api = LocalBotAPI()
    pacer = Pacer(chat_interval=0.0)
    async with Bot(TOKEN, request=PacedRequest(LocalRequest(api), pacer)) as bot:
        await pacer.pause(30.0)
        waiting = asyncio.create_task(bot.send_message(ANA, "on the way out"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        started = time.monotonic()
        pacer.stop()
        await waiting
    assert time.monotonic() - started < 1.0
    assert api.texts_to(ANA) == ["on the way out"]
