"""Every answer reaches its reader (issue 11): crowds against a fake that enforces the limits.

    python bench/crowd.py storm [--users 2000] [--runs 3] [--database URL] [--tree DIR] [--key]
    python bench/crowd.py statement --old DIR [--new DIR] [--samples 20] [--latency 0 50]
    python bench/crowd.py webhook [--users 2000] [--subscribers 5000] [--runs 1] [--tree DIR]

The fake Bot API is bench/telegram_limits.py's: 30 sends a second overall (burst 30), one a
second per private chat (burst 3), 20 a minute per group, 429 with retry_after past any of them,
and nothing recorded then. Everything is counted where it arrives, at the fake.

- storm: N people send /start then /subscribe at once to `python -m bot run` (polling). Each
  must receive exactly 2 messages, the second the sign-up's confirmation. It prints replies
  delivered, 429s, the drain rate (replies over the time from the first reply's arrival to the
  last's) as a fraction of 30/s, and the longest wait (all updates pushed -> a person's
  confirmation arrived) beside the formula replies / 30 s.
- statement: two idle bots, polling, each with its own fake, one from `--old`'s checkout and
  one from `--new`'s; a new person sends /statement to each in turn, and the time from the push
  to the arrival of the reply's last part is taken, alternating which bot goes first.
- webhook: two `python -m bot run` processes in webhook mode on one PostgreSQL, N subscribers
  seeded; the organizer starts a broadcast, and once it is sending, the storm is posted over
  both processes (each person to `person % 2`). Every reply and every broadcast message must
  arrive exactly once, with no 429.

`--tree DIR` runs the bot of another checkout (`git worktree add /tmp/before 62bc836`):
`python -m bot` imports the `bot` package of its working directory. Exit status 1 if a reply
or a broadcast message went missing or came twice, or any send was answered 429.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import (  # noqa: E402
    ADMIN,
    CAMPAIGN,
    BotProcess,
    fresh_database,
    median,
    seed,
    send_button,
    stop_on_sigterm,
    until,
    wait_until_done,
    wait_until_started,
)
from bench.storm import drop_tables, prepare_postgres, stop  # noqa: E402
from bench.telegram_limits import FREE_RATE, LimitedTelegram  # noqa: E402
from bench.webhook import SECRET, free_port, healthy  # noqa: E402
from bot.preview.updates import callback_update, message_update, with_id  # noqa: E402
from bot.server.webhook import SECRET_HEADER  # noqa: E402
from tests.fake_telegram import TOKEN  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/solidarity_bench"
FIRST_USER = 10_000_000  # the storm's people: clear of ADMIN and of seeded subscribers (1e9+)
STATEMENT_USER = 600_000_000  # each /statement sample from a new person
CONFIRMED = "You will get updates"  # the start of texts.SUBSCRIBED, in English
ERROR_REPLY = "something went wrong"
TARGET = 0.95
QUIET = 20.0  # seconds without a new reply after which a storm counts as over (replies lost)
IN_FLIGHT = 64  # webhook posts at once, as Telegram (or a proxy) would have them


# The storm, polling


@dataclass
class Storm:
    """What one storm delivered, as the fake saw it."""

    users: int
    replies: int = 0
    confirmed: int = 0  # people whose second message is the sign-up's confirmation
    confirmations: int = 0  # people who got the confirmation at all (their /start answer lost)
    complete: int = 0  # people with exactly 2 messages
    extra: int = 0  # people with more than 2 (a reply sent twice)
    error_replies: int = 0
    too_many: dict[str, int] = field(default_factory=dict)
    drain: float = float("nan")  # replies per second, first arrival to last
    span: float = float("nan")  # seconds from the first reply's arrival to the last's
    longest_wait: float = float("nan")  # pushed -> the last confirmation
    median_wait: float = float("nan")
    gave_up: bool = False  # the storm ended by silence, not by every reply arriving
    cpu: float = float("nan")  # the bot's CPU seconds from the push to the last reply

    @property
    def ok(self) -> bool:
        """Tell whether every reply arrived, once, and none was refused."""
        return (
            self.confirmed == self.users
            and self.complete == self.users
            and not self.extra
            and not self.error_replies
            and not sum(self.too_many.values())
        )

    def line(self) -> str:
        """Return the storm's figures on one line."""
        formula = 2 * self.users / FREE_RATE
        return (
            f"{self.replies}/{2 * self.users} replies delivered, confirmed "
            f"{self.confirmed}/{self.users} people (a confirmation at all: "
            f"{self.confirmations}), 429s {sum(self.too_many.values())} "
            f"{self.too_many or ''}, more than 2 messages: {self.extra}, error replies "
            f"{self.error_replies} · drain {self.drain:.2f} msg/s ({self.drain / FREE_RATE:.3f} "
            f"of 30/s) over {self.span:.1f} s · longest wait {self.longest_wait:.1f} s "
            f"(formula {2 * self.users} replies / 30 = {formula:.1f} s, ratio "
            f"{self.longest_wait / formula:.2f}), median wait {self.median_wait:.1f} s"
            f" · bot CPU {self.cpu:.1f} s ({1000 * self.cpu / max(self.replies, 1):.2f} s per "
            "1,000 replies)" + (" · ENDED BY SILENCE: replies lost" if self.gave_up else "")
        )


