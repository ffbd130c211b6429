"""The rally moment (issue 20): a crowd at once, against a fake that enforces Telegram's limits.

    python bench/rally.py crowd [--users 2000] [--runs 3] [--tree DIR] [--latency MS]
                                [--database URL] [--paid [--paid-cap N]]
    python bench/rally.py webhook [--users 2000] [--tree DIR] [--database URL]
    python bench/rally.py memory [--users 100000] [--seconds 180] [--tree DIR]
    python bench/rally.py kill [--users 1000] [--after 10] [--webhook] [--tree DIR]

The fake is bench/telegram_limits.py's (30 sends/s overall, about 1/s per private chat, 429
past them, nothing recorded then). N people each send /start and /subscribe at once; times are
taken where the messages arrive, at the fake, from the moment the crowd was pushed.

- crowd: `python -m bot run` (polling); the organizer sends /broadcasts 2 s after the crowd.
  Prints the organizer's wait, every person's first answer (median, maximum, beside N/30 s),
  the last second answer, repeats and losses, 429s and the drain rate as a fraction of 30/s.
  `--paid` sets PAID_BROADCASTS and PAID_ANSWERS_AFTER=2 (answers waiting 2 s take the paid
  lane) with a daily cap of `--paid-cap` (default N), and counts the paid sends.
- webhook: the same crowd posted over two webhook processes on one PostgreSQL (each person to
  `person % 2`), 40 posts at a time as Telegram's max_connections, a post refused or cut off
  posted again after a second, as Telegram does.
- memory: N people at once (2N updates), measured for `--seconds`: the bot's resident memory
  every 10 s, the answers that arrived in each 10 s, and the updates still waiting at the fake.
- kill: SIGKILL `--after` seconds into a crowd, then start again on the same database; every
  person must get a welcome and a sign-up confirmation; prints what was lost and repeated.
  `--webhook` kills one webhook process instead (its posts cut off are posted again).

`--tree DIR` runs another checkout's bot (`git worktree add /tmp/before f06cee8`), to set the
figures beside the previous commit's in one sitting. Exit status 1 if an answer was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import ADMIN, BotProcess, median  # noqa: E402
from bench.crowd import WebhookBots  # noqa: E402
from bench.storm import drop_tables, prepare_postgres  # noqa: E402
from bench.telegram_limits import FREE_RATE, LimitedTelegram  # noqa: E402
from bench.webhook import SECRET  # noqa: E402
from bot.preview.updates import message_update, with_id  # noqa: E402
from bot.server.webhook import SECRET_HEADER  # noqa: E402

FIRST_USER = 20_000_000
CONFIRMED = ("You will get updates", "You already get updates")  # texts.SUBSCRIBED, _ALREADY
ORGANIZER_AFTER = 2.0  # seconds after the crowd the organizer sends /broadcasts
QUIET = 30.0  # seconds without a new message after which the crowd counts as over
POSTS_AT_ONCE = 40  # Telegram's default max_connections for a webhook
# Telegram numbers a bot's updates once, whichever process they are posted to.
UPDATE_IDS = itertools.count(1)
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/solidarity_bench"


def crowd_updates(people: range) -> list[tuple[int, dict[str, Any]]]:
    """Return each person's /start then /subscribe, everyone's in one list."""
    return [
        (person, message_update(command, user_id=person))
        for person in people
        for command in ("/start", "/subscribe")
    ]


def confirmed(message: dict[str, Any]) -> bool:
    """Tell whether a message is a sign-up's confirmation."""
    return str(message.get("text", "")).startswith(CONFIRMED)


@dataclass
class Crowd:
    """What a crowd received, as the fake saw it."""

    users: int
    organizer_wait: float = float("nan")
    first_median: float = float("nan")
    first_max: float = float("nan")
    second_max: float = float("nan")
    lost_first: int = 0  # people with no welcome
    lost_confirmation: int = 0  # people with no confirmation
    repeats: int = 0  # messages beyond each person's two
    too_many: int = 0
    drain: float = float("nan")  # messages a second, first arrival to last
    paid: int = 0  # sends in the paid lane

    @property
    def lost(self) -> int:
        """Return how many answers never arrived."""
        return self.lost_first + self.lost_confirmation

    def line(self) -> str:
        """Return the figures on one line."""
        formula = self.users / FREE_RATE
        return (
            f"organizer {self.organizer_wait:.1f} s · first answers median "
            f"{self.first_median:.1f} s, max {self.first_max:.1f} s (N/30 = {formula:.1f} s, "
            f"ratio {self.first_max / formula:.2f}) · last second answer {self.second_max:.1f} s"
            f" · lost {self.lost_first} welcomes + {self.lost_confirmation} confirmations, "
            f"repeats {self.repeats} · 429s {self.too_many} · drain {self.drain:.2f}/s "
            f"({self.drain / FREE_RATE:.3f} of 30/s)"
            + (f" · paid {self.paid}" if self.paid else "")
        )


