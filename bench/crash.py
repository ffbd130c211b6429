"""Crash bench: SIGKILL the bot at random moments of one broadcast, restart it, count the damage.

    python bench/crash.py --recipients 2000 --kills 10 --seed 7

The kills are spread over the send (one at a random point of each tenth of it, seeded: the seed
is printed, to replay a run). After each kill the deliveries the database shows in flight
(status 'sending') are counted; they are the most the restart can repeat. At the end the fake
Bot API says who got the message twice or never, and the bot's own count of uncertain
deliveries (`Storage.progress(id).uncertain`) must cover every repeat. Exit status 1 if anyone
was missed or the repeats exceed what the bot owned up to.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ADMIN,
    BotProcess,
    broadcast_state,
    fetch_ints,
    fresh_database,
    prepare_broadcast,
    press_send,
    seed,
    stop_on_sigterm,
    wait_until_done,
)
from bench.telegram_limits import FREE_RATE, PAID_RATE, LimitedTelegram
from bot.storage import Storage


class Reached:
    """Counts the distinct recipients a broadcast reached, as its arrivals come in."""

    def __init__(self, arrivals: list[tuple[float, int]]) -> None:
        self.arrivals = arrivals
        self._chats: set[int] = set()
        self._read = 0

    def count(self) -> int:
        """Return how many recipients (the organizer's preview aside) got it at least once."""
        for _, chat in self.arrivals[self._read :]:
            if chat != ADMIN:
                self._chats.add(chat)
        self._read = len(self.arrivals)
        return len(self._chats)


async def reach(storage: Storage, broadcast_id: int, reached: Reached, due: int) -> bool:
    """Wait until `due` recipients were reached; return False if the broadcast ended first."""
    deadline = time.monotonic() + 600
    checked = 0.0
    while reached.count() < due:
        if time.monotonic() - checked > 0.5:
            checked = time.monotonic()
            if await broadcast_state(storage, broadcast_id) == "done":
                return False
        if time.monotonic() > deadline:
            raise TimeoutError(f"{due} recipients were never reached")
        await asyncio.sleep(0.005)
    return True


def kill_points(rng: random.Random, recipients: int, kills: int) -> list[tuple[int, float]]:
    """Return, per kill, after how many recipients reached and how many seconds later to strike."""
    span = 0.8 * recipients / kills  # all before 85%: a restart re-sends what was in flight
    points = []
    for index in range(kills):
        after = int(0.05 * recipients + span * (index + rng.random()))
        points.append((max(after, 1), rng.uniform(0.0, 0.2)))
    return points


async def crash_run(args: argparse.Namespace, rng: random.Random) -> int:
    """Broadcast, kill and restart the bot at the chosen moments; report; return the exit code."""
    stop_on_sigterm()
    rate = PAID_RATE if args.paid else FREE_RATE
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        workdir = Path(tmp)
        async with fresh_database(args.database, workdir) as (url, storage):
            audience = await seed(storage, args.recipients, faults=False)
            async with LimitedTelegram() as telegram:
                telegram.latency = args.latency / 1000
                bot = BotProcess(telegram, url, workdir / "bot.log", paid=args.paid)
                await bot.start()
                try:
                    body = f"Bench crash {secrets.token_hex(6)}"
                    broadcast_id, data, message_id = await prepare_broadcast(telegram, body)
                    arrivals = telegram.by_text[body]
                    reached = Reached(arrivals)
                    started = time.monotonic()
                    press_send(telegram, data, message_id)
                    in_flight = []
                    for number, (after, delay) in enumerate(
                        kill_points(rng, args.recipients, args.kills), 1
                    ):
                        # At least one new recipient since the restart: the bot is sending again.
                        due = max(after, reached.count() + 1)
                        if not await reach(storage, broadcast_id, reached, due):
                            print(f"the broadcast was done before kill {number}", flush=True)
                            break
                        await asyncio.sleep(delay)
                        await bot.stop(signal.SIGKILL)
                        sent = reached.count()
                        [sending] = await fetch_ints(
                            storage,
                            "SELECT count(*) FROM deliveries "
                            "WHERE broadcast_id = :id AND status = 'sending'",
                            id=broadcast_id,
                        )
                        in_flight.append(sending)
                        print(
                            f"kill {number} at {time.monotonic() - started:.1f} s, "
                            f"{sent} recipients reached: {sending} in flight",
                            flush=True,
                        )
                        await bot.start()
                    seconds = 120 + 3 * args.recipients / rate
                    await wait_until_done(storage, broadcast_id, bot, seconds)
                    progress = await storage.progress(broadcast_id)
                    assert progress is not None
                finally:
                    if bot.alive():
                        await bot.stop()

    counts = collections.Counter(chat for _, chat in arrivals if chat != ADMIN)
    repeated = sum(1 for count in counts.values() if count > 1)
    repeats = sum(count - 1 for count in counts.values())
    missed = len(audience.expected - counts.keys())
    print(
        f"{args.recipients} recipients, {args.kills} kills: {repeated} got it more than once "
        f"({repeats} repeats), {missed} missed; in flight at the kills {sum(in_flight)}, "
        f"uncertain by the bot's count {progress.uncertain}; its status: sent {progress.sent}, "
        f"failed {progress.failed}, blocked {progress.blocked} of {progress.total}"
    )
    ok = missed == 0 and repeats <= progress.uncertain
    if repeats > sum(in_flight):
        print("more repeats than deliveries in flight at the kills", flush=True)
        ok = False
    return 0 if ok else 1


def main() -> int:
    """Parse the command line and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, help="default: a new random seed, printed")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS")
    parser.add_argument("--paid", action="store_true", help="PAID_BROADCASTS=true: 1000/s")
    parser.add_argument("--database", metavar="URL", help="postgresql://...; default: SQLite")
    args = parser.parse_args()
    seed_value = args.seed if args.seed is not None else secrets.randbelow(2**32)
    mode = "paid (1000/s)" if args.paid else "free (30/s)"
    database = args.database or "SQLite"
    print(
        f"crash bench: seed {seed_value}, {mode}, latency {args.latency:g} ms, {database}",
        flush=True,
    )
    try:
        return asyncio.run(crash_run(args, random.Random(seed_value)))
    except (TimeoutError, RuntimeError) as error:
        print(f"crash bench failed: {error}", file=sys.stderr)
        return 2
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted: the bot was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