def tally(telegram: LimitedTelegram, people: range, pushed: dict[int, float], into: Storm) -> None:
    """Count, at the fake, what each person received."""
    arrivals: list[float] = []
    waits: list[float] = []
    for person in people:
        messages = telegram.by_chat[person]
        into.replies += len(messages)
        arrivals.extend(at for at, _ in messages)
        texts = [str(message.get("text", "")) for _, message in messages]
        into.error_replies += sum(ERROR_REPLY in text for text in texts)
        if len(messages) == 2:
            into.complete += 1
        elif len(messages) > 2:
            into.extra += 1
        into.confirmations += any(CONFIRMED in text for text in texts)
        if len(messages) >= 2 and CONFIRMED in texts[1]:
            into.confirmed += 1
            waits.append(messages[1][0] - pushed[person])
    if len(arrivals) >= 2:
        arrivals.sort()
        into.span = arrivals[-1] - arrivals[0]
        into.drain = (len(arrivals) - 1) / into.span
    if waits:
        into.longest_wait, into.median_wait = max(waits), median(waits)


async def settle(telegram: LimitedTelegram, people: range, alive: Any, seconds: float) -> bool:
    """Wait until everyone has their 2 replies; return False if replies stopped coming first."""
    deadline = time.monotonic() + seconds
    seen, last_change = -1, time.monotonic()
    while True:
        counts = [len(telegram.by_chat[person]) for person in people]
        if all(count >= 2 for count in counts):
            await asyncio.sleep(1.0)  # a third message, if one were sent, would come now
            return True
        total = sum(counts)
        if total != seen:
            seen, last_change = total, time.monotonic()
        if time.monotonic() - last_change > QUIET or time.monotonic() > deadline:
            return False
        if not alive():
            raise RuntimeError("the bot exited during the storm")
        await asyncio.sleep(0.1)


async def storm_run(options: argparse.Namespace, number: int, workdir: Path) -> Storm:
    """Start the bot, push the storm, count what arrived."""
    if options.database is None:
        url = f"sqlite:///{workdir / f'storm-{number}.db'}"  # the bot creates it
    else:
        url = options.database
        await drop_tables(url)
    people = range(FIRST_USER, FIRST_USER + options.users)
    result = Storm(options.users)
    async with LimitedTelegram() as telegram:
        for person in people:
            telegram.watch(person)
        log = workdir / f"bot-{number}.log"
        bot = BotProcess(telegram, url, log, tree=options.tree, sealed=options.key)
        await bot.start()
        try:
            too_many_before = collections.Counter(telegram.too_many)
            pushed: dict[int, float] = {}
            cpu_before = bot.cpu_seconds()
            for person in people:
                pushed[person] = time.monotonic()
                telegram.api.push_update(message_update("/start", user_id=person))
                telegram.api.push_update(message_update("/subscribe", user_id=person))
            seconds = 120 + 3 * 2 * options.users / FREE_RATE
            result.gave_up = not await settle(telegram, people, bot.alive, seconds)
            result.cpu = bot.cpu_seconds() - cpu_before
            tally(telegram, people, pushed, result)
            result.too_many = dict(collections.Counter(telegram.too_many) - too_many_before)
        finally:
            if bot.alive():
                await bot.stop()
    return result


