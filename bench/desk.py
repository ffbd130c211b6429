"""The organizers' desk (issue 21): its two readings at size, and a broadcast with it open.

    python bench/desk.py latency [--subscribers 100000] [--deliveries 1000000] [--calls 200]
                                 [--database sqlite postgresql://postgres@127.0.0.1/bench_desk]
    python bench/desk.py broadcast [--recipients 10000] [--runs 3] [--database URL ...]
    python bench/desk.py latency --quick      # small sizes, for a smoke run (and the tests)

Each database (`sqlite`: a file; or a postgresql:// URL, whose database is created and dropped)
is seeded with bulk inserts: N subscriptions over three campaigns (joins and leaves spread over
60 days with two surges, sources, languages, chosen languages, topics, pledges), about 36
finished broadcasts whose delivery rows add up to `--deliveries` (sent, blocked, failed,
cancelled; Telegram's reasons), two scheduled, one awaiting approval, two corrections. The bot
runs as `python -m bot run` (polling the limits-enforcing fake, bench/telegram_limits.py) with
its desk on a loopback port, and every call carries `Authorization: tma <initData>` signed
with the bot's token, as Telegram signs it.

- latency: GET /desk/api/overview and /desk/api/broadcasts, one call at a time, alternating,
  after a warm-up; then the desk page's refresh (overview, broadcasts and drafts at once, as
  bot/desk/static/desk.js does); median, p95 and maximum of each. Then the storage calls behind
  the two readings are timed one by one in this process, to show where the time goes.
- broadcast: `/broadcast rafah` to `--recipients` subscribers (the shipped campaign, seeded as
  bench/common.py seeds it; the rest of the N subscriptions and the deliveries in the other two
  campaigns), with the desk open beside it and without, alternating, on a fresh copy of the
  seeded database each run. "Open" is a client doing what desk.js does: the three readings at
  once, then again 1.5 s after they answered while a broadcast is sending (15 s otherwise).
  Prints each run's rate as a fraction of Telegram's 30/s, the medians, and their ratio.
Exit status 1 if a broadcast run lost or repeated a message, or was answered 429.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import math
import os
import random
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import Integer, String, bindparam, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import (  # noqa: E402
    ADMIN,
    CAMPAIGN,
    Audience,
    BotProcess,
    inject_faults,
    median,
    postgres_server,
    prepare_broadcast,
    press_send,
    received,
    seed,
    sent_beside,
    stop_on_sigterm,
)
from bench.telegram_limits import FREE_RATE, LimitedTelegram  # noqa: E402
from bot.campaign.content import Content, load_campaigns  # noqa: E402
from bot.desk.init_data import sign  # noqa: E402
from bot.organizing import broadcasts, overview  # noqa: E402
from bot.storage import Storage, metadata  # noqa: E402
from tests.fake_telegram import TOKEN  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/bench_desk"
DAYS = 60  # the span joins, leaves and broadcasts are spread over
REFRESH_SENDING, REFRESH_IDLE = 1.5, 15.0  # desk.js: REFRESH_SENDING, REFRESH_IDLE
FIRST_REFRESH = 0.3  # desk.js refreshes 300 ms after an organizer's action (refreshSoon)
READINGS = ("overview", "broadcasts", "drafts")  # what one refresh of desk.js asks at once
TARGET_P95_MS = 200.0
_PEOPLE = 3_000_000_000  # the background's chat ids: clear of bench/common.py's
_GROUPS = -1_003_000_000_000
QUICK = {"subscribers": 3000, "deliveries": 20_000, "calls": 10, "recipients": 200, "runs": 1}

# The campaigns: the shipped rafah with three topics added, and two more of the bench's own.
TOPICS = """
topics:
  - id: statements
    title: New statements
  - id: london
    title: Actions in London
  - id: appeals
    title: Urgent appeals
"""
OTHER_CAMPAIGN = """\
id: {id}
title: {title}
organization: Bench Collective
topics:
  - id: statements
    title: New statements
  - id: actions
    title: Actions near you
  - id: appeals
    title: Urgent appeals
statements:
  - title: We stand together
    date: 2026-11-01
    author: Bench Collective
    body: First paragraph.
