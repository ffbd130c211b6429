"""The sign-up storm: N people send /start then /subscribe at once, to our bot and to a bare one.

    python bench/storm.py [--users 2000] [--runs 3] [--database sqlite|postgresql://...]
                          [--latency MS] [--order paired|waves] [--bare-transport bot|httpx]
                          [--profile DIR] [--key]

Each run starts `python -m bot run` and `python bench/bare_bot.py` (one after the other, the
order alternating between runs) against the fake Bot API of the tests, served over HTTP on
loopback by this process. It pushes the 2N updates at once and times them from the push to the
last answer to /subscribe, then checks that every sign-up is in the database. It prints
updates per second for both and their ratio (the issue's target: ours/bare >= 0.7), and exits 1
if any run had an error reply, an error answer from the fake, or a missing sign-up.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/storm.py`: the bot and its tests' fake

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot import texts  # noqa: E402
from bot.config import new_id_key, parse_id_key  # noqa: E402
from bot.preview.local_api import LocalBotAPI  # noqa: E402
from bot.preview.updates import message_update  # noqa: E402
from bot.storage import Storage, async_url  # noqa: E402
from tests.fake_telegram import TOKEN, FakeTelegram  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/solidarity_bench"
CAMPAIGN = "rafah"  # the default (only) campaign in campaigns/, which /subscribe signs up to
ADMIN = 42
FIRST_USER = 10_000_000
TARGET = 0.7
TIMEOUT = 600.0  # seconds for one storm before it counts as failed
TICKS = os.sysconf("SC_CLK_TCK")
BENCH_KEY = new_id_key()  # `--key`: our bot's ids sealed under it


@dataclass(frozen=True)
class Contender:
    """A bot under test: how to start it, and what its answer to /subscribe contains."""

    name: str
    command: tuple[str, ...]
    subscribed: str


OURS = Contender("ours", ("-m", "bot", "run"), texts.SUBSCRIBED.split("<b>")[0])
BARE = Contender("bare", (str(ROOT / "bench" / "bare_bot.py"),), "Noted.")


@dataclass(frozen=True)
class Measure:
    """How one bot weathered one storm."""

    seconds: float
    updates: int
    errors: list[str]
    bot_cpu: float  # CPU seconds of the bot process during the storm
    fake_cpu: float  # CPU seconds of this process (the fake Bot API) during the storm
    first_fetch: float  # seconds from the push to the first getUpdates answer carrying it

    @property
    def rate(self) -> float:
        """Return updates per second."""
        return self.updates / self.seconds

    def line(self) -> str:
        """Return the figures on one line."""
        return (
            f"{self.rate:7.1f} updates/s ({self.seconds:5.2f} s; CPU bot "
            f"{self.bot_cpu / self.seconds:4.0%}, fake {self.fake_cpu / self.seconds:4.0%}; "
            f"first fetch {self.first_fetch * 1000:3.0f} ms)"
        )


class Tally:
    """Reads the fake's call log as it grows: replies per chat, error answers, error texts."""

    def __init__(self, api: LocalBotAPI, contender: Contender, users: range) -> None:
        self.api = api
        self.contender = contender
        self.users = users
        self.replies: collections.Counter[int] = collections.Counter()
        self.answered = 0  # chats that got both replies
        self.last_answer = 0.0
        self.errors: list[str] = []
        self._read = 0

    def scan(self) -> None:
        """Take in the calls made since the last scan."""
        calls = self.api.calls
        end = len(calls)
        for call in calls[self._read : end]:
            if call.error is not None:
                self.errors.append(f"the fake answered {call.error} to {call.method}")
                continue
            if call.method.lower() != "sendmessage":
                continue
            chat, text = int(call.params["chat_id"]), str(call.params.get("text", ""))
            if texts.ERROR in text:
                self.errors.append(f"chat {chat} got the error reply")
            if chat not in self.users:
                continue
            self.replies[chat] += 1
            if self.replies[chat] == 2:
                self.answered += 1
                self.last_answer = call.at
                if self.contender.subscribed not in text:
                    self.errors.append(f"chat {chat}: the second reply is not the sign-up")
            elif self.replies[chat] > 2:
                self.errors.append(f"chat {chat} got {self.replies[chat]} replies")
        self._read = end


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def prepare_postgres(url: str) -> None:
    """Create the benchmark database if it is missing."""
    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        if not await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", target.database
        ):
            await connection.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await connection.close()