async def storm_bench(options: argparse.Namespace) -> int:
    """Run the polling storms and print each and their medians."""
    database = "SQLite" if options.database is None else "PostgreSQL"
    if options.database is not None:
        await prepare_postgres(options.database)
    print(
        f"crowd storm: {options.users} people x (/start, /subscribe), polling, {database}, "
        f"tree {options.tree}, {options.runs} run(s), "
        f"ids {'sealed under a key' if options.key else 'unsealed'}",
        flush=True,
    )
    runs: list[Storm] = []
    with tempfile.TemporaryDirectory(prefix="crowd-") as scratch:
        for number in range(1, options.runs + 1):
            result = await storm_run(options, number, Path(scratch))
            runs.append(result)
            print(f"run {number}: {result.line()}", flush=True)
    drain = median([r.drain for r in runs])
    verdict = "met" if drain / FREE_RATE >= TARGET else "MISSED"
    print(
        f"median of {len(runs)}: drain {drain:.2f} msg/s = {drain / FREE_RATE:.3f} of 30/s "
        f"(target >= {TARGET}: {verdict}); longest wait "
        f"{median([r.longest_wait for r in runs]):.1f} s (formula "
        f"{2 * options.users / FREE_RATE:.1f} s); replies "
        f"{median([r.replies for r in runs]):.0f}/{2 * options.users}; confirmed "
        f"{median([r.confirmed for r in runs]):.0f}/{options.users}; 429s "
        f"{sum(sum(r.too_many.values()) for r in runs)} in all; bot CPU "
        f"{median([1000 * r.cpu / max(r.replies, 1) for r in runs]):.2f} s per 1,000 replies"
    )
    ok = all(r.ok for r in runs)
    print("every reply delivered once, none refused" if ok else "FAILED: see above")
    return 0 if ok else 1


# A lone /statement, old and new side by side


async def statement_sample(telegram: LimitedTelegram, person: int, parts: int) -> float | None:
    """Send /statement as a new person; return seconds to the arrival of the reply's last part."""
    telegram.watch(person)
    arrivals = telegram.by_chat[person]
    pushed = time.monotonic()
    telegram.api.push_update(message_update("/statement", user_id=person))
    try:
        await until(lambda: len(arrivals) >= parts, "the statement's last part", 15)
    except TimeoutError:
        return None
    return arrivals[parts - 1][0] - pushed


async def count_parts(telegram: LimitedTelegram, person: int) -> int:
    """Send /statement once and return how many messages it takes (quiet for 3 s: complete)."""
    telegram.watch(person)
    arrivals = telegram.by_chat[person]
    telegram.api.push_update(message_update("/statement", user_id=person))
    await until(lambda: len(arrivals) >= 1, "a reply to /statement", 15)
    while True:
        seen = len(arrivals)
        await asyncio.sleep(3.0)
        if len(arrivals) == seen:
            return seen


