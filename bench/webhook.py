"""Webhook scaling: the sign-up storm posted to one webhook process, then to two, on PostgreSQL.

    python bench/webhook.py [--users 2000] [--runs 3] [--processes 1 2]

Each run starts P `python -m bot run` processes in webhook mode on one PostgreSQL database (its
tables dropped first), all answering to the fake Bot API served here. Acting as Telegram (and
as the reverse proxy in front of the processes), this process posts each person's /start, then
their /subscribe, to the webhook of process `person % P`, 64 posts in flight at a time, and
times the storm from the first post to the last answer to /subscribe. The sizes alternate in
order between runs. Besides updates per second it prints where the machine's CPU went (the bot
processes, this process, PostgreSQL), because on a 2-core machine a second process can only
add what the cores have left.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.storm import (  # noqa: E402
    OURS,
    POSTGRES_URL,
    Tally,
    count_signups,
    cpu_seconds,
    drop_tables,
    prepare_postgres,
    stop,
    storm,
)
from bot.preview.updates import with_id  # noqa: E402
from bot.server.webhook import SECRET_HEADER  # noqa: E402
from tests.fake_telegram import TOKEN, FakeTelegram  # noqa: E402

SECRET = "bench-webhook-secret-0123456789"
FIRST_USER = 10_000_000
IN_FLIGHT = 64
TIMEOUT = 600.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measure:
    """One storm against P processes."""

    processes: int
    seconds: float
    updates: int
    errors: list[str]
    bots_cpu: float
    driver_cpu: float  # this process: the fake Bot API and the posting
    postgres_cpu: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def line(self) -> str:
        busy = (self.bots_cpu + self.driver_cpu + self.postgres_cpu) / (2 * self.seconds)
        return (
            f"{self.processes} process(es): {self.rate:6.1f} updates/s ({self.seconds:5.2f} s); "
            f"CPU bots {self.bots_cpu / self.seconds:4.0%}, driver "
            f"{self.driver_cpu / self.seconds:4.0%}, PostgreSQL "
            f"{self.postgres_cpu / self.seconds:4.0%} of one core; both cores {busy:4.0%} busy"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_cpu() -> float:
    """Return the CPU seconds used so far by every PostgreSQL process on this machine."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text.split("(", 1)[1].rsplit(")", 1)
        if name.startswith("postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def healthy(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"a bot exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("a bot never became healthy")
            await asyncio.sleep(0.05)


async def measure(processes: int, users_count: int, scratch: Path) -> Measure:
    """Start the processes, post the storm, time it until every sign-up is answered."""
    await drop_tables(POSTGRES_URL)
    async with FakeTelegram() as fake:
        users = range(FIRST_USER, FIRST_USER + users_count)
        tally = Tally(fake.api, OURS, users)
        ports = [free_port() for _ in range(processes)]
        bots = []
        for index, port in enumerate(ports):
            env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": os.environ.get("HOME", "/tmp"),
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": fake.url,
                "DATABASE_URL": POSTGRES_URL,
                "CAMPAIGNS_DIR": "campaigns",
                "LOG_LEVEL": "WARNING",
                "WEBHOOK_URL": "https://bot.example.org/telegram",
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_PORT": str(port),
            }
            with (scratch / f"bot{index}.log").open("a") as log:
                bots.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        "run",
                        env=env,
                        cwd=ROOT,
                        stdout=log,
                        stderr=log,
                    )
                )
            if index == 0:  # the first creates the tables; the others then find them
                await healthy(port, bots[0])
        try:
            for port, bot in zip(ports, bots, strict=True):
                await healthy(port, bot)
            updates = storm(users, "paired")
            pairs = [updates[i : i + 2] for i in range(0, len(updates), 2)]
            work = iter(enumerate(pairs))
            numbers = iter(range(1, 10 * len(updates)))
            errors: list[str] = []
            connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
            cpu_before = [cpu_seconds(bot.pid) for bot in bots]
            driver_before, postgres_before = time.process_time(), postgres_cpu()
            started = time.monotonic()
            async with aiohttp.ClientSession(connector=connector) as session:

                async def poster() -> None:
                    for index, pair in work:  # one person: /start, then /subscribe
                        port = ports[index % processes]
                        for update in pair:
                            body = with_id(update, next(numbers))
                            async with session.post(
                                f"http://127.0.0.1:{port}/telegram",
                                json=body,
                                headers={SECRET_HEADER: SECRET},
                            ) as answer:
                                if answer.status != 200:
                                    errors.append(f"webhook answered {answer.status}")

                await asyncio.gather(*(poster() for _ in range(IN_FLIGHT)))
                deadline = time.monotonic() + TIMEOUT
                while True:
                    tally.scan()
                    if tally.answered == len(users):
                        break
                    if any(bot.returncode is not None for bot in bots):
                        raise RuntimeError("a bot exited during the storm")
                    if time.monotonic() > deadline:
                        raise RuntimeError("timed out before every /subscribe was answered")
                    await asyncio.sleep(0.01)
            bots_cpu = sum(
                cpu_seconds(bot.pid) - before for bot, before in zip(bots, cpu_before, strict=True)
            )
            driver_cpu = time.process_time() - driver_before
            postgres_used = postgres_cpu() - postgres_before
            errors += tally.errors + await count_signups(OURS, POSTGRES_URL, len(users))
            return Measure(
                processes=processes,
                seconds=tally.last_answer - started,
                updates=len(updates),
                errors=errors,
                bots_cpu=bots_cpu,
                driver_cpu=driver_cpu,
                postgres_cpu=postgres_used,
            )
        finally:
            for bot in bots:
                await stop(bot)


async def bench(options: argparse.Namespace) -> int:
    await prepare_postgres(POSTGRES_URL)
    sizes = options.processes
    print(
        f"webhook storm: {options.users} users x (/start, /subscribe) = {2 * options.users} "
        f"updates, PostgreSQL, processes {sizes}, {options.runs} run(s)"
    )
    rates: dict[int, list[float]] = {size: [] for size in sizes}
    failed = False
    with tempfile.TemporaryDirectory(prefix="webhook-") as scratch:
        for run in range(1, options.runs + 1):
            order = sizes if run % 2 else list(reversed(sizes))
            for size in order:
                result = await measure(size, options.users, Path(scratch))
                rates[size].append(result.rate)
                print(f"run {run}: {result.line()}")
                for error in result.errors[:10]:
                    print(f"run {run}: {size} process(es): {error}")
                failed = failed or bool(result.errors)
    medians = {size: statistics.median(values) for size, values in rates.items()}
    summary = ", ".join(f"{size}: {rate:.1f} updates/s" for size, rate in medians.items())
    print(f"median: {summary}")
    if len(sizes) >= 2:
        ratio = medians[sizes[-1]] / medians[sizes[0]]
        print(f"ratio {sizes[-1]} processes / {sizes[0]}: {ratio:.2f}")
    print("errors: some (see above)" if failed else "errors: 0; every sign-up recorded")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
