"""Broadcast bench: the real bot, as a process, sending to N subscribers under Telegram's limits.

    python bench/broadcast.py --subscribers 1000 100000 --paid --probe
    python bench/broadcast.py --subscribers 1000 --runs 3 --trees /tmp/before .
    python bench/broadcast.py --subscribers 10000 --paid --photo --edit --runs 3
    python bench/broadcast.py --subscribers 10000 --paid --runs 3 --key   # ids sealed

Each run: a fresh database seeded with N subscribers of `rafah` (~97% people, ~2% groups, one
group that migrates to a supergroup, ~1% who blocked the bot), the limited fake Bot API here,
`python -m bot run` as a subprocess; the organizer sends `/broadcast` and presses Send, and the
run ends when the database says the broadcast is done. Then a second broadcast is started to
check that the chats which answered 403 are no longer queued. Exit status 1 if any run had
duplicates, misses, or (at the free ceiling) any 429.

With `--trees`, each run is made once for each checkout's bot (a git worktree of an older
commit, say), the order alternating between runs, and the medians are compared side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CAMPAIGN,
    ROOT,
    Audience,
    BotProcess,
    edit_broadcast,
    fetch_ints,
    fresh_database,
    inject_faults,
    median,
    prepare_broadcast,
    press_send,
    received,
    seed,
    sent_beside,
    stop_on_sigterm,
    until,
    wait_until_corrected,
    wait_until_started,
)
from bench.telegram_limits import FREE_RATE, PAID_RATE, LimitedTelegram
from bot.preview.updates import message_update
from bot.storage import Storage

PROBES = 15
_PROBE_BASE = 700_000_000  # each probe from a new user: the flood guard allows 8 in a burst
PROBE_TIMEOUT = 15.0


@dataclass
class Run:
    """What one run measured."""

    size: int
    number: int
    ceiling: float
    delivered: int = 0
    rate: float = float("nan")
    too_many: dict[str, int] = field(default_factory=dict)
    too_many_broadcast: int = 0
    duplicates: int = 0
    missed: int = 0
    blocked: int = 0
    blocked_marked: int = 0
    queued_blocked: int = -1  # blocked chats queued by the second broadcast (-1: not checked)
    start: float = float("nan")
    send_seconds: float = float("nan")
    longest_gap: float = float("nan")  # the longest silence between two arrivals: a stall
    peak_rss_mb: float = float("nan")
    rss_before_mb: float = float("nan")  # just before Send: what the broadcast adds is the rest
    cpu_per_1k: float = float("nan")
    idle: list[tuple[float, float]] = field(default_factory=list)
    busy: list[tuple[float, float]] = field(default_factory=list)
    probe_timeouts: int = 0
    edit_rate: float = float("nan")  # with --edit: copies edited per second
    edited: int = 0
    edit_too_many: int = 0
    edit_duplicates: int = 0
    edit_missed: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        """Tell whether the run passes: no duplicates, no misses, 403s handled, no 429 if free."""
        free = self.ceiling == FREE_RATE
        return (
            not self.error
            and self.duplicates == 0
            and self.missed == 0
            and self.blocked_marked == self.blocked
            and self.queued_blocked == 0
            and not (free and sum(self.too_many.values()))
            and self.edit_too_many == 0
            and self.edit_duplicates == 0
            and self.edit_missed == 0
        )

    def line(self) -> str:
        """Return the run as one line."""
        too_many = sum(self.too_many.values())
        parts = [
            f"N={self.size} run {self.number}: {self.rate:.1f} msg/s "
            f"({self.rate / self.ceiling:.2f} of {self.ceiling:.0f}) over "
            f"{self.send_seconds:.1f} s, {self.delivered} delivered, longest gap "
            f"{self.longest_gap * 1000:.0f} ms",
            f"429s {too_many}",
            f"duplicates {self.duplicates}",
            f"missed {self.missed}",
            f"403 marked blocked {self.blocked_marked}/{self.blocked}",
            f"start {self.start:.2f} s",
            f"peak RSS {self.peak_rss_mb:.1f} MB ({self.rss_before_mb:.1f} before Send)",
            f"CPU {self.cpu_per_1k:.2f} s/1k msgs",
        ]
        if too_many:
            parts[1] += f" {self.too_many} ({self.too_many_broadcast} to recipients)"
        if self.queued_blocked:
            parts[4] += f", {self.queued_blocked} queued again by the next broadcast"
        else:
            parts[4] += ", skipped by the next broadcast"
        if self.edited:
            parts.append(
                f"edit: {self.edited} copies at {self.edit_rate:.2f}/s "
                f"({self.edit_rate / FREE_RATE:.3f} of {FREE_RATE:.0f}), 429s "
                f"{self.edit_too_many}, edited twice {self.edit_duplicates}, missed "
                f"{self.edit_missed}"
            )
        if self.idle or self.busy:
            parts.append(probe_summary(self.idle, self.busy, self.probe_timeouts))
        if self.error:
            parts.append(f"ERROR: {self.error}")
        return " · ".join(parts)


def probe_summary(
    idle: list[tuple[float, float]], busy: list[tuple[float, float]], timeouts: int
) -> str:
    """Return /statement latencies: first reply and last part, idle and busy, and the ratio."""
    first_idle, last_idle = median([p[0] for p in idle]), median([p[1] for p in idle])
    first_busy, last_busy = median([p[0] for p in busy]), median([p[1] for p in busy])
    text = (
        f"/statement idle {first_idle * 1000:.0f} ms (last part {last_idle * 1000:.0f}, "
        f"n={len(idle)}), busy {first_busy * 1000:.0f} ms (last part {last_busy * 1000:.0f}, "
        f"n={len(busy)}), busy/idle {first_busy / first_idle:.1f}x"
    )
    return text + (f", {timeouts} unanswered" if timeouts else "")


class Prober:
    """Asks /statement as a new person each time, and times the reply's first and last part."""

    def __init__(self, telegram: LimitedTelegram) -> None:
        self.telegram = telegram
        self.parts = 0  # learned from the first probe: how many messages /statement sends
        self._users = iter(range(_PROBE_BASE, _PROBE_BASE + 1_000_000))

    async def probe(self) -> tuple[float, float] | None:
        """Return seconds to the first and to the last part of the reply, or None if none came."""
        user = next(self._users)
        self.telegram.watch(user)
        arrivals = self.telegram.by_chat[user]
        pushed = time.monotonic()
        self.telegram.api.push_update(message_update("/statement", user_id=user))
        try:
            await until(lambda: len(arrivals) >= max(self.parts, 1), "a reply", PROBE_TIMEOUT)
            if not self.parts:
                while True:  # the reply is complete once nothing more arrives for a second
                    seen = len(arrivals)
                    await asyncio.sleep(1.0)
                    if len(arrivals) == seen:
                        break
                self.parts = len(arrivals)
        except TimeoutError:
            return None
        return arrivals[0][0] - pushed, arrivals[self.parts - 1][0] - pushed