async def drop_tables(url: str) -> None:
    """Drop every table of the benchmark database, so each bot starts empty."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:

            def drop(sync: sa.Connection) -> None:
                metadata = sa.MetaData()
                metadata.reflect(sync)
                metadata.drop_all(sync)

            await connection.run_sync(drop)
    finally:
        await engine.dispose()


async def count_signups(
    contender: Contender, url: str, users: int, key: bytes | None = None
) -> list[str]:
    """Return what is missing from the database after the storm."""
    if contender is OURS:
        storage = Storage.connect(url, key=key)
        try:
            active = await storage.count_recipients(CAMPAIGN)
        finally:
            await storage.close()
        return [] if active == users else [f"{users - active} sign-up(s) missing"]
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as connection:
            rows, writes = (
                await connection.execute(
                    sa.text("SELECT count(*), sum(writes) FROM bare_signups WHERE campaign = :c"),
                    {"c": CAMPAIGN},
                )
            ).one()
    finally:
        await engine.dispose()
    problems = [] if rows == users else [f"{users - rows} sign-up(s) missing"]
    if writes != 2 * users:
        problems.append(f"{writes} writes for {2 * users} updates")
    return problems


def storm(users: range, order: str) -> list[dict[str, object]]:
    """Return the updates: each person's /start before their /subscribe."""
    if order == "waves":  # everyone's /start, then everyone's /subscribe
        return [message_update(c, user_id=u) for c in ("/start", "/subscribe") for u in users]
    return [message_update(c, user_id=u) for u in users for c in ("/start", "/subscribe")]


