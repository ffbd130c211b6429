"""A fake Bot API over real HTTP that enforces Telegram's sending limits, and its own speed test.

Limits, as Telegram documents them (core.telegram.org/bots/faq, "My bot is hitting limits";
core.telegram.org/bots/api#sendmessage, allow_paid_broadcast):
- every send (sendMessage, sendDocument, copyMessage, forwardMessage, ...) takes a token from a
  bucket of 30 per second, burst 30;
- a send with allow_paid_broadcast=true takes from a bucket of 1000 per second, burst 1000,
  instead;
- a private chat (chat id > 0) takes a token from a bucket of its own, 1 per second, burst 3
  ("avoid sending more than one message per second", with short bursts let through);
- a group (chat id < 0) gets at most 20 messages in any 60 seconds.
Over a limit the answer is 429 with `retry_after` and nothing is recorded.

`python bench/telegram_limits.py` measures how many requests per second this fake answers, with a
load generator in a second process (aiohttp, form bodies, as the bot's transport sends them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from bot.preview.refusals import ApiError
from tests.fake_telegram import FakeTelegram, _params

FREE_RATE, PAID_RATE = 30.0, 1000.0
GROUP_PER_MINUTE = 20
CHAT_RATE, CHAT_BURST = 1.0, 3
_SEND_PREFIXES = ("send", "copy", "forward")
# Edits and deletions of messages count against the same limits here: Telegram does not say
# they are exempt, and the bot paces them as sends.
_PACED_PREFIXES = (*_SEND_PREFIXES, "edit", "deletemessage")
# What is kept of a message to a chat not watched: enough to edit or delete it later.
_SLIM = frozenset({"message_id", "date", "text", "caption"})
# How many recent calls the underlying fake keeps for inspection: enough to see the bot start,
# bounded so 100,000 sends do not fill the orchestrator's memory.
_KEPT_CALLS = 10_000


def is_send(method: str) -> bool:
    """Tell whether a Bot API method sends a message."""
    return method.lower().startswith(_SEND_PREFIXES)


def is_limited(method: str) -> bool:
    """Tell whether a Bot API method counts against the limits: a send, an edit, a delete."""
    return method.lower().startswith(_PACED_PREFIXES)


class TokenBucket:
    """Tokens refilled at `rate` per second up to `burst`; one per request."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def wait(self, now: float) -> float:
        """Return 0 if a token is there now, or how many seconds until one is."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float, count: int = 1) -> float:
        """Take `count` tokens if one is there (the rest owed); return 0, or how many seconds
        until one is available."""
        wait = self.wait(now)
        if wait == 0.0:
            self.tokens -= count
        return wait


class Limits:
    """Telegram's limits: an overall bucket, a paid-broadcast bucket, a bucket per private chat
    and a window per group."""

    def __init__(
        self,
        rate: float = FREE_RATE,
        paid_rate: float = PAID_RATE,
        group_per_minute: int = GROUP_PER_MINUTE,
        chat_rate: float = CHAT_RATE,
        chat_burst: int = CHAT_BURST,
    ) -> None:
        now = time.monotonic()
        self.free = TokenBucket(rate, rate, now)
        self.paid = TokenBucket(paid_rate, paid_rate, now)
        self.group_per_minute = group_per_minute
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self._groups: dict[int, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._chats: dict[int, TokenBucket] = {}

    def take(self, chat_id: int, *, paid: bool, now: float, count: int = 1) -> float:
        """Admit one send of `count` messages; return 0, or how many seconds to wait."""
        overall = self.paid if paid else self.free
        sends = self._groups[chat_id] if chat_id < 0 else None
        chat = self._chat(chat_id, now) if chat_id > 0 else None
        if sends is not None:
            while sends and now - sends[0] >= 60.0:
                sends.popleft()
            if len(sends) >= self.group_per_minute:
                return 60.0 - (now - sends[0])
        wait = max(overall.wait(now), chat.wait(now) if chat else 0.0)
        if wait > 0.0:
            return wait  # refused: no bucket pays for it
        overall.take(now, count)
        if chat is not None:
            chat.take(now, count)
        if sends is not None:
            sends.extend([now] * count)
        return 0.0

    def _chat(self, chat_id: int, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = TokenBucket(self.chat_rate, self.chat_burst, now)
        return bucket


def _too_many(wait: float) -> web.Response:
    seconds = max(1, math.ceil(wait))
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {seconds}",
        "parameters": {"retry_after": seconds},
    }
    return web.json_response(body, status=429)


def _messages_in(method: str, params: dict[str, Any]) -> int:
    """Return how many messages a send puts in the chat: an album's items, else one."""
    if method.lower() != "sendmediagroup":
        return 1
    media = params.get("media") or "[]"
    return len(json.loads(media) if isinstance(media, str) else media)


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id", 0))
    except ValueError:  # a channel's @username: not a group in our sense
        return 0


