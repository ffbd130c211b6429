"""The one outgoing path: every call that puts something in a chat waits its turn under
Telegram's limits, and 429s and network blips are waited out and tried again, never dropped.

Telegram's limits (core.telegram.org/bots/faq, "My bot is hitting limits"): about 30 messages a
second overall, about one a second in a private chat (short bursts pass), 20 a minute in a
group; past them it answers 429 with `retry_after`. Bots that enable paid broadcasts may send
up to 1,000 a second with allow_paid_broadcast, a lane of its own.

Answers to people come first, in an order a crowd needs (issue 20): an organizer's answer,
then each person's first answer, then later answers, then broadcasts, which fill what answers
leave. The free lane's slots are given out one at a time, each to the first in that order who
waits for one when it comes, so an organizer's answer overtakes a queue of thousands.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import heapq
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot import metrics
from bot.delivery.http import Unreachable, WrappedRequest
from bot.delivery.turns import BroadcastTurn, broadcast_turn, queued
from bot.storage.shared_pace import SharedPace

logger = logging.getLogger(__name__)

FREE_RATE = 30.0
PAID_RATE = 1000.0
GROUP_PER_MINUTE = 20
# Telegram counts a group's minute from when a message arrives, we from when it leaves: a
# second more keeps a message that travelled faster than the one 20 before it inside the limit.
GROUP_WINDOW = 61.0
# One a second in a private chat, and a second message at once: an answer of two parts (a
# statement and its menu) is not held back. Telegram lets short bursts of a few through.
CHAT_INTERVAL = 1.0
CHAT_BURST = 2
MAX_RETRY_AFTER = 5  # 429s for one call before its caller is told
# Waits between tries of one call when Telegram cannot be reached: growing to 30 s, then
# every 30 s, about 10 minutes in all before the call fails. A network outage shorter than
# that delays what the bot says and loses none of it.
NETWORK_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0) + (30.0,) * 18
_FORGET_AFTER = 10_000  # chats whose pace is kept before those at rest are forgotten

# Methods that put something in a chat (or take it out): paced, and tried again through
# network blips. Not deleteWebhook or deleteMyCommands: they touch no chat.
_PACED_PREFIXES = ("send", "copy", "forward", "edit", "deletemessage")
# Methods that take allow_paid_broadcast (Telegram's paid lane): sends and copies, not edits.
_PAYABLE_PREFIXES = ("send", "copy")
# Methods that answer a person without a chat message: not paced, but tried again the same way.
_ANSWERS = frozenset({"answercallbackquery", "answerinlinequery"})


class Kind(IntEnum):
    """Who a free-lane slot is for, in the order slots are given."""

    ORGANIZER = 0  # an answer to an organizer
    FIRST = 1  # a person's first answer, and what the bot says of itself (reminders, reports)
    LATER = 2  # every further answer
    BROADCAST = 3


@dataclass
class Answering:
    """The update whose answers are being sent: its kind, and how many went already."""

    kind: Kind
    sends: int = 0

    def next_kind(self) -> Kind:
        """Return the kind of the next answer: an update's first is FIRST, the rest LATER."""
        kind = self.kind if self.sends == 0 or self.kind == Kind.ORGANIZER else Kind.LATER
        self.sends += 1
        return kind


_answering: contextvars.ContextVar[Answering | None] = contextvars.ContextVar(
    "answering", default=None
)


@contextlib.contextmanager
def answering(kind: Kind) -> Iterator[Answering]:
    """Give the sends in this block (one update's answers) the slots of `kind`."""
    current = Answering(kind)
    token = _answering.set(current)
    try:
        yield current
    finally:
        _answering.reset(token)


def answer_kind() -> Kind:
    """Return the kind of the answer about to be sent (FIRST outside an update's answers)."""
    current = _answering.get()
    return Kind.FIRST if current is None else current.next_kind()


async def _no_budget() -> bool:
    return False


@dataclass(order=True)
class _Waiter:
    kind: Kind
    seq: int
    since: float
    granted: asyncio.Future[bool]