def tally(telegram: LimitedTelegram, people: range, pushed: float, organizer_at: float) -> Crowd:
    """Count what each person (and the organizer) received."""
    crowd = Crowd(len(people), too_many=telegram.total_too_many(), paid=telegram.paid_sends)
    firsts, seconds, arrivals = [], [], []
    for person in people:
        messages = telegram.by_chat[person]
        arrivals.extend(at for at, _ in messages)
        welcomes = [at for at, m in messages if not confirmed(m)]
        confirmations = [at for at, m in messages if confirmed(m)]
        crowd.lost_first += not welcomes
        crowd.lost_confirmation += not confirmations
        crowd.repeats += max(len(welcomes) - 1, 0) + max(len(confirmations) - 1, 0)
        if messages:
            firsts.append(messages[0][0] - pushed)
        if len(messages) >= 2:
            seconds.append(messages[1][0] - pushed)
    if firsts:
        crowd.first_median, crowd.first_max = median(firsts), max(firsts)
    if seconds:
        crowd.second_max = max(seconds)
    if telegram.by_chat[ADMIN]:
        crowd.organizer_wait = telegram.by_chat[ADMIN][0][0] - organizer_at
    if len(arrivals) >= 2:
        arrivals.sort()
        crowd.drain = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    return crowd


async def settle(
    telegram: LimitedTelegram, people: range, alive: Callable[[], bool], seconds: float
) -> None:
    """Wait until everyone has a welcome and a confirmation, or messages stop coming."""
    deadline = time.monotonic() + seconds
    seen, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        counts = [len(telegram.by_chat[person]) for person in people]
        if all(count >= 2 for count in counts) and telegram.by_chat[ADMIN]:
            await asyncio.sleep(2.0)  # a repeat, if one were sent, would come now
            return
        if sum(counts) != seen:
            seen, last_change = sum(counts), time.monotonic()
        if time.monotonic() - last_change > QUIET or not alive():
            return
        await asyncio.sleep(0.2)


def watch_crowd(telegram: LimitedTelegram, people: range) -> None:
    """Keep every message to the crowd and the organizer, in order."""
    for person in people:
        telegram.watch(person)
    telegram.watch(ADMIN)


async def crowd_run(options: argparse.Namespace, number: int, workdir: Path) -> Crowd:
    """One crowd through a polling bot."""
    url = options.database or f"sqlite:///{workdir / f'crowd-{number}.db'}"
    if options.database:
        await drop_tables(url)
    people = range(FIRST_USER, FIRST_USER + options.users)
    async with LimitedTelegram() as telegram:
        telegram.latency = options.latency / 1000
        watch_crowd(telegram, people)
        bot = BotProcess(telegram, url, workdir / f"bot-{number}.log", tree=options.tree)
        if options.paid:
            bot.env |= {
                "PAID_BROADCASTS": "true",
                "PAID_ANSWERS_AFTER": "2",
                "PAID_ANSWERS_PER_DAY": str(options.paid_cap or options.users),
            }
        await bot.start()
        try:
            pushed = time.monotonic()
            for _, update in crowd_updates(people):
                telegram.api.push_update(update)
            await asyncio.sleep(ORGANIZER_AFTER)
            organizer_at = time.monotonic()
            telegram.api.push_update(message_update("/broadcasts", user_id=ADMIN))
            await settle(telegram, people, bot.alive, 120 + 4 * options.users / FREE_RATE)
            return tally(telegram, people, pushed, organizer_at)
        finally:
            await bot.stop()