async def statement_bench(options: argparse.Namespace) -> int:
    """Time a lone /statement on two idle bots (old and new checkout), alternating."""
    trees = {"old": options.old, "new": options.new}
    print(
        f"lone /statement, idle, polling, SQLite: old {options.old} vs new {options.new}, "
        f"{options.samples} samples each per latency, latencies {options.latency} ms",
        flush=True,
    )
    people = iter(range(STATEMENT_USER, STATEMENT_USER + 1_000_000))
    failed = False
    with tempfile.TemporaryDirectory(prefix="crowd-statement-") as scratch:
        async with contextlib.AsyncExitStack() as stack:
            fakes: dict[str, LimitedTelegram] = {}
            bots: dict[str, BotProcess] = {}
            for name, tree in trees.items():
                fakes[name] = await stack.enter_async_context(LimitedTelegram())
                url = f"sqlite:///{Path(scratch) / name}.db"
                bots[name] = BotProcess(fakes[name], url, Path(scratch) / f"{name}.log", tree=tree)
                await bots[name].start()
                stack.push_async_callback(bots[name].stop)
            parts = {name: await count_parts(fakes[name], next(people)) for name in trees}
            print(f"/statement sends {parts} messages", flush=True)
            if len(set(parts.values())) != 1:
                print("the two trees send /statement in a different number of parts")
            for latency in options.latency:
                for fake in fakes.values():
                    fake.latency = latency / 1000
                times: dict[str, list[float]] = {name: [] for name in trees}
                firsts = collections.Counter[str]()
                for sample in range(options.samples):
                    order = ("old", "new") if sample % 2 == 0 else ("new", "old")
                    firsts[order[0]] += 1
                    for name in order:
                        seconds = await statement_sample(fakes[name], next(people), parts[name])
                        if seconds is None:
                            print(f"latency {latency:g}: {name}: no complete reply in 15 s")
                            failed = True
                        else:
                            times[name].append(seconds)
                        await asyncio.sleep(options.pause)
                old, new = median(times["old"]), median(times["new"])
                ratio = new / old
                verdict = "met" if ratio <= 1.2 else "MISSED"
                print(
                    f"latency {latency:g} ms: last part old {old * 1000:.1f} ms, new "
                    f"{new * 1000:.1f} ms (medians of {len(times['old'])} and "
                    f"{len(times['new'])}); new/old {ratio:.2f} (target <= 1.2: {verdict}); "
                    f"new max {max(times['new']) * 1000:.1f} ms, old max "
                    f"{max(times['old']) * 1000:.1f} ms",
                    flush=True,
                )
                failed = failed or ratio > 1.2
            too_many = {name: fake.total_too_many() for name, fake in fakes.items()}
            print(f"429s: {too_many}")
    return 1 if failed else 0


# The storm during a broadcast, on two webhook processes


class WebhookBots:
    """P `python -m bot run` processes in webhook mode on one database, and their webhooks."""

    def __init__(
        self, telegram: LimitedTelegram, url: str, workdir: Path, processes: int, tree: Path
    ) -> None:
        self.telegram = telegram
        self.url = url
        self.workdir = workdir
        self.tree = tree
        self.ports = [free_port() for _ in range(processes)]
        self.processes: list[asyncio.subprocess.Process] = []
        self._ids = iter(range(1, 10_000_000))

    async def start(self) -> None:
        """Start every process, the first alone (it may create what the others then find)."""
        for index, port in enumerate(self.ports):
            env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": os.environ.get("HOME", "/tmp"),
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": self.telegram.url,
                "DATABASE_URL": self.url,
                "BOT_ADMINS": str(ADMIN),
                "CAMPAIGNS_DIR": "campaigns",
                "LOG_LEVEL": "WARNING",
                "WEBHOOK_URL": "https://bot.example.org/telegram",
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_PORT": str(port),
            }
            with (self.workdir / f"bot{index}.log").open("a") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    env=env,
                    cwd=self.tree,
                    stdout=log,
                    stderr=log,
                )
            self.processes.append(process)
            await healthy(port, process)

    def alive(self) -> bool:
        """Tell whether every process still runs."""
        return all(process.returncode is None for process in self.processes)

    async def post(
        self, session: aiohttp.ClientSession, index: int, update: dict[str, Any]
    ) -> None:
        """Post an update to process `index`, as Telegram posts to a webhook."""
        body = with_id(update, next(self._ids))
        self.telegram.api.register_chats(body)
        url = f"http://127.0.0.1:{self.ports[index]}/telegram"
        async with session.post(url, json=body, headers={SECRET_HEADER: SECRET}) as answer:
            if answer.status != 200:
                raise RuntimeError(f"webhook {index} answered {answer.status}")

    async def stop(self) -> None:
        """Stop every process."""
        for process in self.processes:
            await stop(process)

    def log_tail(self) -> str:
        """Return the end of every process's log."""
        return "\n".join(
            f"--- bot{index}.log\n"
            + (self.workdir / f"bot{index}.log").read_text(errors="replace")[-2000:]
            for index in range(len(self.ports))
        )