actions:
  - title: Write to your representative
    description: Ask for an arms embargo.
  - title: Join the vigil
    description: Stand with us on Saturday.
  - title: Share the statement
    description: Send it to three friends.
"""
OTHERS = {"sudan": "Sudan, not forgotten", "congo": "Stand with Congo"}
# Shares of the subscriptions when every campaign is background (latency).
SHARES = {CAMPAIGN: 0.55, "sudan": 0.30, "congo": 0.15}
# The finished broadcasts of each campaign, spread over DAYS: with every campaign in the
# background (latency), and beside rafah's broadcast (whose subscribers are all new).
BROADCASTS = {CAMPAIGN: 20, "sudan": 10, "congo": 6}
BROADCASTS_BESIDE = {"sudan": 24, "congo": 12}

LANGUAGES = [("en", 45), ("ar", 20), ("es", 15), ("fr", 6), ("pt-br", 4), ("de", 3), (None, 7)]
SOURCES = [
    (None, 40),
    ("flyer", 15),
    ("instagram", 15),
    ("march", 10),
    ("whatsapp", 10),
    ("campus-qr", 5),
    ("newsletter", 5),
]
CHOSEN = [("en", 40), ("ar", 30), ("es", 20), ("fr", 10)]  # /language, for 10% of people


def pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    """Return one value of (value, weight) pairs, by weight."""
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile (0.95: p95) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(values: Sequence[float]) -> str:
    """Return median, p95 and maximum of seconds, in ms."""
    return (
        f"median {median(values) * 1000:.0f} ms, p95 {percentile(values, 0.95) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms (n={len(values)})"
    )


# The campaigns folder


def write_campaigns(folder: Path) -> Content:
    """Write the bench's campaigns (rafah with topics, and two others); return them loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    shipped = (ROOT / "campaigns" / f"{CAMPAIGN}.yaml").read_text(encoding="utf-8")
    (folder / f"{CAMPAIGN}.yaml").write_text(shipped + TOPICS, encoding="utf-8")
    for campaign_id, title in OTHERS.items():
        body = OTHER_CAMPAIGN.format(id=campaign_id, title=title)
        (folder / f"{campaign_id}.yaml").write_text(body, encoding="utf-8")
    return load_campaigns(folder)


# The databases


@dataclasses.dataclass(frozen=True)
class Database:
    """Where one bench's database lives: an SQLite file, or a PostgreSQL database."""

    name: str  # "SQLite" or "PostgreSQL"
    url: str

    @property
    def postgres(self) -> bool:
        """Tell whether it is PostgreSQL."""
        return self.name == "PostgreSQL"


def database_of(given: str, workdir: Path, suffix: str = "") -> Database:
    """Return the database `--database` names (`sqlite`, or a postgresql:// URL)."""
    if given == "sqlite":
        return Database("SQLite", f"sqlite:///{workdir / f'desk{suffix}.db'}")
    parsed = make_url(given)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise SystemExit(f"--database: expected sqlite or a postgresql:// URL, got {given!r}")
    name = (parsed.database or "bench_desk") + suffix
    url = parsed.set(drivername="postgresql", database=name)
    return Database("PostgreSQL", url.render_as_string(hide_password=False))