class Poster:
    """Posts updates to webhook processes as Telegram does: a few at a time, each again after
    a second until it is answered 200."""

    def __init__(self, telegram: LimitedTelegram, ports: Sequence[int]) -> None:
        self.telegram = telegram
        self.ports = list(ports)
        self.reposted = 0

    async def post_all(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        """Post every update (to process `person % processes`), POSTS_AT_ONCE at a time."""
        queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
        for person, update in updates:
            body = with_id(update, next(UPDATE_IDS))
            self.telegram.api.register_chats(body)
            queue.put_nowait((self.ports[person % len(self.ports)], body))
        timeout = aiohttp.ClientTimeout(total=65)  # Telegram waits about a minute
        async with aiohttp.ClientSession(timeout=timeout) as session:
            workers = [self._work(session, queue) for _ in range(POSTS_AT_ONCE)]
            await asyncio.gather(*workers)

    async def _work(
        self, session: aiohttp.ClientSession, queue: asyncio.Queue[tuple[int, dict[str, Any]]]
    ) -> None:
        while not queue.empty():
            port, body = queue.get_nowait()
            while not await self._post(session, port, body):
                self.reposted += 1
                await asyncio.sleep(1.0)

    async def _post(self, session: aiohttp.ClientSession, port: int, body: dict[str, Any]) -> bool:
        url = f"http://127.0.0.1:{port}/telegram"
        try:
            async with session.post(url, json=body, headers={SECRET_HEADER: SECRET}) as answer:
                return answer.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


async def webhook_run(options: argparse.Namespace, workdir: Path) -> tuple[Crowd, int]:
    """One crowd over two webhook processes on PostgreSQL; return it and the posts repeated."""
    url = options.database or DEFAULT_POSTGRES
    await prepare_postgres(url)
    await drop_tables(url)
    people = range(FIRST_USER, FIRST_USER + options.users)
    async with LimitedTelegram() as telegram:
        watch_crowd(telegram, people)
        bots = WebhookBots(telegram, url, workdir, 2, options.tree)
        await bots.start()
        try:
            poster = Poster(telegram, bots.ports)
            pushed = time.monotonic()
            posting = asyncio.create_task(poster.post_all(crowd_updates(people)))
            await asyncio.sleep(ORGANIZER_AFTER)
            organizer_at = time.monotonic()
            await Poster(telegram, bots.ports[:1]).post_all(
                [(0, message_update("/broadcasts", user_id=ADMIN))]
            )
            await posting
            print(f"every update posted after {time.monotonic() - pushed:.1f} s", flush=True)
            await settle(telegram, people, bots.alive, 120 + 4 * options.users / FREE_RATE)
            return tally(telegram, people, pushed, organizer_at), poster.reposted
        finally:
            await bots.stop()


async def memory_run(options: argparse.Namespace, workdir: Path) -> int:
    """A crowd of `--users` at once, watched for `--seconds`; print memory and flow."""
    people = range(FIRST_USER, FIRST_USER + options.users)
    async with LimitedTelegram() as telegram:
        for person in people:
            telegram.watch(person)
        bot = BotProcess(telegram, f"sqlite:///{workdir / 'memory.db'}", workdir / "bot.log")
        bot.tree = options.tree
        await bot.start()
        try:
            idle = bot.rss_mb()
            for _, update in crowd_updates(people):
                telegram.api.push_update(update)
            started, delivered = time.monotonic(), 0
            print(f"idle: {idle:.0f} MB; {2 * len(people)} updates pushed", flush=True)
            rss: list[float] = []
            while (elapsed := time.monotonic() - started) < options.seconds and bot.alive():
                await asyncio.sleep(10.0)
                total = sum(len(telegram.by_chat[p]) for p in people)
                rss.append(bot.rss_mb())
                print(
                    f"{elapsed + 10:4.0f} s: RSS {rss[-1]:.0f} MB, answers in the last 10 s "
                    f"{total - delivered} ({(total - delivered) / 10 / FREE_RATE:.2f} of 30/s), "
                    f"waiting at Telegram {len(telegram.api._updates)}, 429s "
                    f"{telegram.total_too_many()}",
                    flush=True,
                )
                delivered = total
            after_minute = rss[6:] or rss
            print(
                f"peak RSS {bot.peak_rss_mb():.0f} MB; after the first minute "
                f"{min(after_minute):.0f} to {max(after_minute):.0f} MB"
            )
        finally:
            await bot.stop()
    return 0


async def kill_run(options: argparse.Namespace, workdir: Path) -> Crowd:
    """Kill the bot `--after` s into a crowd, start it again, count what arrived."""
    people = range(FIRST_USER, FIRST_USER + options.users)
    url = f"sqlite:///{workdir / 'kill.db'}"
    async with LimitedTelegram() as telegram:
        watch_crowd(telegram, people)
        telegram.by_chat[ADMIN].append((0.0, {}))  # no organizer in this crowd
        pushed = time.monotonic()
        if options.webhook:
            bots = WebhookBots(telegram, url, workdir, 1, options.tree)
            await bots.start()
            poster = Poster(telegram, bots.ports)
            posting = asyncio.create_task(poster.post_all(crowd_updates(people)))
            await asyncio.sleep(options.after)
            bots.processes[0].send_signal(signal.SIGKILL)
            await bots.processes[0].wait()
            before = sum(len(telegram.by_chat[p]) for p in people)
            bots.processes.clear()
            await bots.start()  # on the same port: the posts cut off go there again
            alive = bots.alive
        else:
            bot = BotProcess(telegram, url, workdir / "bot.log", tree=options.tree)
            await bot.start()
            for _, update in crowd_updates(people):
                telegram.api.push_update(update)
            await asyncio.sleep(options.after)
            await bot.stop(signal.SIGKILL)
            before = sum(len(telegram.by_chat[p]) for p in people)
            await bot.start()
            alive = bot.alive
        try:
            print(f"killed after {options.after:g} s with {before} answers delivered", flush=True)
            await settle(telegram, people, alive, 120 + 4 * options.users / FREE_RATE)
            if options.webhook:
                await asyncio.wait_for(posting, 120)
                print(f"posts repeated (refused or cut off): {poster.reposted}")
            return tally(telegram, people, pushed, 0.0)
        finally:
            if options.webhook:
                await bots.stop()
            else:
                await bot.stop()


async def run(options: argparse.Namespace) -> int:
    """Run the chosen bench and print its figures."""
    tree = "this checkout" if options.tree == ROOT else str(options.tree)
    with tempfile.TemporaryDirectory(prefix="rally-") as scratch:
        workdir = Path(scratch)
        if options.command == "memory":
            print(f"rally memory: {options.users} people at once, {tree}", flush=True)
            return await memory_run(options, workdir)
        if options.command == "kill":
            mode = "webhook" if options.webhook else "polling"
            print(f"rally kill: {options.users} people, {mode}, {tree}", flush=True)
            crowd = await kill_run(options, workdir)
            print(crowd.line())
            return 1 if crowd.lost else 0
        if options.command == "webhook":
            print(f"rally webhook: {options.users} people, 2 processes, {tree}", flush=True)
            crowd, reposted = await webhook_run(options, workdir)
            print(f"{crowd.line()} · posts repeated {reposted}")
            return 1 if crowd.lost else 0
        database = "PostgreSQL" if options.database else "SQLite"
        print(
            f"rally crowd: {options.users} people, polling, {database}, latency "
            f"{options.latency:g} ms, paid {'on' if options.paid else 'off'}, {tree}",
            flush=True,
        )
        if options.database:
            await prepare_postgres(options.database)
        runs = []
        for number in range(1, options.runs + 1):
            runs.append(await crowd_run(options, number, workdir))
            print(f"run {number}: {runs[-1].line()}", flush=True)
    fields = ("organizer_wait", "first_median", "first_max", "second_max", "drain")
    medians = {name: median([getattr(r, name) for r in runs]) for name in fields}
    print(
        f"median of {len(runs)}: organizer {medians['organizer_wait']:.1f} s, first answers "
        f"median {medians['first_median']:.1f} s, max {medians['first_max']:.1f} s "
        f"(N/30 = {options.users / FREE_RATE:.1f} s), last second answer "
        f"{medians['second_max']:.1f} s, drain {medians['drain'] / FREE_RATE:.3f} of 30/s; "
        f"lost {sum(r.lost for r in runs)}, repeats {sum(r.repeats for r in runs)}, 429s "
        f"{sum(r.too_many for r in runs)}"
    )
    return 1 if any(r.lost for r in runs) else 0


def main() -> int:
    """Parse the command line and run a bench."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, users in (("crowd", 2000), ("webhook", 2000), ("memory", 100_000), ("kill", 1000)):
        command = commands.add_parser(name)
        command.add_argument("--users", type=int, default=users)
        command.add_argument("--tree", type=Path, default=ROOT)
        command.add_argument("--database", default=None, help="PostgreSQL URL (else SQLite)")
    crowd = commands.choices["crowd"]
    crowd.add_argument("--runs", type=int, default=3)
    crowd.add_argument("--latency", type=float, default=0.0, metavar="MS")
    crowd.add_argument("--paid", action="store_true")
    crowd.add_argument("--paid-cap", type=int, default=0)
    commands.choices["memory"].add_argument("--seconds", type=float, default=180.0)
    kill = commands.choices["kill"]
    kill.add_argument("--after", type=float, default=10.0)
    kill.add_argument("--webhook", action="store_true")
    options = parser.parse_args()
    options.tree = options.tree.resolve()
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(options))
    return 130


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