async def probe_idle(prober: Prober, run: Run) -> None:
    """Probe the bot before the broadcast, a little apart."""
    for _ in range(PROBES):
        result = await prober.probe()
        if result is None:
            run.probe_timeouts += 1
        else:
            run.idle.append(result)
        await asyncio.sleep(0.2)


async def probe_busy(
    prober: Prober, run: Run, arrivals: list[tuple[float, int]], total: int
) -> None:
    """Probe the bot as the broadcast progresses: at 1/16, 2/16, ... of its messages."""
    for index in range(1, PROBES + 1):
        due = total * index / (PROBES + 1)
        await until(lambda due=due: len(arrivals) >= due, "progress", 3600)
        result = await prober.probe()
        if result is None:
            run.probe_timeouts += 1
        else:
            run.busy.append(result)


async def one_run(size: int, number: int, args: argparse.Namespace, tree: Path = ROOT) -> Run:
    """Seed, start `tree`'s bot, broadcast, check, stop; return what was measured."""
    ceiling = PAID_RATE if args.paid else FREE_RATE
    run = Run(size, number, ceiling)
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        workdir = Path(tmp)
        async with fresh_database(args.database, workdir, sealed=args.key) as (url, storage):
            audience = await seed(storage, size)
            run.blocked = len(audience.blocked)
            async with LimitedTelegram() as telegram:
                telegram.latency = args.latency / 1000
                inject_faults(telegram, audience)
                bot = BotProcess(
                    telegram, url, workdir / "bot.log", paid=args.paid, tree=tree, sealed=args.key
                )
                await bot.start()
                try:
                    await _broadcast(run, telegram, storage, bot, audience, args)
                except (TimeoutError, RuntimeError) as error:
                    run.error = str(error).splitlines()[0]
                    print(bot.log_tail(), file=sys.stderr)
                finally:
                    if bot.alive():
                        await bot.stop()
    return run