@dataclass
class Mixed:
    """What one storm during a broadcast delivered."""

    storm: Storm
    subscribers: int
    broadcast: int = 0  # broadcast messages delivered to subscribers
    distinct: int = 0
    duplicates: int = 0
    missed: int = 0
    too_many: dict[str, int] = field(default_factory=dict)
    sends: int = 0  # every message delivered during the run
    rate: float = float("nan")  # all of them per second, first to last

    @property
    def ok(self) -> bool:
        """Tell whether everything arrived once and nothing was refused."""
        return (
            self.storm.ok
            and self.distinct == self.subscribers
            and not self.duplicates
            and not self.missed
            and not sum(self.too_many.values())
        )

    def line(self) -> str:
        """Return the run's figures on one line."""
        return (
            f"broadcast {self.broadcast} delivered to {self.distinct}/{self.subscribers} chats, "
            f"duplicates {self.duplicates}, missed {self.missed} · 429s "
            f"{sum(self.too_many.values())} {self.too_many or ''} · all sends {self.sends} at "
            f"{self.rate:.2f} msg/s ({self.rate / FREE_RATE:.3f} of 30/s) · storm: "
            f"{self.storm.line()}"
        )


async def mixed_run(options: argparse.Namespace, number: int, workdir: Path) -> Mixed:
    """Seed, start the processes, broadcast, post the storm over them, count what arrived."""
    await drop_tables(POSTGRES_URL)
    people = range(FIRST_USER, FIRST_USER + options.users)
    async with fresh_database(POSTGRES_URL, workdir) as (url, storage):
        audience = await seed(storage, options.subscribers, faults=False)
        result = Mixed(Storm(options.users), len(audience.expected))
        async with LimitedTelegram() as telegram:
            telegram.watch(ADMIN)
            for person in people:
                telegram.watch(person)
            bots = WebhookBots(telegram, url, workdir, options.processes, options.tree)
            try:
                await bots.start()
                body = f"Bench broadcast {secrets.token_hex(6)}"
                connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
                async with aiohttp.ClientSession(connector=connector) as session:
                    await bots.post(
                        session, 0, message_update(f"/broadcast {CAMPAIGN} {body}", user_id=ADMIN)
                    )
                    await until(lambda: send_button(telegram, 0) is not None, "the preview", 60)
                    found = send_button(telegram, 0)
                    assert found is not None
                    data, message_id = found
                    broadcast_id = int(data.rsplit(":", 1)[1])
                    await bots.post(
                        session,
                        len(bots.ports) - 1,
                        callback_update(data, user_id=ADMIN, message_id=message_id),
                    )
                    await wait_until_started(storage, broadcast_id)
                    arrivals = telegram.by_text[body]
                    # The storm comes once the broadcast is well under way (5 s of it, or a
                    # third of a small one).
                    under_way = min(150, options.subscribers // 3)
                    await until(lambda: len(arrivals) >= under_way, "the broadcast is sending", 60)
                    pushed: dict[int, float] = {}
                    work = iter(people)

                    async def poster() -> None:
                        for person in work:  # one person: /start, then /subscribe
                            index = person % len(bots.ports)
                            pushed[person] = time.monotonic()
                            for command in ("/start", "/subscribe"):
                                update = message_update(command, user_id=person)
                                await bots.post(session, index, update)

                    await asyncio.gather(*(poster() for _ in range(IN_FLIGHT)))
                seconds = 120 + 3 * (2 * options.users + options.subscribers) / FREE_RATE
                result.storm.gave_up = not await settle(telegram, people, bots.alive, seconds)
                await wait_until_done(storage, broadcast_id, None, seconds)
                await asyncio.sleep(2.0)  # a duplicate, if one were sent, would come now
            except (TimeoutError, RuntimeError):
                print(bots.log_tail(), file=sys.stderr)
                raise
            finally:
                await bots.stop()
            tally(telegram, people, pushed, result.storm)
            received = [(at, chat) for at, chat in arrivals if chat != ADMIN]
            counts = collections.Counter(chat for _, chat in received)
            result.broadcast = len(received)
            result.distinct = len(counts.keys() & audience.expected)
            result.duplicates = sum(1 for count in counts.values() if count > 1)
            result.missed = len(audience.expected - counts.keys())
            result.too_many = dict(telegram.too_many)
            times = sorted(at for texts in telegram.by_text.values() for at, _ in texts)
            result.sends = len(times)
            if len(times) >= 2:
                result.rate = (len(times) - 1) / (times[-1] - times[0])
    return result


async def webhook_bench(options: argparse.Namespace) -> int:
    """Run the storms during broadcasts on webhook processes, and print their figures."""
    await prepare_postgres(POSTGRES_URL)
    print(
        f"crowd during a broadcast: {options.subscribers} subscribers, {options.users} people x "
        f"(/start, /subscribe), {options.processes} webhook processes, PostgreSQL, tree "
        f"{options.tree}, {options.runs} run(s)",
        flush=True,
    )
    runs: list[Mixed] = []
    with tempfile.TemporaryDirectory(prefix="crowd-webhook-") as scratch:
        for number in range(1, options.runs + 1):
            run_dir = Path(scratch) / str(number)
            run_dir.mkdir()
            result = await mixed_run(options, number, run_dir)
            runs.append(result)
            print(f"run {number}: {result.line()}", flush=True)
    print(
        f"median of {len(runs)}: all sends {median([r.rate for r in runs]):.2f} msg/s "
        f"({median([r.rate for r in runs]) / FREE_RATE:.3f} of 30/s); storm drain "
        f"{median([r.storm.drain for r in runs]):.2f} msg/s; longest wait "
        f"{median([r.storm.longest_wait for r in runs]):.1f} s; 429s "
        f"{sum(sum(r.too_many.values()) for r in runs)} in all"
    )
    ok = all(r.ok for r in runs)
    print(
        "every reply and broadcast message delivered once, none refused"
        if ok
        else "FAILED: see above"
    )
    return 0 if ok else 1


def main() -> int:
    """Parse the command line and run one of the benches."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    storm = modes.add_parser("storm", help="N people at once, polling")
    storm.add_argument("--users", type=int, default=2000)
    storm.add_argument("--runs", type=int, default=3)
    storm.add_argument("--database", metavar="URL", help="postgresql (or a URL); default SQLite")
    storm.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose bot runs")
    storm.add_argument("--key", action="store_true", help="ids sealed under a key (issue 14)")
    statement = modes.add_parser("statement", help="a lone /statement, old and new")
    statement.add_argument("--old", type=Path, required=True, help="the old checkout")
    statement.add_argument("--new", type=Path, default=ROOT, help="the new checkout")
    statement.add_argument("--samples", type=int, default=20)
    statement.add_argument("--latency", type=float, nargs="+", default=[0.0, 50.0])
    statement.add_argument("--pause", type=float, default=0.5, help="seconds between samples")
    webhook = modes.add_parser("webhook", help="the storm during a broadcast, webhook processes")
    webhook.add_argument("--users", type=int, default=2000)
    webhook.add_argument("--subscribers", type=int, default=5000)
    webhook.add_argument("--processes", type=int, default=2)
    webhook.add_argument("--runs", type=int, default=1)
    webhook.add_argument("--tree", type=Path, default=ROOT)
    options = parser.parse_args()
    if getattr(options, "database", None) == "postgresql":
        options.database = POSTGRES_URL
    for name in ("tree", "old", "new"):
        if getattr(options, name, None) is not None:
            setattr(options, name, getattr(options, name).resolve())
    bench = {"storm": storm_bench, "statement": statement_bench, "webhook": webhook_bench}

    async def run() -> int:
        stop_on_sigterm()
        return await bench[options.mode](options)

    try:
        return asyncio.run(run())
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted: the bots were stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
