"""What the broadcast benches share: a database, an audience, the bot as a process, the admin."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import os
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.telegram_limits import LimitedTelegram
from bot.config import new_id_key, parse_id_key
from bot.preview.updates import callback_update, media_update, message_update
from bot.storage import Storage, SubscriptionRecord, metadata
from bot.storage.sealing import sealer_of
from tests.fake_telegram import TOKEN

ROOT = Path(__file__).resolve().parent.parent
ADMIN = 42
CAMPAIGN = "rafah"
POSTGRES_DATABASE = "solidarity_bench"
_PRIVATE_BASE = 1_000_000_000  # people: well clear of ADMIN and the probes
_GROUP_BASE = -1_001_000_000_000  # supergroups
MIGRATING_GROUP, MIGRATED_TO = -4_000_000_001, -1_009_000_000_001
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# `--key`: the ids sealed under a key made for this process (issue 14), given to the bot
# in ID_ENCRYPTION_KEY and used by the bench's own storage.
BENCH_KEY = new_id_key()


async def until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Wait until `condition()` holds, or fail saying what never happened."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:.0f} s waiting until {what}")
        await asyncio.sleep(0.005)


def median(values: Sequence[float]) -> float:
    """Return the median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def stop_on_sigterm() -> None:
    """Turn SIGTERM (from `timeout`, say) into cancellation, so the bot is stopped on the way."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


# The database


@contextlib.asynccontextmanager
async def fresh_database(
    url: str | None, workdir: Path, *, sealed: bool = False
) -> AsyncIterator[tuple[str, Storage]]:
    """Yield an empty database: a new SQLite file in `workdir`, or PostgreSQL's tables anew
    (its ids sealed under BENCH_KEY if `sealed`)."""
    key = parse_id_key(BENCH_KEY) if sealed else None
    if url is None:
        url = f"sqlite:///{workdir / 'bench.db'}"
        storage = await Storage.open(url, key=key)
    else:
        url = await _postgres_database(url)
        storage = Storage.connect(url, key=key)
        async with storage.engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await storage.create_schema()
    try:
        yield url, storage
    finally:
        await storage.close()


@contextlib.asynccontextmanager
async def postgres_server(url: str) -> AsyncIterator[Any]:
    """Connect to the maintenance database of the server `url` names, to create and drop the
    bench's own databases."""
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database="postgres",
    )
    try:
        yield connection
    finally:
        await connection.close()


async def _postgres_database(url: str) -> str:
    """Return the URL of the bench's own database on that server, creating it if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise SystemExit(f"--database: expected a postgresql:// URL, got {parsed.drivername}")
    parsed = parsed.set(drivername="postgresql", database=parsed.database or POSTGRES_DATABASE)
    async with postgres_server(url) as server:
        exists = await server.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await server.execute(f'CREATE DATABASE "{parsed.database}"')
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class Received:
    """What the subscribers expected got of one broadcast."""

    delivered: int
    duplicates: int  # chats that got it more than once
    missed: int  # expected chats that never got it
    times: list[float]  # when each copy arrived, sorted

    @property
    def rate(self) -> float:
        """Return the messages per second from the first arrival to the last."""
        times = self.times
        if len(times) < 2 or times[-1] <= times[0]:
            return float("nan")
        return (len(times) - 1) / (times[-1] - times[0])


def received(arrivals: Sequence[tuple[float, int]], expected: Collection[int]) -> Received:
    """Tally a broadcast's arrivals (time, chat), the organizer's preview left out."""
    chats = [(at, chat) for at, chat in arrivals if chat != ADMIN]
    counts = collections.Counter(chat for _, chat in chats)
    return Received(
        delivered=len(chats),
        duplicates=sum(1 for count in counts.values() if count > 1),
        missed=len(set(expected) - counts.keys()),
        # Sorted: arrivals are indexed when answered, which latency can reorder.
        times=sorted(at for at, _ in chats),
    )


async def fetch_ints(storage: Storage, query: str, **params: Any) -> list[int]:
    """Run one SELECT of a single integer column directly on the bot's tables (an id column's
    stored bytes are unsealed, bot/storage/sealing.py)."""
    sealer = sealer_of(storage.engine.sync_engine.dialect)
    async with storage.engine.connect() as connection:
        rows = await connection.execute(text(query), params)
        return [sealer.unseal(v) if isinstance(v, bytes) else int(v) for (v,) in rows]


async def broadcast_state(storage: Storage, broadcast_id: int) -> str | None:
    """Return the broadcast's state, as the bot stores it."""
    progress = await storage.progress(broadcast_id)
    return None if progress is None else progress.state


# The audience