async def _broadcast(
    run: Run,
    telegram: LimitedTelegram,
    storage: Storage,
    bot: BotProcess,
    audience: Audience,
    args: argparse.Namespace,
) -> None:
    prober = Prober(telegram)
    if args.probe:
        await probe_idle(prober, run)

    body = f"Bench broadcast {secrets.token_hex(6)}"
    broadcast_id, data, message_id = await prepare_broadcast(telegram, body, photo=args.photo)
    arrivals = telegram.by_text[body]
    preview = len(arrivals)  # the organizer's preview carries the same text
    too_many_before = collections.Counter(telegram.too_many)
    run.rss_before_mb = bot.rss_mb()
    pressed = press_send(telegram, data, message_id)
    seconds = 120 + 3 * len(audience.expected) / run.ceiling
    busy = None
    if args.probe:
        busy = probe_busy(prober, run, arrivals, preview + len(audience.expected))
    cpu = await sent_beside(storage, broadcast_id, bot, seconds, busy)

    got = received(arrivals, audience.expected)
    run.delivered, run.duplicates, run.missed = got.delivered, got.duplicates, got.missed
    run.too_many = dict(collections.Counter(telegram.too_many) - too_many_before)
    run.too_many_broadcast = sum(telegram.too_many_chats[chat] for chat in audience.expected)
    if got.times:
        first, last = got.times[0], got.times[-1]
        run.start = first - pressed
        run.send_seconds = last - first
        run.longest_gap = max((b - a for a, b in itertools.pairwise(got.times)), default=0.0)
        if last > first:
            run.rate = got.rate
    run.cpu_per_1k = cpu / max(run.delivered, 1) * 1000
    if args.edit:
        await _edit(run, telegram, storage, audience, broadcast_id)

    # Every 403 is remembered, and the next broadcast does not queue those chats again.
    marked = await fetch_ints(
        storage,
        "SELECT chat_id FROM subscriptions WHERE campaign_id = :campaign AND status = 'blocked'",
        campaign=CAMPAIGN,
    )
    run.blocked_marked = len(audience.blocked & set(marked))
    second, data, message_id = await prepare_broadcast(
        telegram, f"Bench again {secrets.token_hex(6)}"
    )
    press_send(telegram, data, message_id)
    await wait_until_started(storage, second)
    queued = await fetch_ints(
        storage, "SELECT chat_id FROM deliveries WHERE broadcast_id = :id", id=second
    )
    run.queued_blocked = len(audience.blocked & set(queued))

    run.peak_rss_mb = bot.peak_rss_mb()
    await bot.stop(signal.SIGTERM)


async def _edit(
    run: Run,
    telegram: LimitedTelegram,
    storage: Storage,
    audience: Audience,
    broadcast_id: int,
) -> None:
    """Correct the broadcast just sent, as an organizer does, and measure the edits."""
    too_many_before = telegram.total_too_many()
    changes_before = len(telegram.changed_at)
    correction_id = await edit_broadcast(
        telegram, broadcast_id, f"Corrected {secrets.token_hex(6)}"
    )
    seconds = 120 + 3 * len(audience.expected) / FREE_RATE
    await wait_until_corrected(storage, correction_id, seconds)
    edits = collections.Counter(
        chat
        for (chat, _message), count in telegram.edits.items()
        if chat in audience.expected
        for _ in range(count)
    )
    run.edited = len(edits)
    run.edit_duplicates = sum(1 for count in edits.values() if count > 1)
    run.edit_missed = len(audience.expected - edits.keys())
    run.edit_too_many = telegram.total_too_many() - too_many_before
    times = sorted(
        at for at, chat in telegram.changed_at[changes_before:] if chat in audience.expected
    )
    if len(times) > 1 and times[-1] > times[0]:
        run.edit_rate = (len(times) - 1) / (times[-1] - times[0])