async def create_database(database: Database, template: Database | None = None) -> None:
    """Make the database anew: empty, or a copy of `template` (which nobody may be using)."""
    if database.postgres:
        name = make_url(database.url).database
        async with postgres_server(database.url) as server:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}"')
            copy = "" if template is None else f' TEMPLATE "{make_url(template.url).database}"'
            await server.execute(f'CREATE DATABASE "{name}"{copy}')
        return
    target = make_url(database.url).database or ""
    for stale in (target, f"{target}-wal", f"{target}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    if template is not None:
        await asyncio.to_thread(shutil.copyfile, make_url(template.url).database or "", target)


async def drop_database(database: Database) -> None:
    """Remove the database."""
    if database.postgres:
        name = make_url(database.url).database
        async with postgres_server(database.url) as server:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(make_url(database.url).database or "")


# Seeding: rows made here in bulk, deliveries by INSERT ... SELECT in the database


@dataclasses.dataclass
class Seeded:
    """What went into the database."""

    subscriptions: int = 0
    preferences: int = 0
    pledges: int = 0
    broadcasts: int = 0
    deliveries: int = 0
    seconds: float = 0.0
    audience: Audience | None = None  # rafah's recipients, when seeded for a broadcast

    def line(self) -> str:
        """Return what was seeded, in one line."""
        return (
            f"seeded {self.subscriptions:,} subscriptions, {self.preferences:,} chosen "
            f"languages, {self.pledges:,} pledges, {self.broadcasts} broadcasts with "
            f"{self.deliveries:,} delivery rows in {self.seconds:.1f} s"
        )


def _subscription_rows(
    rng: random.Random, campaigns: dict[str, int], content: Content, now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Return subscriptions, chosen languages and pledges for `campaigns` (id: how many)."""
    start = now - dt.timedelta(days=DAYS)
    surges = {DAYS - 45: 8.0, DAYS - 9: 12.0}  # a march, and a viral post, days from start
    day_weights = [surges.get(day, 1.0) for day in range(DAYS)]
    subscriptions, preferences, pledges = [], [], []
    chosen: set[int] = set()
    earlier: dict[int, str] = {}  # the chats of the campaigns seeded before: their types
    number = 0
    for campaign_id, count in campaigns.items():
        campaign = content.get(campaign_id)
        topics = [t.id for t in campaign.topics] if campaign else []
        keys = [campaign.action_key(a) for a in campaign.actions] if campaign else []
        # One in five of a campaign's chats also follows a campaign seeded before it.
        chats = rng.sample(sorted(earlier.items()), min(len(earlier), count // 5))
        while len(chats) < count:
            number += 1
            kind = rng.random()
            if kind < 0.97:
                chats.append((_PEOPLE + number, "private"))
            else:
                group = "supergroup" if kind < 0.99 else ("group" if kind < 0.995 else "channel")
                chats.append((_GROUPS - number, group))
        earlier.update(chats)
        for chat_id, chat_type in chats:
            day = rng.choices(range(DAYS), day_weights)[0]
            subscribed = start + dt.timedelta(days=day, seconds=rng.uniform(0, 86_400))
            subscribed = min(subscribed, now - dt.timedelta(minutes=1))
            ended = rng.random()
            private = chat_type == "private"
            status = "active"
            if ended < 0.12:
                status = "unsubscribed"
            elif ended < 0.20:
                status = "blocked" if private else "left"
            updated = subscribed
            if status != "active":
                updated = subscribed + (now - subscribed) * rng.random()
            topic_choice = None
            if topics and rng.random() < 0.3:
                followed = rng.sample(topics, rng.randint(1, len(topics) - 1))
                topic_choice = "," + ",".join(followed) + ","
            subscriptions.append(
                {
                    "chat_id": chat_id,
                    "campaign_id": campaign_id,
                    "chat_type": chat_type,
                    "language_code": pick(rng, LANGUAGES) if private else None,
                    "status": status,
                    "source": pick(rng, SOURCES),
                    "subscribed_at": subscribed,
                    "updated_at": updated,
                    "topics": topic_choice,
                }
            )
            if private and chat_id not in chosen and rng.random() < 0.1:
                chosen.add(chat_id)
                preferences.append(
                    {"chat_id": chat_id, "language": pick(rng, CHOSEN), "updated_at": updated}
                )
            if private and keys and status == "active" and rng.random() < 0.2:
                for key in rng.sample(keys, rng.randint(1, 2)):
                    pledged = subscribed + (now - subscribed) * rng.random()
                    pledges.append(
                        {
                            "chat_id": chat_id,
                            "campaign_id": campaign_id,
                            "action": key,
                            "pledged_at": pledged,
                            "reminded_at": None,
                        }
                    )
    return subscriptions, preferences, pledges


def _deliveries_sql(dialect: str) -> str:
    """Return the INSERT ... SELECT of one broadcast's deliveries, outcomes spread by number."""
    message_ids = "'[' || (n % 900000 + 1000) || ']'"
    if dialect == "postgresql":
        message_ids = f"CAST({message_ids} AS json)"
    return f"""
        INSERT INTO deliveries
            (broadcast_id, chat_id, status, attempts, error, updated_at, language, message_ids)
        SELECT :broadcast, chat_id,
            CASE WHEN r < :sent THEN 'sent' WHEN r < :blocked THEN 'blocked'
                 WHEN r < :failed THEN 'failed' ELSE 'cancelled' END,
            CASE WHEN r < :failed THEN 1 ELSE 0 END,
            CASE WHEN r < :sent THEN NULL
                 WHEN r < :blocked THEN 'Forbidden: bot was blocked by the user'
                 WHEN r < :failed THEN CASE WHEN r % 2 = 0 THEN 'Bad Request: chat not found'
                                            ELSE 'Forbidden: user is deactivated' END
            END,
            :at, language_code,
            CASE WHEN r < :sent THEN {message_ids} END
        FROM (
            SELECT chat_id, language_code, n, (n * 7919 + :broadcast * 104729) % 10000 AS r
            FROM (
                SELECT chat_id, language_code, row_number() OVER () AS n
                FROM subscriptions WHERE campaign_id = :campaign LIMIT :count
            ) AS numbered
        ) AS picked
    """


async def _insert_rows(storage: Storage, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` into `table` in batches (executemany; ids sealed by their column type)."""
    statement = insert(metadata.tables[table])
    async with storage.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            await connection.execute(statement, rows[start : start + 5000])


async def seed_desk(
    storage: Storage,
    content: Content,
    campaigns: dict[str, int],
    deliveries: int,
    *,
    recipients: int = 0,
) -> Seeded:
    """Fill an empty database: the background `campaigns` (id: subscriptions) with their
    broadcasts and `deliveries` rows, and `recipients` subscribers of rafah (common.seed)."""
    started = time.monotonic()
    rng = random.Random(21)
    now = storage.clock()
    seeded = Seeded()
    if recipients:
        seeded.audience = await seed(storage, recipients)
    subs, preferences, pledges = _subscription_rows(rng, campaigns, content, now)
    await _insert_rows(storage, "subscriptions", subs)
    await _insert_rows(storage, "preferences", preferences)
    await _insert_rows(storage, "pledges", pledges)
    seeded.subscriptions = len(subs) + recipients
    seeded.preferences, seeded.pledges = len(preferences), len(pledges)

    sizes = collections.Counter(s["campaign_id"] for s in subs)
    plan = [
        (campaign_id, (index + 0.5) / count)
        for campaign_id, count in (BROADCASTS_BESIDE if recipients else BROADCASTS).items()
        if sizes[campaign_id]
        for index in range(count)
    ]
    # Later broadcasts reach more: the campaigns grew. Sized so the rows add up to `deliveries`.
    weights = [sizes[c] * (0.4 + 0.6 * at) for c, at in plan]
    scale = deliveries / sum(weights) if weights else 0.0
    broadcasts_table = metadata.tables["broadcasts"]
    sql = text(_deliveries_sql(storage.dialect)).bindparams(
        bindparam("broadcast", type_=Integer),
        bindparam("campaign", type_=String),
        bindparam("count", type_=Integer),
        bindparam("sent", type_=Integer),
        bindparam("blocked", type_=Integer),
        bindparam("failed", type_=Integer),
        bindparam("at", type_=metadata.tables["deliveries"].c.updated_at.type),
    )
    async with storage.engine.begin() as connection:
        ordered = sorted(zip(plan, weights, strict=True), key=lambda p: p[0][1])
        for number, ((campaign_id, at), weight) in enumerate(ordered):
            count = min(sizes[campaign_id], round(weight * scale))
            begun = now - dt.timedelta(days=DAYS) + dt.timedelta(days=DAYS * at)
            finished = begun + dt.timedelta(seconds=count / FREE_RATE)
            cancelled = number == len(ordered) - 4  # one stopped midway
            values = _broadcast_row(campaign_id, number, begun, finished, cancelled, now)
            broadcast_id = await connection.scalar(
                insert(broadcasts_table).values(**values).returning(broadcasts_table.c.id)
            )
            outcomes = (4000, 4100, 4120) if cancelled else (9650, 9900, 10000)
            result = await connection.execute(
                sql,
                {
                    "broadcast": broadcast_id,
                    "campaign": campaign_id,
                    "count": count,
                    "sent": outcomes[0],
                    "blocked": outcomes[1],
                    "failed": outcomes[2],
                    "at": finished,
                },
            )
            seeded.deliveries += result.rowcount
            seeded.broadcasts += 1
            if number in (len(ordered) - 1, len(ordered) - 6):  # corrected after they went out
                await connection.execute(
                    insert(metadata.tables["corrections"]).values(
                        **_correction_row(broadcast_id, finished, number)
                    )
                )
        background = next(iter(campaigns))
        for number, (state, due) in enumerate(
            [("scheduled", 2), ("scheduled", 5), ("awaiting", None)]
        ):
            begun = now - dt.timedelta(hours=1)
            values = _broadcast_row(background, 100 + number, begun, None, False, now)
            values.update(state=state, started_at=None, finished_at=None)
            if due is not None:
                values["send_at"] = now + dt.timedelta(days=due)
            else:
                values["approval_asked_at"] = begun
            await connection.execute(insert(broadcasts_table).values(**values))
            seeded.broadcasts += 1
    if storage.dialect == "postgresql":
        # A live database has statistics (autovacuum); a just-filled one has none.
        async with storage.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
    seeded.seconds = time.monotonic() - started
    return seeded


def _broadcast_row(
    campaign_id: str,
    number: int,
    begun: dt.datetime,
    finished: dt.datetime | None,
    cancelled: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "kind": "text",
        "parts": [f"Bench broadcast number {number}: " + "words of the update. " * 20],
        "created_by": ADMIN,
        "created_at": begun - dt.timedelta(minutes=5),
        "state": "cancelled" if cancelled else "done",
        "status_chat_id": ADMIN,
        "status_message_id": 10_000 + number,
        "uncertain": 0,
        "started_at": begun,
        "finished_at": finished,
        "report_language": "en",
        "main_language": "en",
    }


def _correction_row(broadcast_id: int, after: dt.datetime, number: int) -> dict[str, Any]:
    return {
        "broadcast_id": broadcast_id,
        "kind": "edit",
        "previous": {"parts": [f"Bench broadcast number {number}"], "translations": {}},
        "corrected": {"parts": [f"Bench broadcast number {number}, corrected"]},
        "created_by": ADMIN,
        "created_at": after + dt.timedelta(minutes=10),
        "state": "done",
        "status_chat_id": ADMIN,
        "status_message_id": 20_000 + number,
        "uncertain": 0,
        "started_at": after + dt.timedelta(minutes=10),
        "finished_at": after + dt.timedelta(minutes=40),
        "report_language": "en",
    }


# The bot with its desk, and a desk client


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def desk_bot(
    telegram: LimitedTelegram, database: Database, workdir: Path
) -> AsyncIterator[tuple[BotProcess, DeskClient]]:
    """Run the bot as a process with its desk on a free loopback port; yield it and a client
    of its desk, once the desk answers. The bot is stopped after, if still alive."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/desk/"
    bot = BotProcess(telegram, database.url, workdir / "bot.log")
    bot.env.update(
        {
            "CAMPAIGNS_DIR": str(workdir / "campaigns"),
            "DESK_URL": url,
            "DESK_PORT": str(port),
            # Nothing deleted while measuring: the seeded rows span 60 days.
            "DELIVERY_RETENTION": "3650d",
            "SUBSCRIPTION_RETENTION": "3650d",
        }
    )
    await bot.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = DeskClient(session, url)
            await client.ready()
            yield bot, client
    finally:
        if bot.alive():
            await bot.stop()


class DeskClient:
    """Calls the desk's API as its page does, signed as Telegram signs a Mini App's initData."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    def credential(self) -> str:
        """Return initData for the organizer, signed now (so it never expires mid-bench)."""
        user = {"id": ADMIN, "first_name": "Bench", "language_code": "en"}
        fields = {
            "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
            "user": json.dumps(user, separators=(",", ":")),
            "auth_date": str(int(time.time())),
        }
        return sign(fields, TOKEN)

    async def get(self, path: str) -> tuple[float, Any]:
        """GET an API path; return the seconds it took (to the last byte) and its JSON."""
        headers = {"Authorization": f"tma {self.credential()}"}
        started = time.perf_counter()
        async with self.session.get(f"{self.url}api/{path}", headers=headers) as answer:
            body = await answer.read()
            seconds = time.perf_counter() - started
            if answer.status != 200:
                raise RuntimeError(f"the desk answered {answer.status} to {path}: {body[:200]!r}")
        return seconds, json.loads(body)

    async def refresh(self) -> tuple[float, bool]:
        """Read what desk.js reads at once; return the seconds until all three answered, and
        whether a broadcast is being sent (which makes the page refresh sooner)."""
        started = time.perf_counter()
        answers = await asyncio.gather(*(self.get(path) for path in READINGS))
        seconds = time.perf_counter() - started
        sending = any(b["state"] == "sending" for b in answers[1][1])
        return seconds, sending

    async def ready(self, seconds: float = 60.0) -> None:
        """Wait until the desk answers."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                await self.get("me")
                return
            except (aiohttp.ClientError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def keep_open(client: DeskClient, refreshes: list[float]) -> None:
    """Be the desk's page, open: refresh 300 ms after Send, then as desk.js does, until
    cancelled; each refresh's time goes in `refreshes`."""
    await asyncio.sleep(FIRST_REFRESH)
    while True:
        seconds, sending = await client.refresh()
        refreshes.append(seconds)
        await asyncio.sleep(REFRESH_SENDING if sending else REFRESH_IDLE)


# latency


async def time_call(call: Callable[[], Awaitable[object]], times: int) -> float:
    """Return the median seconds of `times` awaits of `call()`."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return median(seconds)


async def breakdown(storage: Storage, content: Content, times: int) -> list[tuple[str, float]]:
    """Return the median seconds of each storage call behind the two readings."""
    found = []
    since = storage.clock() - dt.timedelta(days=overview.DAYS)
    audiences = functools.partial(storage.audience_tallies, [c.id for c in content])
    calls: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("overview: tallies (counts and sources)", storage.tallies),
        ("overview: audience_tallies (topics and languages)", audiences),
        ("overview: pledge_counts", storage.pledge_counts),
        ("overview: daily_changes", lambda: storage.daily_changes(since)),
    ]
    recent = await storage.recent_broadcasts(broadcasts.LISTED)
    ids = [p.broadcast_id for p in recent]

    async def approvals() -> None:
        for broadcast_id in ids:  # one after another, as broadcasts.listing asks
            await storage.approval_of(broadcast_id)

    calls += [
        ("broadcasts: recent_broadcasts", lambda: storage.recent_broadcasts(broadcasts.LISTED)),
        ("broadcasts: latest_corrections", lambda: storage.latest_corrections(ids)),
        (f"broadcasts: approval_of x{len(ids)}", approvals),
    ]
    for broadcast_id in ids:
        name = f"broadcasts: failure_reasons #{broadcast_id}"
        calls.append((name, functools.partial(storage.failure_reasons, broadcast_id)))
    for name, call in calls:
        found.append((name, await time_call(call, times)))
    return found


async def latency(args: argparse.Namespace, given: str) -> list[str]:
    """Seed one database, serve its desk, time the two readings; return the summary lines."""
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp:
        workdir = Path(tmp)
        content = write_campaigns(workdir / "campaigns")
        database = database_of(given, workdir)
        await create_database(database)
        try:
            storage = await Storage.open(database.url)
            try:
                campaigns = {c: round(args.subscribers * s) for c, s in SHARES.items()}
                seeded = await seed_desk(storage, content, campaigns, args.deliveries)
                print(f"{database.name}: {seeded.line()}", flush=True)
                return await _measure_latency(args, database, storage, content, workdir)
            finally:
                await storage.close()
        finally:
            await drop_database(database)


async def _measure_latency(
    args: argparse.Namespace,
    database: Database,
    storage: Storage,
    content: Content,
    workdir: Path,
) -> list[str]:
    async with LimitedTelegram() as telegram, desk_bot(telegram, database, workdir) as (_, client):
        for _ in range(3):  # warm: the first calls open connections, fill caches
            await client.get("overview")
            await client.get("broadcasts")
        times: dict[str, list[float]] = {"overview": [], "broadcasts": []}
        for _ in range(args.calls):
            for path, kept in times.items():
                kept.append((await client.get(path))[0])
        refreshes = [(await client.refresh())[0] for _ in range(max(args.calls // 4, 3))]
    lines = []
    for path, seconds in times.items():
        verdict = "met" if percentile(seconds, 0.95) * 1000 < TARGET_P95_MS else "NOT met"
        lines.append(
            f"{database.name}: GET /desk/api/{path}: {spread(seconds)}; "
            f"target p95 < {TARGET_P95_MS:.0f} ms {verdict}"
        )
    lines.append(f"{database.name}: the page's refresh (the three at once): {spread(refreshes)}")
    for line in lines:
        print(line, flush=True)
    print(f"{database.name}: where the time goes (median of {args.breakdown} each):", flush=True)
    for name, took in await breakdown(storage, content, args.breakdown):
        print(f"    {took * 1000:7.1f} ms  {name}", flush=True)
    return lines


# broadcast, with the desk open and without


@dataclasses.dataclass
class Run:
    """One broadcast, with the desk open or not."""

    database: str
    desk: bool
    number: int
    size: int
    delivered: int = 0
    rate: float = float("nan")
    too_many: int = 0
    duplicates: int = 0
    missed: int = 0
    cpu_per_1k: float = float("nan")  # the bot's CPU seconds per 1,000 messages, over the send
    refreshes: list[float] = dataclasses.field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """Tell whether everyone got it once, with no 429."""
        return not self.error and not (self.duplicates or self.missed or self.too_many)

    def line(self) -> str:
        """Return the run in one line."""
        text = (
            f"{self.database}, desk {'open' if self.desk else 'closed'}, run {self.number}: "
            f"{self.rate:.2f} msg/s ({self.rate / FREE_RATE:.3f} of {FREE_RATE:.0f}/s), "
            f"{self.delivered} delivered, 429s {self.too_many}, duplicates {self.duplicates}, "
            f"missed {self.missed}, bot CPU {self.cpu_per_1k:.2f} s/1k msgs"
        )
        if self.refreshes:
            text += f"; {len(self.refreshes)} refreshes: {spread(self.refreshes)}"
        return text + (f"; ERROR: {self.error}" if self.error else "")


async def one_broadcast(
    seeded: Database, database: Database, audience: Audience, run: Run, workdir: Path
) -> None:
    """Broadcast to rafah on `database`, a fresh copy of the seeded one, the desk open or not."""
    await create_database(database, template=seeded)
    storage = Storage.connect(database.url)
    try:
        async with LimitedTelegram() as telegram:
            inject_faults(telegram, audience)
            async with desk_bot(telegram, database, workdir) as (bot, client):
                try:
                    await _broadcast(run, telegram, storage, bot, client, audience)
                except (TimeoutError, RuntimeError) as error:
                    run.error = str(error).splitlines()[0]
                    print(bot.log_tail(), file=sys.stderr)
    finally:
        await storage.close()
        await drop_database(database)


async def _broadcast(
    run: Run,
    telegram: LimitedTelegram,
    storage: Storage,
    bot: BotProcess,
    client: DeskClient,
    audience: Audience,
) -> None:
    body = f"Desk bench {secrets.token_hex(6)}"
    broadcast_id, data, message_id = await prepare_broadcast(telegram, body)
    arrivals = telegram.by_text[body]
    too_many_before = telegram.total_too_many()
    press_send(telegram, data, message_id)
    seconds = 120 + 3 * len(audience.expected) / FREE_RATE
    desk = keep_open(client, run.refreshes) if run.desk else None
    cpu = await sent_beside(storage, broadcast_id, bot, seconds, desk)
    got = received(arrivals, audience.expected)
    run.delivered, run.duplicates, run.missed = got.delivered, got.duplicates, got.missed
    run.rate = got.rate
    run.too_many = telegram.total_too_many() - too_many_before
    run.cpu_per_1k = cpu / max(run.delivered, 1) * 1000


async def broadcast_bench(args: argparse.Namespace, given: str) -> tuple[list[Run], list[str]]:
    """Seed once, then broadcast with the desk open and closed, alternating; return the runs
    and the summary lines."""
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp:
        workdir = Path(tmp)
        content = write_campaigns(workdir / "campaigns")
        seeded_db = database_of(given, workdir, "_seed")
        target = database_of(given, workdir)
        await create_database(seeded_db)
        try:
            storage = await Storage.open(seeded_db.url)
            try:
                background = args.subscribers - args.recipients
                campaigns = {"sudan": round(background * 2 / 3)}
                campaigns["congo"] = background - campaigns["sudan"]
                seeded = await seed_desk(
                    storage, content, campaigns, args.deliveries, recipients=args.recipients
                )
            finally:
                await storage.close()
            print(f"{seeded_db.name}: {seeded.line()}", flush=True)
            assert seeded.audience is not None
            for number in range(1, args.runs + 1):
                # Alternate who goes first, so neither always gets the quieter machine.
                for desk in (False, True) if number % 2 else (True, False):
                    run = Run(seeded_db.name, desk, number, args.recipients)
                    await one_broadcast(seeded_db, target, seeded.audience, run, workdir)
                    runs.append(run)
                    print(run.line(), flush=True)
        finally:
            await drop_database(seeded_db)
    closed = [r.rate for r in runs if not r.desk]
    opened = [r.rate for r in runs if r.desk]
    cpu_closed = median([r.cpu_per_1k for r in runs if not r.desk])
    cpu_open = median([r.cpu_per_1k for r in runs if r.desk])
    refreshes = [s for r in runs for s in r.refreshes]
    lines = [
        f"{seeded_db.name}, {args.recipients} recipients, median of {len(closed)}: desk closed "
        f"{median(closed):.2f} msg/s ({median(closed) / FREE_RATE:.3f} of 30/s), desk open "
        f"{median(opened):.2f} msg/s ({median(opened) / FREE_RATE:.3f} of 30/s), open / closed "
        f"{median(opened) / median(closed):.3f}; bot CPU per 1k messages {cpu_closed:.2f} s "
        f"closed, {cpu_open:.2f} s open",
        f"{seeded_db.name}: the desk's refreshes while sending: {spread(refreshes)}"
        if refreshes
        else f"{seeded_db.name}: no refreshes",
    ]
    return runs, lines


async def main_async(args: argparse.Namespace) -> int:
    """Run the chosen bench on each database, printing as it goes."""
    stop_on_sigterm()
    print(
        f"desk bench, {args.mode}: {args.subscribers:,} subscriptions, {args.deliveries:,} "
        f"delivery rows"
        + (f", {args.recipients:,} recipients" if args.mode == "broadcast" else ""),
        flush=True,
    )
    summary: list[str] = []
    ok = True
    for given in args.database:
        if args.mode == "latency":
            summary += await latency(args, given)
        else:
            runs, lines = await broadcast_bench(args, given)
            summary += lines
            ok = ok and all(r.ok for r in runs)
    print("summary:")
    for line in summary:
        print(line)
    return 0 if ok else 1


def main() -> int:
    """Parse the command line and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["latency", "broadcast"])
    parser.add_argument("--subscribers", type=int, default=100_000, metavar="N")
    parser.add_argument("--deliveries", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--calls", type=int, default=200, help="latency: calls of each reading")
    parser.add_argument("--breakdown", type=int, default=5, help="latency: times each query")
    parser.add_argument("--recipients", type=int, default=10_000, metavar="N")
    parser.add_argument("--runs", type=int, default=3, help="broadcast: runs of each arm")
    parser.add_argument(
        "--database",
        nargs="+",
        default=["sqlite"],
        metavar="URL",
        help=f"sqlite and/or postgresql URLs (e.g. {DEFAULT_POSTGRES}); default: sqlite",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if args.recipients >= args.subscribers:
        parser.error("--recipients must be fewer than --subscribers")
    try:
        return asyncio.run(main_async(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted: the bot was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