async def until(
    condition: Callable[[], object], process: asyncio.subprocess.Process, what: str
) -> None:
    """Wait until `condition()` holds, failing if the bot exits or time runs out."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


async def measure(
    contender: Contender, options: argparse.Namespace, url: str, log: Path
) -> Measure:
    """Start one bot, push the storm at it, and time it until every sign-up is answered."""
    async with FakeTelegram() as fake:
        api = fake.api
        fake.latency = options.latency / 1000
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fake.url,
            "DATABASE_URL": url,
            "BOT_ADMINS": str(ADMIN),
            "CAMPAIGNS_DIR": "campaigns",
            "LOG_LEVEL": "WARNING",
        }
        if options.key and contender is OURS:
            env["ID_ENCRYPTION_KEY"] = BENCH_KEY
        command = contender.command
        if contender is BARE and options.bare_transport == "httpx":
            command = (*command, "--httpx")
        if options.profile is not None and contender is OURS:
            profile = options.profile / f"{log.stem}.prof"
            command = ("-m", "cProfile", "-o", str(profile), *command)
        users = range(FIRST_USER, FIRST_USER + options.users)
        updates = storm(users, options.order)
        tally = Tally(api, contender, users)
        with log.open("w") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *command, env=env, cwd=ROOT, stdout=output, stderr=output
            )
        try:
            await until(lambda: api.calls_to("getUpdates"), process, "it polls")
            bot_cpu, fake_cpu = cpu_seconds(process.pid), time.process_time()
            pushed = time.monotonic()
            for update in updates:
                api.push_update(update)

            def answered() -> bool:
                tally.scan()
                return tally.answered == len(users)

            await until(answered, process, "every /subscribe is answered")
            bot_cpu = cpu_seconds(process.pid) - bot_cpu
            fake_cpu = time.process_time() - fake_cpu
            key = parse_id_key(BENCH_KEY) if options.key else None
            errors = tally.errors + await count_signups(contender, url, len(users), key)
            fetched = [
                c.at
                for c in api.calls_to("getUpdates")
                if c.at >= pushed and c.result and c.error is None
            ]
            return Measure(
                seconds=tally.last_answer - pushed,
                updates=len(updates),
                errors=errors,
                bot_cpu=bot_cpu,
                fake_cpu=fake_cpu,
                first_fetch=min(fetched) - pushed,
            )
        finally:
            await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Stop a bot as its service manager would, killing it if it hangs."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def bench(options: argparse.Namespace) -> int:
    """Run the storms; print the figures; return the exit code."""
    postgres = options.database != "sqlite"
    if postgres:
        await prepare_postgres(options.database)
    print(
        f"sign-up storm: {options.users} users x (/start, /subscribe) = {2 * options.users} "
        f"updates, {'PostgreSQL' if postgres else 'SQLite'}, latency {options.latency:g} ms, "
        f"order {options.order}, bare transport {options.bare_transport}, {options.runs} run(s), "
        f"our ids {'sealed under a key' if options.key else 'unsealed'}"
    )
    rates: dict[str, list[float]] = {OURS.name: [], BARE.name: []}
    ratios: list[float] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="storm-") as scratch:
        for run in range(1, options.runs + 1):
            # Alternate who goes first, so neither always gets the cooler (or warmer) machine.
            contenders = (OURS, BARE) if run % 2 else (BARE, OURS)
            results: dict[str, Measure] = {}
            for contender in contenders:
                name = f"{contender.name}-{run}"
                url = options.database
                if postgres:
                    await drop_tables(url)
                else:
                    url = f"sqlite:///{Path(scratch) / name}.db"
                log = Path(scratch) / f"{name}.log"
                try:
                    result = await measure(contender, options, url, log)
                except RuntimeError as error:
                    print(f"run {run}: {contender.name}: {error}; its log ends:")
                    print(log.read_text(errors="replace")[-3000:])
                    return 1
                results[contender.name] = result
                rates[contender.name].append(result.rate)
                for error in result.errors[:10]:
                    print(f"run {run}: {contender.name}: {error}")
                if result.errors:
                    failed = True
                    print(f"run {run}: {contender.name}: {len(result.errors)} error(s)")
            ratio = results[OURS.name].rate / results[BARE.name].rate
            ratios.append(ratio)
            print(f"run {run} ({contenders[0].name} first)")
            for name in (OURS.name, BARE.name):
                print(f"  {name}  {results[name].line()}")
            print(f"  ratio ours/bare {ratio:.2f}")
    ours, bare = statistics.median(rates[OURS.name]), statistics.median(rates[BARE.name])
    ratio = statistics.median(ratios)
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(
        f"median: ours {ours:.1f} updates/s, bare {bare:.1f} updates/s, "
        f"ratio ours/bare {ratio:.2f} (target >= {TARGET}: {verdict})"
    )
    print("errors: some (see above)" if failed else "errors: 0; every sign-up recorded")
    return 1 if failed else 0


def main() -> int:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="people in the storm")
    parser.add_argument("--runs", type=int, default=3, help="storms per bot")
    parser.add_argument(
        "--database",
        default="sqlite",
        help=f"sqlite (a fresh file per storm), postgresql (= {POSTGRES_URL}), or a URL",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="ms added to every answer")
    parser.add_argument(
        "--order",
        choices=("paired", "waves"),
        default="paired",
        help="paired: each person's two commands side by side; waves: all /start first",
    )
    parser.add_argument(
        "--bare-transport",
        choices=("bot", "httpx"),
        default="bot",
        help="the bare bot's HTTP transport: the bot's own (bot.delivery.http), or PTB's default",
    )
    parser.add_argument(
        "--profile", metavar="DIR", type=Path, help="run our bot under cProfile, into DIR"
    )
    parser.add_argument(
        "--key", action="store_true", help="our bot seals the ids under a key (issue 14)"
    )
    options = parser.parse_args()
    if options.database == "postgresql":
        options.database = POSTGRES_URL
    elif options.database != "sqlite" and not options.database.startswith("postgresql://"):
        parser.error("--database: sqlite, postgresql, or a postgresql:// URL")
    if options.profile is not None:
        options.profile = options.profile.resolve()
        options.profile.mkdir(parents=True, exist_ok=True)
    return asyncio.run(bench(options))


if __name__ == "__main__":
    sys.exit(main())