class LimitedTelegram(FakeTelegram):
    """The test suite's fake Bot API, with Telegram's limits, keeping only what a bench reads.

    Every successful send is indexed by its text (`by_text`: arrival time and chat); chats
    being watched (`watch`) also keep their messages in order (`by_chat`), and only theirs stay
    in the underlying LocalBotAPI, so that editing the organizer's status message still works.
    """

    def __init__(self, *, limits: Limits | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits or Limits()
        self.api.calls = collections.deque(maxlen=_KEPT_CALLS)  # type: ignore[assignment]
        self.received = collections.deque(maxlen=_KEPT_CALLS)  # type: ignore[assignment]
        self.requests: collections.Counter[str] = collections.Counter()
        self.too_many: collections.Counter[str] = collections.Counter()
        self.too_many_chats: collections.Counter[int] = collections.Counter()
        self.paid_sends = 0  # sends admitted in the paid lane (allow_paid_broadcast)
        self.by_text: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
        self.by_chat: dict[int, list[tuple[float, dict[str, Any]]]] = {}
        # Edits and deletions that succeeded, by (chat, message id): a count over 1 is a repeat.
        self.edits: collections.Counter[tuple[int, int]] = collections.Counter()
        self.deletions: collections.Counter[tuple[int, int]] = collections.Counter()
        self.changed_at: list[tuple[float, int]] = []  # each edit or deletion: when, which chat

    def watch(self, chat_id: int) -> None:
        """Keep every message sent to this chat, in order, in `by_chat`."""
        self.by_chat.setdefault(chat_id, [])

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if request.match_info["token"] != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        method = request.match_info["method"]
        params = await _params(request)
        self.requests[method] += 1
        send, limited = is_send(method), is_limited(method)
        chat_id = _chat_id(params) if limited else 0
        if limited:
            paid = str(params.get("allow_paid_broadcast", "")).lower() == "true"
            count = _messages_in(method, params)
            wait = self.limits.take(chat_id, paid=paid, now=arrived, count=count)
            if wait > 0.0:
                self.too_many[method] += 1
                self.too_many_chats[chat_id] += 1
                return _too_many(wait)
            self.paid_sends += paid
        if self.latency and (self.slow_methods is None or method in self.slow_methods):
            await asyncio.sleep(self.latency)
        try:
            result = await self.api.call(method, params)
        except ApiError as error:
            return web.json_response(error.to_json(), status=error.code)
        if send:
            for message in result if isinstance(result, list) else [result]:
                if isinstance(message, dict):
                    self._record(arrived, chat_id, message)
        elif limited:
            self._count_change(method, chat_id, params)
            self.changed_at.append((arrived, chat_id))
        return web.json_response({"ok": True, "result": result})

    def _count_change(self, method: str, chat_id: int, params: dict[str, Any]) -> None:
        name = method.lower()
        if name.startswith("edit") and "message_id" in params:
            self.edits[(chat_id, int(params["message_id"]))] += 1
        elif name == "deletemessage":
            self.deletions[(chat_id, int(params["message_id"]))] += 1
        elif name == "deletemessages":
            ids = params["message_ids"]
            for message_id in json.loads(ids) if isinstance(ids, str) else ids:
                self.deletions[(chat_id, int(message_id))] += 1

    def _record(self, arrived: float, chat_id: int, message: dict[str, Any]) -> None:
        # A migrated group answers from its new id: index what Telegram stored, not what was asked.
        chat_id = int(message.get("chat", {}).get("id", chat_id))
        text = message.get("text", message.get("caption", ""))
        self.by_text[text].append((arrived, chat_id))
        kept = self.by_chat.get(chat_id)
        if kept is not None:
            kept.append((arrived, message))
        else:  # only what an edit or a deletion reads, not the whole message
            key = (chat_id, message["message_id"])
            # One copy of a text sent to many (sys.intern): 100,000 copies stay small.
            slim = {k: sys.intern(v) if isinstance(v, str) else v for k, v in message.items()}
            slim = {k: v for k, v in slim.items() if k in _SLIM}
            self.api.messages[key] = slim

    def total_too_many(self) -> int:
        """Return how many sends were answered 429."""
        return sum(self.too_many.values())


# The speed test: how many requests per second the fake itself can answer.


async def _load(url: str, requests: int, concurrency: int, token: str) -> None:
    import aiohttp

    chat_ids = iter(range(1, requests + 1))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for chat_id in chat_ids:
                data = {
                    "chat_id": str(chat_id),
                    "text": f"Load test {chat_id}",
                    "parse_mode": "HTML",
                    "link_preview_options": '{"is_disabled": true}',
                    "allow_paid_broadcast": "true",
                }
                async with session.post(f"{url}/bot{token}/sendMessage", data=data) as answer:
                    answer.raise_for_status()
                    await answer.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        print(f"{time.perf_counter() - started:.6f}")


async def measure(requests: int, concurrency: int) -> float:
    """Serve the fake here and load it from another process; return requests per second."""
    unlimited = Limits(rate=1e9, paid_rate=1e9)
    async with LimitedTelegram(limits=unlimited) as telegram:
        load = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--load",
            telegram.url,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            stdout=subprocess.PIPE,
        )
        out, _ = await load.communicate()
        if load.returncode != 0:
            raise SystemExit("the load generator failed")
        served = sum(len(arrivals) for arrivals in telegram.by_text.values())
        assert served == requests, (served, requests)
    return requests / float(out.decode().split()[-1])


def main() -> int:
    """Measure the fake's own capacity (or, with --load, be the load generator)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        from tests.fake_telegram import TOKEN

        asyncio.run(_load(args.load, args.requests, args.concurrency, TOKEN))
        return 0
    rate = asyncio.run(measure(args.requests, args.concurrency))
    print(
        f"the limited fake answered {args.requests} sendMessage requests from "
        f"{args.concurrency} connections at {rate:.0f} req/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