@dataclass(frozen=True)
class Audience:
    """Who is subscribed, and who should get a broadcast."""

    expected: frozenset[int]  # chat ids that should receive it (a migrated group at its new id)
    blocked: frozenset[int]  # chats that answer 403
    groups: int
    total: int


async def seed(storage: Storage, count: int, *, faults: bool = True) -> Audience:
    """Subscribe `count` chats: ~97% people, ~2% groups (one migrating), ~1% that blocked us."""
    now = dt.datetime.now(dt.UTC)
    records, expected, blocked, groups = [], set(), set(), 0
    for index in range(count):
        if faults and index % 100 == 99:
            chat_id, chat_type = _PRIVATE_BASE + index, "private"
            blocked.add(chat_id)
        elif faults and index % 50 == 25:
            groups += 1
            if groups == 1:
                chat_id, chat_type = MIGRATING_GROUP, "group"
                expected.add(MIGRATED_TO)
            else:
                chat_id, chat_type = _GROUP_BASE - index, "supergroup"
                expected.add(chat_id)
        else:
            chat_id, chat_type = _PRIVATE_BASE + index, "private"
            expected.add(chat_id)
        records.append(
            SubscriptionRecord(
                chat_id=chat_id,
                campaign_id=CAMPAIGN,
                chat_type=chat_type,
                language_code=None if chat_id < 0 else "en",
                status="active",
                source="bench",
                subscribed_at=now,
                updated_at=now,
            )
        )
    await storage.add_subscriptions(records)
    if storage.dialect == "postgresql":
        # A live database has statistics (autovacuum); a just-filled table has none, and then
        # PostgreSQL may plan the outbox's join as a nested loop over every subscription.
        async with storage.engine.connect() as connection:
            await connection.execute(text("ANALYZE subscriptions"))
            await connection.commit()
    return Audience(frozenset(expected), frozenset(blocked), groups, count)


def inject_faults(telegram: LimitedTelegram, audience: Audience) -> None:
    """Make the blocked chats answer 403 and the migrating group answer 400 with its new id."""
    telegram.api.blocked.update(audience.blocked)
    if MIGRATED_TO in audience.expected:
        telegram.api.migrated[MIGRATING_GROUP] = MIGRATED_TO


# The bot, as a process


class BotProcess:
    """`python -m bot run` against the fake Bot API, with its CPU time and peak memory."""

    def __init__(
        self,
        telegram: LimitedTelegram,
        database_url: str,
        log: Path,
        *,
        paid: bool = False,
        tree: Path = ROOT,
        sealed: bool = False,
    ) -> None:
        self.telegram = telegram
        self.log = log
        # `python -m bot` imports the `bot` package of its working directory: another checkout
        # (a git worktree of an older commit, say) runs that commit's code.
        self.tree = tree
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "DATABASE_URL": database_url,
            "BOT_ADMINS": str(ADMIN),
            "CAMPAIGNS_DIR": "campaigns",
            "LOG_LEVEL": "WARNING",
        }
        if paid:
            self.env["PAID_BROADCASTS"] = "true"
        if sealed:
            self.env["ID_ENCRYPTION_KEY"] = BENCH_KEY
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """Return the process id."""
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Start the bot and wait until it polls for updates."""
        polls = self.telegram.requests["getUpdates"]
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.env,
                cwd=self.tree,
                stdout=log,
                stderr=log,
            )
        process = self.process
        await until(
            lambda: self.telegram.requests["getUpdates"] > polls or process.returncode is not None,
            "the bot polls",
            60,
        )
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited with {process.returncode}:\n{self.log_tail()}")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the bot and return its exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 60)

    def alive(self) -> bool:
        """Tell whether the process is still running."""
        return self.process is not None and self.process.returncode is None

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system) the bot has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def peak_rss_mb(self) -> float:
        """Return the bot's peak resident memory (VmHWM) in MB."""
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        """Return the bot's resident memory now (VmRSS) in MB."""
        return self._status_mb("VmRSS:")

    def _status_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return float("nan")

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the bot's log, for a failure message."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# The organizer


def send_button(
    telegram: LimitedTelegram, seen: int, prefix: str = "bc:send:"
) -> tuple[str, int] | None:
    """Return a button's data (the Send button's, unless said) and its message, from the
    organizer's chat after its first `seen` messages."""
    for _, message in telegram.by_chat[ADMIN][seen:]:
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data", ""))
                if data.startswith(prefix):
                    return data, int(message["message_id"])
    return None


async def press_button(telegram: LimitedTelegram, seen: int, prefix: str) -> str:
    """Wait for a button in the organizer's chat and press it; return its data."""
    await until(lambda: send_button(telegram, seen, prefix) is not None, f"a {prefix} button")
    found = send_button(telegram, seen, prefix)
    assert found is not None
    data, message_id = found
    telegram.api.push_update(callback_update(data, user_id=ADMIN, message_id=message_id))
    return data