def summary(size: int, runs: list[Run]) -> str:
    """Return the medians of one size's runs."""
    rate = median([r.rate for r in runs])
    ceiling = runs[0].ceiling
    text = (
        f"N={size} median of {len(runs)}: {rate:.1f} msg/s ({rate / ceiling:.2f} of "
        f"{ceiling:.0f}) · 429s {sum(sum(r.too_many.values()) for r in runs)} · duplicates "
        f"{sum(r.duplicates for r in runs)} · missed {sum(r.missed for r in runs)} · start "
        f"{median([r.start for r in runs]):.2f} s · peak RSS "
        f"{median([r.peak_rss_mb for r in runs]):.1f} MB · CPU "
        f"{median([r.cpu_per_1k for r in runs]):.2f} s/1k msgs"
    )
    if any(r.edited for r in runs):
        edit = median([r.edit_rate for r in runs])
        text += (
            f" · edit {edit:.2f}/s ({edit / FREE_RATE:.3f} of {FREE_RATE:.0f}), 429s "
            f"{sum(r.edit_too_many for r in runs)}, edited twice "
            f"{sum(r.edit_duplicates for r in runs)}, missed {sum(r.edit_missed for r in runs)}"
        )
    idle = [p for r in runs for p in r.idle]
    busy = [p for r in runs for p in r.busy]
    if idle or busy:
        text += " · " + probe_summary(idle, busy, sum(r.probe_timeouts for r in runs))
    return text


async def main_async(args: argparse.Namespace) -> int:
    """Run every size the given number of times, printing as it goes."""
    stop_on_sigterm()
    mode = "paid (1000/s)" if args.paid else "free (30/s)"
    database = args.database or "SQLite (a new file per run)"
    what = "a photo" if args.photo else "text"
    sealed = "ids sealed under a key" if args.key else "ids unsealed"
    print(
        f"broadcast bench: {what}, {mode}, latency {args.latency:g} ms, {database}, {sealed}",
        flush=True,
    )
    trees: list[Path] = args.trees
    several = len(trees) > 1
    if several:
        print(f"side by side, alternating: {', '.join(map(str, trees))}", flush=True)
    results: dict[Path, dict[int, list[Run]]] = {tree: {} for tree in trees}
    for size in args.subscribers:
        for number in range(1, args.runs + 1):
            # Alternate who goes first, so neither always gets the cooler (or warmer) machine.
            for tree in trees if number % 2 else trees[::-1]:
                run = await one_run(size, number, args, tree)
                results[tree].setdefault(size, []).append(run)
                print(f"{tree}: {run.line()}" if several else run.line(), flush=True)
    print("summary:")
    for tree, sizes in results.items():
        for size, runs in sizes.items():
            print(f"{tree}: {summary(size, runs)}" if several else summary(size, runs))
        if len(sizes) > 1:
            small, large = min(sizes), max(sizes)
            ratio = median([r.peak_rss_mb for r in sizes[large]]) / median(
                [r.peak_rss_mb for r in sizes[small]]
            )
            print(f"peak RSS at N={large} is {ratio:.2f}x that at N={small}")
    if several:
        first = trees[0]
        for tree in trees[1:]:
            for size in args.subscribers:
                base, other = results[first][size], results[tree][size]
                rate = median([r.rate for r in other]) / median([r.rate for r in base])
                cpu = median([r.cpu_per_1k for r in other]) / median([r.cpu_per_1k for r in base])
                print(
                    f"N={size}: {tree} / {first}: throughput {rate:.2f}x, CPU per 1k msgs "
                    f"{cpu:.2f}x"
                )
    return 0 if all(r.ok for s in results.values() for runs in s.values() for r in runs) else 1


def main() -> int:
    """Parse the command line and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000], metavar="N")
    parser.add_argument("--paid", action="store_true", help="PAID_BROADCASTS=true: 1000/s")
    parser.add_argument("--photo", action="store_true", help="broadcast a photo (by file id)")
    parser.add_argument(
        "--edit", action="store_true", help="then edit every copy, as an organizer does"
    )
    parser.add_argument("--key", action="store_true", help="ids sealed under a key (issue 14)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database", metavar="URL", help="postgresql://...; default: SQLite")
    parser.add_argument("--probe", action="store_true", help="time /statement, idle and busy")
    parser.add_argument(
        "--trees",
        type=Path,
        nargs="+",
        default=[ROOT],
        metavar="DIR",
        help="checkouts whose bots to run, each in turn (default: this one)",
    )
    try:
        args = parser.parse_args()
        args.trees = [tree.resolve() for tree in args.trees]
        return asyncio.run(main_async(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted: the bot was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