class Lane:
    """Evenly spaced send slots at `rate`; a late caller may catch up `catch_up` s of them."""

    def __init__(self, rate: float, catch_up: float) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self.catch_up = catch_up
        self.next_slot = 0.0

    def take(self, now: float, not_before: float) -> float:
        """Book the next slot at or after `not_before`; return its time (maybe in the past)."""
        slot = max(self.next_slot, now - self.catch_up, not_before)
        self.next_slot = slot + self.interval
        return slot


class Pacer:
    """Telegram's three limits for one bot, and a pause for every send after a 429.

    A caller that fell behind (a slow database call, a busy event loop) may catch up by at most
    `catch_up` seconds of sends at once, well inside Telegram's burst allowance.
    """

    def __init__(
        self,
        rate: float = FREE_RATE,
        *,
        paid_rate: float = PAID_RATE,
        chat_interval: float = CHAT_INTERVAL,
        chat_burst: int = CHAT_BURST,
        group_per_minute: int = GROUP_PER_MINUTE,
        group_window: float = GROUP_WINDOW,
        catch_up: float = 0.1,
        network_retry_delays: tuple[float, ...] = NETWORK_RETRY_DELAYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = Lane(rate, catch_up)
        self.paid = Lane(paid_rate, catch_up)
        self.chat_interval = chat_interval
        self.chat_tolerance = chat_interval * (chat_burst - 1)
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.network_retry_delays = network_retry_delays
        self.clock = clock
        self.shared: SharedPace | None = None  # the free lane, shared by several processes
        self._paused_until = 0.0
        self._chats: dict[int, float] = {}  # private chat -> when its pace is back to rest
        self._groups: dict[int, collections.deque[float]] = {}  # group -> its last sends
        # One broadcast waits at a time in each lane (the others queue on its lock): no crowd
        # of sleepers waking at every slot to find it booked.
        self._turns = {False: asyncio.Lock(), True: asyncio.Lock()}
        self._stopping = asyncio.Event()
        self._forget_at = _FORGET_AFTER  # chats kept before those at rest are forgotten
        # Who waits for a free-lane slot, first in order on top; one task gives out the slots.
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()
        self._someone = asyncio.Event()
        self._granter: asyncio.Task[None] | None = None
        # Answers waiting longer than this take the paid lane, while `paid_budget` allows.
        self.paid_after: float | None = None
        self.paid_budget: Callable[[], Awaitable[bool]] = _no_budget

    def lane(self, *, paid: bool) -> Lane:
        """Return the lane broadcasts take: the paid one, or the free one answers share."""
        return self.paid if paid else self.free

    def share(self, engine: AsyncEngine) -> SharedPace:
        """Book the free lane in this PostgreSQL database, with every other process on it."""
        self.shared = SharedPace(engine, self.free.rate, self.free.catch_up)
        return self.shared

    async def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (every process's, when shared), as a 429 asks."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)
        if self.shared is not None:
            await self.shared.pause(seconds)

    def stop(self) -> None:
        """The bot is stopping: end pauses and give up retries, so that nothing holds it."""
        self._stopping.set()

    def resume(self) -> None:
        """The bot is starting (again): wait and retry as usual."""
        self._stopping.clear()

    @property
    def stopping(self) -> bool:
        """Tell whether the bot is stopping."""
        return self._stopping.is_set()

    async def rest(self, seconds: float) -> None:
        """Sleep `seconds`, or until the bot stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # not wait_for: it can lose a cancel (3.11)
                await self._stopping.wait()

    def paused_for(self) -> float:
        """Return how long every send is still held (0 or less: not held)."""
        return self._paused_until - self.clock()

    async def wait_out_pause(self) -> None:
        """Return once no pause holds sends (for calls that are not paced themselves)."""
        # A loop: the pause may grow while we wait (another 429).
        while (left := self.paused_for()) > 0 and not self.stopping:
            await self.rest(left)

    async def answer_slot(
        self,
        chat_id: int | None,
        messages: int = 1,
        kind: Kind = Kind.FIRST,
        *,
        may_pay: bool = False,
    ) -> bool:
        """Wait for the chat's turn, then for a free-lane slot in `kind`'s order (an album's
        `messages` all count in the chat's pace). Return True if the answer is to go in the
        paid lane instead: it `may_pay`, waited longer than `paid_after`, and the budget
        allowed it."""
        await self.chat_turn(chat_id, messages)
        return await self._free_slot(kind, may_pay=may_pay)

    async def broadcast_slot(self, *, paid: bool = False) -> None:
        """Wait for a slot no answer wants, then take it."""
        async with self._turns[paid]:
            if not paid:
                await self._free_slot(Kind.BROADCAST)
                return
            while (wait := await self._take_if_free(paid=paid)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)

    def waiting(self) -> dict[Kind, tuple[int, float]]:
        """Return, per kind, how many wait for a free-lane slot and the oldest one's wait."""
        now = time.monotonic()
        found = {kind: (0, 0.0) for kind in Kind}
        for waiter in self._waiting:
            if not waiter.granted.done():
                count, oldest = found[waiter.kind]
                found[waiter.kind] = (count + 1, max(oldest, now - waiter.since))
        return found

    async def close(self) -> None:
        """Stop giving out slots (the bot has stopped)."""
        if self._granter is not None:
            self._granter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._granter
            self._granter = None

    async def _free_slot(self, kind: Kind, *, may_pay: bool = False) -> bool:
        """Wait until the granter gives this caller a free-lane slot; True: take a paid one."""
        granted = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, _Waiter(kind, next(self._order), time.monotonic(), granted))
        if self._granter is None or self._granter.done():
            self._granter = asyncio.create_task(self._grant(), name="free-lane")
        self._someone.set()
        paid_after = self.paid_after if may_pay and kind != Kind.BROADCAST else None
        try:
            if paid_after is None:
                await granted
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(paid_after):  # not wait_for: it can lose a cancel
                    await asyncio.shield(granted)
            if granted.done() or not await self.paid_budget():
                await granted
                return False
        except asyncio.CancelledError:
            granted.cancel()  # the granter passes over it (a slot given just now is lost)
            raise
        granted.cancel()  # no longer waiting in the free lane
        now = self.clock()
        wait = self.paid.take(now, self._paused_until) - now
        if wait > 0:
            await asyncio.sleep(wait)
        return True

    def _next_waiter(self) -> _Waiter | None:
        """Return the first in order still waiting (those who gave up are dropped)."""
        while self._waiting and self._waiting[0].granted.done():
            heapq.heappop(self._waiting)
        return self._waiting[0] if self._waiting else None

    async def _grant(self) -> None:
        """Give out the free lane's slots, one at a time, each to the first in order then."""
        while True:
            first = self._next_waiter()
            if first is None:
                self._someone.clear()
                await self._someone.wait()
                continue
            await self.wait_out_pause()  # booking a slot inside a pause would waste it
            wait = await self._book_free(broadcast=first.kind == Kind.BROADCAST)
            if wait is None:  # a broadcast's turn, but an answer elsewhere booked ahead
                await asyncio.sleep(0.005)
                continue
            if wait > 0:
                await asyncio.sleep(wait)
            # A pause that began while we slept holds this slot's send too.
            if self.paused_for() > 0 and not self.stopping:
                continue
            first = self._next_waiter()  # whoever is first now: an organizer may have come
            if first is not None:
                heapq.heappop(self._waiting)
                first.granted.set_result(True)

    async def _book_free(self, *, broadcast: bool) -> float | None:
        """Book the free lane's next slot: seconds until it, or None if a broadcast may not
        have it (when shared, answers of other processes booked ahead)."""
        if self.shared is not None:
            wait = await (self.shared.take_if_free() if broadcast else self.shared.book())
            if wait is not None:
                if broadcast and wait > 0:
                    return None
                return wait
        now = self.clock()
        return self.free.take(now, 0.0 if self.stopping else self._paused_until) - now

    async def _take_if_free(self, *, paid: bool) -> float:
        """Take a slot if none is booked ahead: 0, or how long until one may be free."""
        if self.paused_for() > 0:
            return self.paused_for()
        shared = await self.shared.take_if_free() if self.shared and not paid else None
        if shared is not None:
            return shared
        lane, now = self.lane(paid=paid), self.clock()
        if lane.next_slot > now:
            return lane.next_slot - now
        lane.take(now, self._paused_until)
        return 0.0

    async def chat_turn(self, chat_id: int | None, messages: int = 1) -> float:
        """Wait until the chat may get another message; return how long that was.

        An album of several `messages` goes when its first may, and the chat's next
        messages wait for the rest.
        """
        if chat_id is None:
            return 0.0
        now = self.clock()
        book = self._book_group if chat_id < 0 else self._book_chat
        turn = book(chat_id, now)
        for _more in range(messages - 1):
            book(chat_id, now)
        if turn <= now:
            return 0.0
        await asyncio.sleep(turn - now)
        return turn - now

    def _book_chat(self, chat_id: int, now: float) -> float:
        # GCRA: `rest` is when the chat's pace is back to rest; a message may go
        # chat_tolerance before it, which lets a short burst through.
        rest = max(self._chats.get(chat_id, now), now)
        self._chats[chat_id] = rest + self.chat_interval
        if len(self._chats) > self._forget_at:
            self._forget(now)
        return max(now, rest - self.chat_tolerance)

    def _book_group(self, chat_id: int, now: float) -> float:
        sends = self._groups.get(chat_id)
        if sends is None:
            if len(self._groups) > self._forget_at:
                self._forget(now)
            sends = self._groups[chat_id] = collections.deque(maxlen=self.group_per_minute)
        turn = now
        if len(sends) == self.group_per_minute:
            turn = max(now, sends[0] + self.group_window)  # 20 after the one 20 before
        sends.append(turn)
        return turn

    def _forget(self, now: float) -> None:
        """Drop the chats whose pace is back to rest; look again when twice as many remain."""
        self._chats = {chat: rest for chat, rest in self._chats.items() if rest > now}
        self._groups = {
            group: sends
            for group, sends in self._groups.items()
            if sends[-1] > now - self.group_window
        }
        self._forget_at = max(_FORGET_AFTER, 2 * max(len(self._chats), len(self._groups)))


class PacedRequest(WrappedRequest):
    """The bot's transport: the one path every call to Telegram takes.

    Calls that put something in a chat wait for their turn; a 429 on any call pauses them all
    for `retry_after` and the call is tried again; Telegram out of reach is tried again for
    about ten minutes. Only then is the caller told (PTB raises RetryAfter or NetworkError).
    """

    def __init__(self, inner: BaseRequest, pacer: Pacer) -> None:
        super().__init__(inner)
        self.pacer = pacer

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make the request in its turn, trying again through 429s and network blips."""
        api_method = url.rsplit("/", 1)[-1]
        name = api_method.lower()
        paced = name.startswith(_PACED_PREFIXES)
        retried = paced or name in _ANSWERS
        turn = broadcast_turn()
        lane = turn.lane if turn else ("answer" if paced else "unpaced")
        chat_id = _chat_of(request_data) if paced else None
        messages = _messages_of(request_data)
        kind = answer_kind() if lane == "answer" else Kind.BROADCAST
        delays = iter(self.pacer.network_retry_delays if retried else ())
        too_many = 0
        while True:
            paid = await self._wait_turn(
                turn,
                chat_id,
                paced=paced,
                messages=messages,
                kind=kind,
                may_pay=name.startswith(_PAYABLE_PREFIXES),
            )
            chat_id = None  # a retry takes a new slot, in the same chat turn
            # An answer that waited too long goes in the paid lane.
            data = with_paid_broadcast(request_data) if paid else request_data
            try:
                status, body = await self.inner.do_request(
                    url,
                    method,
                    data,
                    read_timeout,
                    write_timeout,
                    connect_timeout,
                    pool_timeout,
                )
                # A 5xx is Telegram's side failing for a moment (PTB raises NetworkError).
                failure = NetworkError(f"HTTP {status}") if status >= 500 else None
            except NetworkError as error:  # TimedOut and Unreachable included
                status, body, failure = 0, b"", error
            if failure is not None:
                delay = next(delays, None) if self._may_retry(failure, lane) else None
                if delay is None:
                    if status:
                        return status, body
                    raise failure
                await self._network_failed(failure, delay)
                continue
            if status == 429:
                metrics.TOO_MANY.labels(lane).inc()
                too_many += 1
                if too_many <= MAX_RETRY_AFTER and not self.pacer.stopping:
                    await self._too_many(api_method, body)
                    continue
            elif paced and status == 200:
                metrics.SENT.labels(api_method, "paid answer" if paid else lane).inc()
                if paid:
                    metrics.PAID_ANSWERS.inc()
            return status, body  # PTB raises for what is not 200: the caller decides

    async def _wait_turn(
        self,
        turn: BroadcastTurn | None,
        chat_id: int | None,
        *,
        paced: bool,
        messages: int = 1,
        kind: Kind = Kind.FIRST,
        may_pay: bool = False,
    ) -> bool:
        """Wait for the call's slot: a broadcast's from its turn, an answer's in `kind`'s
        order; a call that is not paced waits only for a pause to end. Return True if an
        answer is to go in the paid lane (only a send `may_pay`)."""
        if turn is not None:
            await turn.for_try()
            return False
        if not paced:
            await self.pacer.wait_out_pause()
            return False
        with queued("answer"):
            return await self.pacer.answer_slot(chat_id, messages, kind, may_pay=may_pay)

    def _may_retry(self, failure: NetworkError, lane: str) -> bool:
        """Tell whether a failed call may be made again without showing anything twice.

        An answer that timed out was most likely delivered, only its reply was late: it is
        not sent again. A broadcast's is (its recipient would otherwise miss it), as before.
        """
        if self.pacer.stopping:
            return False
        return not isinstance(failure, TimedOut) or lane in ("broadcast", "paid")

    async def _too_many(self, api_method: str, body: bytes) -> None:
        wait = _retry_after(body)
        logger.warning("Telegram asked to wait %.0f s (429 on %s); pausing", wait, api_method)
        metrics.RETRIES.labels("429").inc()
        await self.pacer.pause(wait)

    async def _network_failed(self, error: NetworkError, delay: float) -> None:
        if isinstance(error, Unreachable):
            metrics.RETRIES.labels("network").inc()
            # Telegram out of reach for one call is out of reach for all: hold them rather
            # than let every call in flight use up its tries at once.
            if self.pacer.paused_for() <= 0:
                logger.warning("cannot reach Telegram (%s); holding sends", error.message)
            await self.pacer.pause(delay)
            return
        # A timeout, a dropped connection, a 5xx: this call alone waits and tries again.
        metrics.RETRIES.labels("timeout" if isinstance(error, TimedOut) else "network").inc()
        await self.pacer.rest(delay)


def with_paid_broadcast(request_data: RequestData | None) -> RequestData | None:
    """Return the call's parameters with allow_paid_broadcast set (Telegram's paid lane)."""
    if request_data is None:
        return None
    # RequestData keeps its parameters in a private list and offers no way to add one.
    kept = [p for p in request_data._parameters if p.name != "allow_paid_broadcast"]
    return RequestData([*kept, RequestParameter("allow_paid_broadcast", True, None)])


def _chat_of(request_data: RequestData | None) -> int | None:
    """Return the numeric chat a call goes to, or None (a @username, an inline message)."""
    chat_id = request_data.parameters.get("chat_id") if request_data else None
    return chat_id if isinstance(chat_id, int) else None


def _messages_of(request_data: RequestData | None) -> int:
    """Return how many messages a call puts in its chat: an album's items, else one."""
    media = request_data.parameters.get("media") if request_data else None
    return len(media) if isinstance(media, list) else 1


def _retry_after(body: bytes) -> float:
    """Return the seconds a 429 answer asks to wait (1 if it does not say)."""
    try:
        seconds = json.loads(body)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return 1.0
    return float(seconds) if isinstance(seconds, int | float) else 1.0