async def edit_broadcast(telegram: LimitedTelegram, broadcast_id: int, text: str) -> int:
    """Correct a sent broadcast as an organizer does: /broadcasts, its Edit button, the
    corrected text as a reply to the bot's question, Apply. Return the correction's id."""
    seen = len(telegram.by_chat[ADMIN])
    telegram.api.push_update(message_update("/broadcasts", user_id=ADMIN))
    await press_button(telegram, seen, f"fx:edit:{broadcast_id}")

    def question() -> dict[str, Any] | None:
        return next(
            (m for _, m in telegram.by_chat[ADMIN][seen:] if "force_reply" in str(m)), None
        )

    await until(lambda: question() is not None, "the bot asking for the corrected text")
    asked = question()
    assert asked is not None
    seen = len(telegram.by_chat[ADMIN])
    telegram.api.push_update(message_update(text, user_id=ADMIN, reply_to=asked))
    data = await press_button(telegram, seen, "fx:apply:")
    return int(data.rsplit(":", 1)[1])


async def wait_until_corrected(storage: Storage, correction_id: int, seconds: float) -> None:
    """Wait until the database says the correction is done."""
    deadline = time.monotonic() + seconds
    while True:
        async with storage.engine.connect() as connection:
            state = await connection.scalar(
                text("SELECT state FROM corrections WHERE id = :id"), {"id": correction_id}
            )
        if state == "done":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"correction {correction_id} not done after {seconds:.0f} s")
        await asyncio.sleep(0.2)


async def prepare_broadcast(
    telegram: LimitedTelegram, body: str, *, photo: bool = False
) -> tuple[int, str, int]:
    """Send `/broadcast rafah <body>` as the organizer (or a photo captioned `body`, and
    `/broadcast rafah` in reply to it); return the id, Send's data and message."""
    telegram.watch(ADMIN)
    seen = len(telegram.by_chat[ADMIN])
    if photo:
        poster = media_update("photo", f"bench-poster-{body}", user_id=ADMIN, caption=body)
        telegram.api.push_update(poster)
        command = message_update(
            f"/broadcast {CAMPAIGN}", user_id=ADMIN, reply_to=poster["message"]
        )
        telegram.api.push_update(command)
    else:
        telegram.api.push_update(message_update(f"/broadcast {CAMPAIGN} {body}", user_id=ADMIN))

    await until(
        lambda: send_button(telegram, seen) is not None,
        "the broadcast preview with its Send button",
    )
    found = send_button(telegram, seen)
    assert found is not None
    data, message_id = found
    return int(data.rsplit(":", 1)[1]), data, message_id


def press_send(telegram: LimitedTelegram, data: str, message_id: int) -> float:
    """Press the preview's Send button as the organizer; return when the press was pushed."""
    telegram.api.push_update(callback_update(data, user_id=ADMIN, message_id=message_id))
    return time.monotonic()


async def wait_until_started(storage: Storage, broadcast_id: int, seconds: float = 60.0) -> None:
    """Wait until the bot has queued the broadcast's recipients (its state left draft)."""
    deadline = time.monotonic() + seconds
    while await broadcast_state(storage, broadcast_id) in (None, "draft"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"broadcast {broadcast_id} was never started")
        await asyncio.sleep(0.05)


async def sent_beside(
    storage: Storage,
    broadcast_id: int,
    bot: BotProcess,
    seconds: float,
    beside: Coroutine[Any, Any, None] | None = None,
) -> float:
    """Wait until the broadcast is done with `beside` running meanwhile (a probe, the desk
    refreshing), then stop it; return the bot's CPU seconds over the wait."""
    task = asyncio.create_task(beside) if beside is not None else None
    cpu_before = bot.cpu_seconds()
    try:
        await wait_until_done(storage, broadcast_id, bot, seconds)
        return bot.cpu_seconds() - cpu_before
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def wait_until_done(
    storage: Storage, broadcast_id: int, bot: BotProcess | None, seconds: float
) -> None:
    """Wait until the database says the broadcast is done (polling cheaply while it sends)."""
    deadline = time.monotonic() + seconds
    while True:
        if broadcast_id not in await storage.sending_broadcasts():
            state = await broadcast_state(storage, broadcast_id)
            if state == "done":
                return
        if bot is not None and not bot.alive():
            raise RuntimeError(f"the bot died while sending:\n{bot.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"broadcast {broadcast_id} not done after {seconds:.0f} s")
        await asyncio.sleep(0.1)
