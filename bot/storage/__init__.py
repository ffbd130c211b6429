"""What the bot remembers: subscriptions, broadcasts with their outbox, and the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    TypeDecorator,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import Select

from bot import i18n
from bot.storage import schema

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
MAX_ATTEMPTS = 5
POOL_SIZE = 20


def utc_now() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


class Status(StrEnum):
    """Where a chat stands with a campaign."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BLOCKED = "blocked"  # the user blocked the bot, or Telegram answered 403
    LEFT = "left"  # the bot was removed from the group


class Outcome(StrEnum):
    """Where one recipient of a broadcast stands."""

    PENDING = "pending"
    CLAIMED = "claimed"  # taken by the sender, not sent yet: certain not to have arrived
    SENDING = "sending"  # handed to Telegram: after a crash, it may or may not have arrived
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    CANCELLED = "cancelled"  # an organizer stopped the broadcast before it reached them


class BroadcastState(StrEnum):
    """Where a broadcast stands."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class _UTCDateTime(TypeDecorator[dt.datetime]):
    """Store aware datetimes as naive UTC, so SQLite and PostgreSQL read back the same value."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class _Base(DeclarativeBase):
    pass


metadata = _Base.metadata


class _Subscription(_Base):
    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_type: Mapped[str] = mapped_column(String(16))
    language_code: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    subscribed_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)
    # Added by migration 0004: the topics chosen, as ",a,b,"; NULL for every topic.
    topics: Mapped[str | None] = mapped_column(String(1000))


class _Preference(_Base):
    """A chat's choices that hold for every campaign (migration 0004)."""

    __tablename__ = "preferences"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)


class _Broadcast(_Base):
    __tablename__ = "broadcasts"
    # Ids appear in buttons and reports: never hand one out twice.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    parts: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    status_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status_message_id: Mapped[int | None] = mapped_column(Integer)
    uncertain: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[dt.datetime | None] = mapped_column(_UTCDateTime)
    # Added by migration 0002: when a scheduled broadcast is due, when sending began.
    send_at: Mapped[dt.datetime | None] = mapped_column(_UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(_UTCDateTime)
    # Added by migration 0004: who it is for (a topic, a language), the language of `parts`
    # (readers of no known language count as its readers), its other languages, and the
    # language its author reads the reports in.
    topic: Mapped[str | None] = mapped_column(String(32))
    audience_language: Mapped[str | None] = mapped_column(String(16))
    main_language: Mapped[str | None] = mapped_column(String(16))
    translations: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    report_language: Mapped[str | None] = mapped_column(String(16))


class _Delivery(_Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_id", "status", "id"),
        Index("ux_deliveries_broadcast_chat", "broadcast_id", "chat_id", unique=True),
        # Without AUTOINCREMENT SQLite reuses a deleted row's id, and a late result for the
        # deleted row would land on a new recipient.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)
    # Added by migration 0004: the recipient's language when queued, to pick their text.
    language: Mapped[str | None] = mapped_column(String(16))


class _AuditEntry(_Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admin_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)


class _Pledge(_Base):
    __tablename__ = "pledges"
    __table_args__ = (Index("ix_pledges_campaign_action", "campaign_id", "action"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(16), primary_key=True)  # content.action_key
    pledged_at: Mapped[dt.datetime] = mapped_column(_UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(_UTCDateTime)


@dataclass(frozen=True)
class SubscriptionRecord:
    """One chat's standing with one campaign, as stored."""

    chat_id: int
    campaign_id: str
    chat_type: str
    language_code: str | None
    status: str
    source: str | None
    subscribed_at: dt.datetime
    updated_at: dt.datetime
    topics: frozenset[str] | None = None  # None: every topic


@dataclass(frozen=True)
class StoredAbout:
    """Everything stored about one Telegram id."""

    subscriptions: list[SubscriptionRecord]
    deliveries: int
    audit_entries: int
    broadcasts_created: int
    pledges: int = 0
    language: str | None = None


@dataclass(frozen=True)
class Job:
    """One recipient of a broadcast, claimed for sending."""

    delivery_id: int
    broadcast_id: int
    chat_id: int
    attempts: int
    language: str | None = None


@dataclass(frozen=True)
class Result:
    """How sending to one recipient ended."""

    delivery_id: int
    outcome: Outcome
    error: str | None = None


@dataclass(frozen=True)
class Progress:
    """Counts of a broadcast's recipients by outcome."""

    broadcast_id: int
    campaign_id: str
    state: str
    total: int
    sent: int
    blocked: int
    failed: int
    cancelled: int
    uncertain: int
    status_chat_id: int | None
    status_message_id: int | None
    created_at: dt.datetime
    send_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    report_language: str | None = None  # the organizer's, when they prepared it

    @property
    def done(self) -> int:
        """Return how many recipients have a final outcome."""
        return self.sent + self.blocked + self.failed + self.cancelled


def version_for(language: str | None, translations: Iterable[str]) -> str | None:
    """Return the translation a reader of `language` gets (es-419 gets es), or None: the main
    text."""
    return i18n.match(language, tuple(translations))


@dataclass(frozen=True)
class Audience:
    """Who a broadcast is for: every subscriber, or those following a topic, reading a language.

    `main_language` is the language of the broadcast's main text: readers whose language is
    not known (groups, channels) are counted as its readers.
    """

    topic: str | None = None
    language: str | None = None
    main_language: str | None = None


@dataclass(frozen=True)
class BroadcastDraft:
    """A broadcast's content as stored."""

    broadcast_id: int
    campaign_id: str
    kind: str
    parts: list[str]
    created_by: int | None
    state: str
    send_at: dt.datetime | None = None
    audience: Audience = Audience()
    translations: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    report_language: str | None = None

    def parts_for(self, language: str | None) -> list[str]:
        """Return the text for a reader of this language: theirs if written, else the main one."""
        chosen = version_for(language, self.translations)
        return self.translations[chosen] if chosen else self.parts


@dataclass(frozen=True)
class CampaignStats:
    """Subscriber counts for one campaign."""

    campaign_id: str
    active_private: int
    active_groups: int
    unsubscribed: int
    blocked: int
    new_last_7_days: int


def async_url(url: str) -> str:
    """Map `sqlite:///...` and `postgresql://...` to the async drivers we ship."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def sqlite_file(url: str) -> Path | None:
    """Return the file of an SQLite URL, or None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (stats, export) run while the sender writes; the busy timeout makes a
    # second writer wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 1 MiB of page cache per connection instead of 2: with several connections the default
    # made memory grow with the outbox (peak RSS 1.22x at 100,000 recipients, 1.09x now).
    cursor.execute("PRAGMA cache_size=-1024")
    cursor.close()


class Storage:
    """The bot's database, behind intention-named async methods returning plain values."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._session = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str, clock: Clock = utc_now) -> Storage:
        """Set up the database at `url` without connecting yet (connections bind to a loop)."""
        target = make_url(async_url(url))
        file = sqlite_file(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        # No pre-ping: it costs a round trip per transaction (a third of a sign-up's time in
        # the sign-up storm benchmark). A connection the server dropped fails one request
        # instead, which gets the error reply, and the pool then reconnects by itself.
        # asyncpg waits 60 s for a connection by default: a database that is away should
        # answer "not now" within seconds instead.
        connect_args = {"timeout": 5} if target.get_backend_name() == "postgresql" else {}
        pool: dict[str, int] = {}
        if target.database not in (None, "", ":memory:"):
            # Enough kept connections for every update handled at once (16), the sender and
            # its lock: beyond the kept ones a connection is opened and closed per use, and
            # on PostgreSQL each one is a new server process (the sign-up storm ran 30% slower).
            # Last in, first out: the few connections in steady use stay warm, and the rest
            # (with their SQLite page caches) stay cold until a burst needs them.
            pool = {"pool_size": POOL_SIZE, "max_overflow": 10, "pool_use_lifo": True}
        engine = create_async_engine(target, connect_args=connect_args, **pool)
        if target.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return cls(engine, clock)

    @classmethod
    async def open(cls, url: str, clock: Clock = utc_now) -> Storage:
        """Connect to the database at `url`, creating the file and tables on first run."""
        storage = cls.connect(url, clock)
        await storage.create_schema()
        return storage

    async def create_schema(self, *, migrate: bool = False) -> None:
        """Create a new database's tables, or check that an existing one is up to date.

        Raises SchemaError if it is not, unless `migrate` is true: then it is migrated.
        """
        async with self.engine.begin() as connection:
            done = await connection.run_sync(schema.prepare, metadata, migrate=migrate)
        if done:
            logger.info("%s", done)

    async def migrate(self, revision: str | None = None) -> str | None:
        """Migrate the schema to `revision` (default: the latest); return what was done."""
        target = revision or schema.head()
        async with self.engine.begin() as connection:
            return await connection.run_sync(schema.migrate_to, metadata, target)

    async def schema_state(self) -> schema.SchemaState:
        """Return the schema's revision and the one this version of the bot needs."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(schema.state, metadata)

    async def close(self) -> None:
        """Release the database connections."""
        await self.engine.dispose()

    def _insert(self, model: type[_Base]) -> Any:
        """Return an INSERT for `model` that knows ON CONFLICT, in this database's dialect."""
        return (sqlite_insert if self.dialect == "sqlite" else postgresql_insert)(model)

    @property
    def dialect(self) -> str:
        """Return the database's dialect name (sqlite or postgresql)."""
        return self.engine.dialect.name

    # Subscriptions

    async def subscribe(
        self,
        chat_id: int,
        campaign_id: str,
        *,
        chat_type: str,
        language_code: str | None = None,
        source: str | None = None,
    ) -> bool:
        """Record a sign-up; return False when the chat was already subscribed.

        One statement, an upsert, so two sign-ups of one chat at once cannot collide.
        """
        now = self.clock()
        row = self._insert(_Subscription).values(
            chat_id=chat_id,
            campaign_id=campaign_id,
            chat_type=chat_type,
            language_code=language_code,
            status=Status.ACTIVE,
            source=source,
            subscribed_at=now,
            updated_at=now,
        )
        statement = row.on_conflict_do_update(
            index_elements=["chat_id", "campaign_id"],
            set_={
                "status": Status.ACTIVE,
                "chat_type": row.excluded.chat_type,
                "language_code": row.excluded.language_code,
                "source": func.coalesce(row.excluded.source, _Subscription.source),
                "subscribed_at": row.excluded.subscribed_at,
                "updated_at": row.excluded.updated_at,
            },
            where=_Subscription.status != Status.ACTIVE,
        ).returning(_Subscription.chat_id)
        # Straight on a connection: the sign-up path is the hottest, and a session adds to it.
        async with self.engine.begin() as connection:
            changed = (await connection.execute(statement)).first()
        return changed is not None

    async def sync_channels(self, channels: dict[str, list[int]]) -> None:
        """Make each campaign's channels recipients of its broadcasts, and only those.

        A channel is kept as a subscription of chat type `channel` (source `campaign`): the
        outbox then treats it like any recipient. Listed channels are made active (at every
        start and /reload); a channel dropped from its campaign's file stops receiving.
        """
        now = self.clock()
        s = _Subscription
        async with self._session.begin() as session:
            for campaign_id, channel_ids in channels.items():
                await session.execute(
                    update(s)
                    .where(
                        s.campaign_id == campaign_id,
                        s.chat_type == "channel",
                        s.status == Status.ACTIVE,
                        s.chat_id.not_in(channel_ids),
                    )
                    .values(status=Status.UNSUBSCRIBED, updated_at=now)
                )
        for campaign_id, channel_ids in channels.items():
            for channel_id in channel_ids:
                await self.subscribe(
                    channel_id, campaign_id, chat_type="channel", source="campaign"
                )

    async def unsubscribe(self, chat_id: int, campaign_id: str) -> bool:
        """Stop a chat's subscription at once, queued messages included; False if none."""
        return await self._set_status(
            chat_id, Status.UNSUBSCRIBED, campaign_id=campaign_id, only_from=(Status.ACTIVE,)
        )

    async def started(self, chat_id: int, campaign_id: str | None, *, unblock: bool) -> bool:
        """Note that a chat (re)started the bot; return whether it gets the campaign's updates.

        With `unblock`, starting again after blocking the bot resumes what the block stopped.
        One read in the usual case; a write only when there is a block to lift.
        """
        async with self.engine.connect() as connection:
            statuses = dict(
                (
                    await connection.execute(
                        select(_Subscription.campaign_id, _Subscription.status).where(
                            _Subscription.chat_id == chat_id
                        )
                    )
                ).all()
            )
            if unblock and Status.BLOCKED in statuses.values():
                await connection.execute(
                    update(_Subscription)
                    .where(
                        _Subscription.chat_id == chat_id, _Subscription.status == Status.BLOCKED
                    )
                    .values(status=Status.ACTIVE, updated_at=self.clock())
                )
                await connection.commit()
                statuses = {
                    c: Status.ACTIVE if s == Status.BLOCKED else s for c, s in statuses.items()
                }
        return campaign_id is not None and statuses.get(campaign_id) == Status.ACTIVE

    async def is_subscribed(self, chat_id: int, campaign_id: str) -> bool:
        """Tell whether a chat receives a campaign's updates."""
        async with self._session() as session:
            status = await session.scalar(
                select(_Subscription.status).where(
                    _Subscription.chat_id == chat_id, _Subscription.campaign_id == campaign_id
                )
            )
        return status == Status.ACTIVE

    async def mark_blocked(self, chat_id: int) -> bool:
        """Stop sending to a chat that blocked the bot, until it starts the bot again."""
        return await self._set_status(chat_id, Status.BLOCKED, only_from=(Status.ACTIVE,))

    async def mark_left(self, chat_id: int) -> bool:
        """Stop a group's subscriptions, queued messages included: the bot is not in it."""
        return await self._set_status(chat_id, Status.LEFT, only_from=(Status.ACTIVE,))

    async def unblock(self, chat_id: int) -> bool:
        """Resume the subscriptions a block had stopped."""
        return await self._set_status(chat_id, Status.ACTIVE, only_from=(Status.BLOCKED,))

    async def _set_status(
        self,
        chat_id: int,
        status: Status,
        *,
        only_from: Sequence[Status],
        campaign_id: str | None = None,
    ) -> bool:
        statement = (
            update(_Subscription)
            .where(_Subscription.chat_id == chat_id, _Subscription.status.in_(only_from))
            .values(status=status, updated_at=self.clock())
        )
        if campaign_id is not None:
            statement = statement.where(_Subscription.campaign_id == campaign_id)
        async with self._session.begin() as session:
            result = await session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> set[int]:
        """Move a group's subscriptions and queued deliveries to its new supergroup id.

        Return the broadcasts whose delivery to the old id was dropped because the new id
        already had one (the group was subscribed under both ids): sending it would repeat it.
        """
        unsent = (Outcome.PENDING, Outcome.CLAIMED, Outcome.SENDING)
        async with self._session.begin() as session:
            # The group's chosen language follows it, unless the new id already has one.
            if await session.get(_Preference, new_chat_id) is None:
                await session.execute(
                    update(_Preference)
                    .where(_Preference.chat_id == old_chat_id)
                    .values(chat_id=new_chat_id)
                )
            else:
                await session.execute(
                    delete(_Preference).where(_Preference.chat_id == old_chat_id)
                )
            taken = select(_Subscription.campaign_id).where(_Subscription.chat_id == new_chat_id)
            await session.execute(
                delete(_Subscription).where(
                    _Subscription.chat_id == old_chat_id, _Subscription.campaign_id.in_(taken)
                )
            )
            await session.execute(
                update(_Subscription)
                .where(_Subscription.chat_id == old_chat_id)
                .values(chat_id=new_chat_id, chat_type="supergroup", updated_at=self.clock())
            )
            already = select(_Delivery.broadcast_id).where(_Delivery.chat_id == new_chat_id)
            dropped = await session.scalars(
                delete(_Delivery)
                .where(
                    _Delivery.chat_id == old_chat_id,
                    _Delivery.status.in_(unsent),
                    _Delivery.broadcast_id.in_(already),
                )
                .returning(_Delivery.broadcast_id)
            )
            duplicates = set(dropped)
            await session.execute(
                update(_Delivery)
                .where(_Delivery.chat_id == old_chat_id, _Delivery.status.in_(unsent))
                .values(chat_id=new_chat_id)
            )
        return duplicates

    # Privacy

    async def stored_about(self, user_id: int) -> StoredAbout:
        """Return everything stored about one Telegram id."""
        async with self._session() as session:
            rows = await session.scalars(
                select(_Subscription)
                .where(_Subscription.chat_id == user_id)
                .order_by(_Subscription.campaign_id)
            )
            subscriptions = [_record(row) for row in rows]
            deliveries = await session.scalar(
                select(func.count()).where(_Delivery.chat_id == user_id)
            )
            audit = await session.scalar(
                select(func.count()).where(_AuditEntry.admin_id == user_id)
            )
            created = await session.scalar(
                select(func.count()).where(_Broadcast.created_by == user_id)
            )
            pledges = await session.scalar(select(func.count()).where(_Pledge.chat_id == user_id))
            language = await session.scalar(
                select(_Preference.language).where(_Preference.chat_id == user_id)
            )
        return StoredAbout(
            subscriptions, deliveries or 0, audit or 0, created or 0, pledges or 0, language
        )

    async def forget(self, user_id: int) -> int:
        """Erase every row about a Telegram id, in every table; return how many rows changed."""
        async with self._session.begin() as session:
            changed = 0
            for statement in (
                delete(_Subscription).where(_Subscription.chat_id == user_id),
                delete(_Delivery).where(_Delivery.chat_id == user_id),
                delete(_Pledge).where(_Pledge.chat_id == user_id),
                delete(_Preference).where(_Preference.chat_id == user_id),
                delete(_AuditEntry).where(_AuditEntry.admin_id == user_id),
                update(_Broadcast).where(_Broadcast.created_by == user_id).values(created_by=None),
                update(_Broadcast)
                .where(_Broadcast.status_chat_id == user_id)
                .values(status_chat_id=None, status_message_id=None),
            ):
                result = await session.execute(statement)
                changed += int(getattr(result, "rowcount", 0) or 0)
        return changed

    # Preferences

    async def set_language(self, chat_id: int, language: str | None) -> None:
        """Remember the language a chat chose; None forgets the choice."""
        async with self._session.begin() as session:
            if language is None:
                await session.execute(delete(_Preference).where(_Preference.chat_id == chat_id))
                return
            row = self._insert(_Preference).values(
                chat_id=chat_id, language=language, updated_at=self.clock()
            )
            await session.execute(
                row.on_conflict_do_update(
                    index_elements=["chat_id"],
                    set_={
                        "language": row.excluded.language,
                        "updated_at": row.excluded.updated_at,
                    },
                )
            )

    async def chosen_languages(self) -> dict[int, str]:
        """Return every chat's chosen language."""
        async with self._session() as session:
            rows = await session.execute(select(_Preference.chat_id, _Preference.language))
        return {chat_id: language for chat_id, language in rows if language is not None}

    async def set_topics(
        self, chat_id: int, campaign_id: str, topics: frozenset[str] | None
    ) -> bool:
        """Set the topics a subscriber follows (None: all); return False if not subscribed."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(_Subscription)
                .where(
                    _Subscription.chat_id == chat_id,
                    _Subscription.campaign_id == campaign_id,
                    _Subscription.status == Status.ACTIVE,
                )
                .values(topics=topics_column(topics), updated_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def topics_of(
        self, chat_id: int, campaign_id: str
    ) -> tuple[bool, frozenset[str] | None]:
        """Return whether a chat is subscribed, and the topics it follows (None: all)."""
        async with self._session() as session:
            row = (
                await session.execute(
                    select(_Subscription.topics).where(
                        _Subscription.chat_id == chat_id,
                        _Subscription.campaign_id == campaign_id,
                        _Subscription.status == Status.ACTIVE,
                    )
                )
            ).one_or_none()
        return (False, None) if row is None else (True, _topics(row.topics))

    # Pledges

    async def pledge(self, chat_id: int, campaign_id: str, action: str) -> bool:
        """Record that someone will join an action; return False if they already had."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                self._insert(_Pledge)
                .values(
                    chat_id=chat_id,
                    campaign_id=campaign_id,
                    action=action,
                    pledged_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
        return bool(getattr(result, "rowcount", 0))

    async def unpledge(self, chat_id: int, campaign_id: str, action: str) -> bool:
        """Take a pledge back; return False if there was none."""
        async with self._session.begin() as session:
            result = await session.execute(
                delete(_Pledge).where(
                    _Pledge.chat_id == chat_id,
                    _Pledge.campaign_id == campaign_id,
                    _Pledge.action == action,
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def pledged(self, chat_id: int, campaign_id: str) -> set[str]:
        """Return the keys of the actions this chat pledged to join in a campaign."""
        async with self._session() as session:
            rows = await session.scalars(
                select(_Pledge.action).where(
                    _Pledge.chat_id == chat_id, _Pledge.campaign_id == campaign_id
                )
            )
            return set(rows)

    async def pledge_counts(self, campaign_id: str | None = None) -> dict[tuple[str, str], int]:
        """Return how many pledged each action (of one campaign, if given), by (campaign, key)."""
        query = select(_Pledge.campaign_id, _Pledge.action, func.count()).group_by(
            _Pledge.campaign_id, _Pledge.action
        )
        if campaign_id is not None:
            query = query.where(_Pledge.campaign_id == campaign_id)
        async with self._session() as session:
            rows = await session.execute(query)
            return {(campaign, action): count for campaign, action, count in rows}

    async def claim_reminders(self, campaign_id: str, action: str) -> list[tuple[int, str | None]]:
        """Mark the action's pledges not yet reminded as reminded now; return their chats,
        each with its reader's language.

        Marked before the reminders go out: after a crash in between, someone misses a
        reminder rather than getting it twice.
        """
        async with self._session.begin() as session:
            rows = await session.scalars(
                update(_Pledge)
                .where(
                    _Pledge.campaign_id == campaign_id,
                    _Pledge.action == action,
                    _Pledge.reminded_at.is_(None),
                )
                .values(reminded_at=self.clock())
                .returning(_Pledge.chat_id)
            )
            chats = sorted(rows)
            if not chats:
                return []
            # Pledging needs no subscription: a language chosen is found without one.
            languages: dict[int, str | None] = dict(
                (
                    await session.execute(
                        select(_Pledge.chat_id, _reader_language())
                        .outerjoin(_Preference, _Preference.chat_id == _Pledge.chat_id)
                        .outerjoin(
                            _Subscription,
                            (_Subscription.chat_id == _Pledge.chat_id)
                            & (_Subscription.campaign_id == campaign_id),
                        )
                        .where(
                            _Pledge.campaign_id == campaign_id,
                            _Pledge.action == action,
                            _Pledge.chat_id.in_(chats),
                        )
                    )
                ).all()
            )
        return [(chat_id, languages.get(chat_id)) for chat_id in chats]

    # Broadcasts

    async def count_subscriptions(self, campaign_id: str) -> int:
        """Return how many chats ever subscribed to a campaign, whatever their status."""
        async with self._session() as session:
            count = await session.scalar(
                select(func.count()).where(_Subscription.campaign_id == campaign_id)
            )
        return count or 0

    async def count_recipients(self, campaign_id: str, audience: Audience = Audience()) -> int:
        """Return how many chats a broadcast to this campaign (and audience) would reach now."""
        async with self._session() as session:
            count = await session.scalar(_recipients(campaign_id, audience, func.count()))
        return count or 0

    async def recipient_languages(
        self, campaign_id: str, audience: Audience = Audience()
    ) -> dict[str | None, int]:
        """Return how many recipients a broadcast would have, by their language."""
        reader = func.lower(_reader_language(audience))
        query = _recipients(campaign_id, audience, reader, func.count()).group_by(reader)
        async with self._session() as session:
            rows = await session.execute(query)
        return {code: count for code, count in rows}

    async def create_broadcast(
        self,
        campaign_id: str,
        kind: str,
        parts: list[str],
        created_by: int,
        send_at: dt.datetime | None = None,
        *,
        audience: Audience = Audience(),
        translations: dict[str, list[str]] | None = None,
        report_language: str | None = None,
    ) -> int:
        """Store a broadcast awaiting confirmation (to go out at `send_at`); return its id.

        A reader of a language in `translations` gets that text instead of `parts`; the
        progress reports are in `report_language`.
        """
        async with self._session.begin() as session:
            broadcast = _Broadcast(
                campaign_id=campaign_id,
                kind=kind,
                parts=parts,
                created_by=created_by,
                created_at=self.clock(),
                state=BroadcastState.DRAFT,
                uncertain=0,
                send_at=send_at,
                topic=audience.topic,
                audience_language=audience.language,
                main_language=audience.main_language,
                translations=translations or None,
                report_language=report_language,
            )
            session.add(broadcast)
            await session.flush()
            return broadcast.id

    async def broadcast(self, broadcast_id: int) -> BroadcastDraft | None:
        """Return a broadcast's content, or None."""
        async with self._session() as session:
            row = await session.get(_Broadcast, broadcast_id)
        if row is None:
            return None
        return BroadcastDraft(
            row.id,
            row.campaign_id,
            row.kind,
            row.parts,
            row.created_by,
            row.state,
            row.send_at,
            _audience(row),
            row.translations or {},
            row.report_language,
        )

    async def start_broadcast(
        self, broadcast_id: int, status_chat_id: int, status_message_id: int
    ) -> int | None:
        """Queue a confirmed draft now, or schedule it if it has a time to go out.

        Return how many recipients it has (or would have now, if scheduled); None if the
        broadcast was not a draft (already sent, scheduled or cancelled).
        """
        async with self._session.begin() as session:
            claimed = await session.execute(
                update(_Broadcast)
                .where(_Broadcast.id == broadcast_id, _Broadcast.state == BroadcastState.DRAFT)
                .values(
                    state=case(
                        (_Broadcast.send_at.is_(None), BroadcastState.SENDING),
                        else_=BroadcastState.SCHEDULED,
                    ),
                    status_chat_id=status_chat_id,
                    status_message_id=status_message_id,
                )
                .returning(_Broadcast.campaign_id, _Broadcast.send_at, *_AUDIENCE_COLUMNS)
            )
            row = claimed.one_or_none()
            if row is None:
                return None
            campaign_id, send_at, *target = row
            audience = Audience(*target)
            if send_at is None:
                return await self._enqueue(session, broadcast_id, campaign_id, audience)
            count = await session.scalar(_recipients(campaign_id, audience, func.count()))
        return count or 0

    async def _enqueue(
        self, session: AsyncSession, broadcast_id: int, campaign_id: str, audience: Audience
    ) -> int:
        """Queue one delivery per recipient, and mark the broadcast as sending."""
        now = self.clock()
        await session.execute(
            update(_Broadcast)
            .where(_Broadcast.id == broadcast_id)
            .values(state=BroadcastState.SENDING, started_at=now)
        )
        # One INSERT ... SELECT: recipients never pass through Python, however many there are.
        recipients = _recipients(
            campaign_id,
            audience,
            literal(broadcast_id),
            _Subscription.chat_id,
            literal(Outcome.PENDING.value),
            literal(0),
            literal(now, _UTCDateTime),
            _reader_language(audience),
        )
        result = await session.execute(
            insert(_Delivery).from_select(
                ["broadcast_id", "chat_id", "status", "attempts", "updated_at", "language"],
                recipients,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def start_due_broadcasts(
        self, organizers: frozenset[int]
    ) -> tuple[list[int], list[int]]:
        """Queue the scheduled broadcasts whose time has come; return (started, refused).

        A broadcast whose author is no longer an organizer is cancelled instead: the right to
        broadcast is checked when it goes out, not only when it was confirmed.
        """
        started: list[int] = []
        refused: list[int] = []
        async with self._session.begin() as session:
            due = (
                await session.execute(
                    select(
                        _Broadcast.id,
                        _Broadcast.campaign_id,
                        _Broadcast.created_by,
                        *_AUDIENCE_COLUMNS,
                    )
                    .where(
                        _Broadcast.state == BroadcastState.SCHEDULED,
                        _Broadcast.send_at <= self.clock(),
                    )
                    .order_by(_Broadcast.send_at, _Broadcast.id)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for broadcast_id, campaign_id, created_by, *target in due:
                if created_by in organizers:
                    await self._enqueue(session, broadcast_id, campaign_id, Audience(*target))
                    started.append(broadcast_id)
                else:
                    await session.execute(
                        update(_Broadcast)
                        .where(_Broadcast.id == broadcast_id)
                        .values(state=BroadcastState.CANCELLED, finished_at=self.clock())
                    )
                    refused.append(broadcast_id)
        return started, refused

    async def next_due(self) -> dt.datetime | None:
        """Return when the next scheduled broadcast is due, or None."""
        async with self._session() as session:
            return await session.scalar(
                select(func.min(_Broadcast.send_at)).where(
                    _Broadcast.state == BroadcastState.SCHEDULED
                )
            )

    async def cancel_draft(self, broadcast_id: int) -> bool:
        """Cancel a broadcast awaiting confirmation; return False if it was not a draft."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(_Broadcast)
                .where(_Broadcast.id == broadcast_id, _Broadcast.state == BroadcastState.DRAFT)
                .values(state=BroadcastState.CANCELLED, finished_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def stop_broadcast(self, broadcast_id: int) -> str | None:
        """Stop a scheduled or sending broadcast; return the state it had, or None if neither.

        Recipients still queued are marked cancelled. Messages already on their way finish,
        and the sender writes the final report once they have.
        """
        async with self._session.begin() as session:
            before = await session.scalar(
                select(_Broadcast.state)
                .where(
                    _Broadcast.id == broadcast_id,
                    _Broadcast.state.in_((BroadcastState.SCHEDULED, BroadcastState.SENDING)),
                )
                .with_for_update()
            )
            if before is None:
                return None
            # A scheduled one never began, so it is finished at once; a sending one is
            # finished by finish_broadcasts when its last message in flight has an outcome.
            await session.execute(
                update(_Broadcast)
                .where(_Broadcast.id == broadcast_id)
                .values(
                    state=BroadcastState.CANCELLED,
                    finished_at=self.clock() if before == BroadcastState.SCHEDULED else None,
                )
            )
            await session.execute(
                update(_Delivery)
                .where(
                    _Delivery.broadcast_id == broadcast_id,
                    _Delivery.status.in_((Outcome.PENDING, Outcome.CLAIMED)),
                )
                .values(status=Outcome.CANCELLED, updated_at=self.clock())
            )
        return str(before)

    async def claim_jobs(self, limit: int) -> list[Job]:
        """Take up to `limit` pending recipients, oldest first, for the sender's queue.

        Recipients who left since the broadcast was queued (unsubscribed, erased their data,
        removed the bot) are dropped from it here, and checked again by `mark_sending`.
        """
        while True:
            async with self._session.begin() as session:
                # The ids first, straight from the (status, id) index; then only those rows
                # are joined. Joining first made PostgreSQL scan every pending row per claim.
                # On PostgreSQL a second claimer skips the rows this one locked (SQLite has
                # one writer at a time anyway).
                ids = list(
                    await session.scalars(
                        select(_Delivery.id)
                        .where(_Delivery.status == Outcome.PENDING)
                        .order_by(_Delivery.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                if not ids:
                    return []
                rows = (
                    await session.execute(
                        select(_Delivery.id, _Subscription.status, _Broadcast.state)
                        .join(_Broadcast, _Broadcast.id == _Delivery.broadcast_id)
                        .outerjoin(
                            _Subscription,
                            (_Subscription.chat_id == _Delivery.chat_id)
                            & (_Subscription.campaign_id == _Broadcast.campaign_id),
                        )
                        .where(_Delivery.id.in_(ids))
                    )
                ).all()
                # A stopped broadcast may still have pending rows, put back by a restart.
                stopped = [row.id for row in rows if row.state == BroadcastState.CANCELLED]
                gone = [
                    row.id
                    for row in rows
                    if row.status != Status.ACTIVE and row.state != BroadcastState.CANCELLED
                ]
                wanted = set(ids) - set(stopped) - set(gone)
                if stopped:
                    await session.execute(
                        update(_Delivery)
                        .where(_Delivery.id.in_(stopped))
                        .values(status=Outcome.CANCELLED, updated_at=self.clock())
                    )
                if gone:
                    await session.execute(delete(_Delivery).where(_Delivery.id.in_(gone)))
                if not wanted:
                    continue
                claimed = await session.execute(
                    update(_Delivery)
                    .where(_Delivery.id.in_(wanted), _Delivery.status == Outcome.PENDING)
                    .values(status=Outcome.CLAIMED)
                    .returning(
                        _Delivery.id,
                        _Delivery.broadcast_id,
                        _Delivery.chat_id,
                        _Delivery.attempts,
                        _Delivery.language,
                    )
                )
                jobs = [Job(*row) for row in claimed]
            if jobs:
                return sorted(jobs, key=lambda job: job.delivery_id)
            # Another claimer took these between our read and our write: look again.

    async def mark_sending(self, delivery_ids: Sequence[int]) -> set[int]:
        """Mark claimed recipients as handed to Telegram, just before sending; return them.

        Only recipients still subscribed, of broadcasts not stopped, are marked; the others
        are dropped here (a leaver's row is deleted; a stopped broadcast's is already
        cancelled), so nobody gets a message they stopped, however late they stopped it.
        """
        if not delivery_ids:
            return set()
        still_subscribed = (
            select(_Subscription.chat_id)
            .join(_Broadcast, _Broadcast.campaign_id == _Subscription.campaign_id)
            .where(
                _Broadcast.id == _Delivery.broadcast_id,
                _Subscription.chat_id == _Delivery.chat_id,
                _Subscription.status == Status.ACTIVE,
            )
            .exists()
        )
        async with self._session.begin() as session:
            marked = await session.scalars(
                update(_Delivery)
                .where(
                    _Delivery.id.in_(delivery_ids),
                    _Delivery.status == Outcome.CLAIMED,
                    still_subscribed,
                )
                .values(status=Outcome.SENDING, attempts=_Delivery.attempts + 1)
                .returning(_Delivery.id)
            )
            sending = set(marked)
            await session.execute(
                delete(_Delivery).where(
                    _Delivery.id.in_(delivery_ids), _Delivery.status == Outcome.CLAIMED
                )
            )
        return sending

    async def release_jobs(self, delivery_ids: Sequence[int]) -> None:
        """Hand recipients the sender took but never sent back to the queue."""
        if not delivery_ids:
            return
        async with self._session.begin() as session:
            await session.execute(
                update(_Delivery)
                .where(_Delivery.id.in_(delivery_ids), _Delivery.status == Outcome.CLAIMED)
                .values(status=Outcome.PENDING)
            )
            await session.execute(
                update(_Delivery)
                .where(_Delivery.id.in_(delivery_ids), _Delivery.status == Outcome.SENDING)
                .values(status=Outcome.PENDING, attempts=_Delivery.attempts - 1)
            )

    async def record_results(self, results: Iterable[Result]) -> None:
        """Store how each recipient's sending ended, in one transaction (one executemany)."""
        table = _Delivery.__table__
        assert isinstance(table, Table)
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.status == Outcome.SENDING)
            .values(
                status=bindparam("_status"), error=bindparam("_error"), updated_at=self.clock()
            )
        )
        rows = [
            {"_id": r.delivery_id, "_status": r.outcome.value, "_error": r.error} for r in results
        ]
        if rows:
            async with self._session.begin() as session:
                await session.execute(statement, rows)

    async def requeue_in_flight(self) -> int:
        """Put recipients left in flight by a crash back in the queue; return how many.

        Claimed ones were certainly not sent and go back silently; ones being sent may
        have arrived, and are counted in the broadcast's `uncertain`.
        """
        async with self._session.begin() as session:
            await session.execute(
                update(_Delivery)
                .where(_Delivery.status == Outcome.CLAIMED)
                .values(status=Outcome.PENDING)
            )
            counts = (
                await session.execute(
                    select(_Delivery.broadcast_id, func.count())
                    .where(_Delivery.status == Outcome.SENDING)
                    .group_by(_Delivery.broadcast_id)
                )
            ).all()
            for broadcast_id, count in counts:
                # They may or may not have reached the user before the crash: say so.
                await session.execute(
                    update(_Broadcast)
                    .where(_Broadcast.id == broadcast_id)
                    .values(uncertain=_Broadcast.uncertain + count)
                )
            # A recipient that was in flight at every one of several crashes may be what
            # crashes the process: give it up rather than crash again forever.
            await session.execute(
                update(_Delivery)
                .where(_Delivery.status == Outcome.SENDING, _Delivery.attempts >= MAX_ATTEMPTS)
                .values(
                    status=Outcome.FAILED,
                    error=f"interrupted by a restart {MAX_ATTEMPTS} times",
                    updated_at=self.clock(),
                )
            )
            await session.execute(
                update(_Delivery)
                .where(_Delivery.status == Outcome.SENDING)
                .values(status=Outcome.PENDING)
            )
        return sum(count for _, count in counts)

    async def progress(self, broadcast_id: int) -> Progress | None:
        """Return a broadcast's counts by outcome, or None."""
        found = await self._progress_of([broadcast_id])
        return found[0] if found else None

    async def _progress_of(self, broadcast_ids: Sequence[int]) -> list[Progress]:
        """Return the progress of several broadcasts in two queries, in the order given."""
        async with self._session() as session:
            rows = {
                row.id: row
                for row in await session.scalars(
                    select(_Broadcast).where(_Broadcast.id.in_(broadcast_ids))
                )
            }
            counts: dict[int, dict[str, int]] = {b: {} for b in rows}
            for b, status, count in await session.execute(
                select(_Delivery.broadcast_id, _Delivery.status, func.count())
                .where(_Delivery.broadcast_id.in_(list(rows)))
                .group_by(_Delivery.broadcast_id, _Delivery.status)
            ):
                counts[b][status] = count
        return [_progress(rows[b], counts[b]) for b in broadcast_ids if b in rows]

    async def finish_broadcasts(self) -> list[int]:
        """Close sending or stopped broadcasts with nothing left in flight; return their ids."""
        unfinished = (
            select(_Delivery.id)
            .where(
                _Delivery.broadcast_id == _Broadcast.id,
                _Delivery.status.in_((Outcome.PENDING, Outcome.CLAIMED, Outcome.SENDING)),
            )
            .exists()
        )
        async with self._session.begin() as session:
            done = await session.execute(
                update(_Broadcast)
                .where(_Broadcast.state == BroadcastState.SENDING, ~unfinished)
                .values(state=BroadcastState.DONE, finished_at=self.clock())
                .returning(_Broadcast.id)
            )
            stopped = await session.execute(
                update(_Broadcast)
                .where(
                    _Broadcast.state == BroadcastState.CANCELLED,
                    _Broadcast.finished_at.is_(None),
                    ~unfinished,
                )
                .values(finished_at=self.clock())
                .returning(_Broadcast.id)
            )
            return list(done.scalars()) + list(stopped.scalars())

    async def sending_broadcasts(self) -> list[int]:
        """Return the ids of broadcasts being sent, or stopped with messages still in flight."""
        async with self._session() as session:
            rows = await session.scalars(
                select(_Broadcast.id).where(
                    (_Broadcast.state == BroadcastState.SENDING)
                    | (
                        (_Broadcast.state == BroadcastState.CANCELLED)
                        & _Broadcast.finished_at.is_(None)
                    )
                )
            )
            return list(rows)

    async def recent_broadcasts(self, limit: int = 5) -> list[Progress]:
        """Return scheduled and running broadcasts, then the latest finished, newest first."""
        confirmed = _Broadcast.status_message_id.is_not(None)  # drafts never confirmed: no
        open_states = (BroadcastState.SCHEDULED, BroadcastState.SENDING)
        async with self._session() as session:
            current = list(
                await session.scalars(
                    select(_Broadcast.id)
                    .where(confirmed, _Broadcast.state.in_(open_states))
                    .order_by(_Broadcast.id.desc())
                )
            )
            finished = list(
                await session.scalars(
                    select(_Broadcast.id)
                    .where(confirmed, _Broadcast.state.not_in(open_states))
                    .order_by(_Broadcast.id.desc())
                    .limit(limit)
                )
            )
        return await self._progress_of(current + finished)

    # Organizers

    async def audit(self, admin_id: int, action: str, detail: str = "") -> None:
        """Write one admin action to the audit log."""
        async with self._session.begin() as session:
            session.add(
                _AuditEntry(
                    admin_id=admin_id, action=action, detail=detail[:200], created_at=self.clock()
                )
            )

    async def audit_log(self, limit: int = 50) -> list[tuple[int | None, str, str, dt.datetime]]:
        """Return the latest audit entries, newest first."""
        async with self._session() as session:
            rows = await session.execute(
                select(
                    _AuditEntry.admin_id,
                    _AuditEntry.action,
                    _AuditEntry.detail,
                    _AuditEntry.created_at,
                )
                .order_by(_AuditEntry.id.desc())
                .limit(limit)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    async def stats(self) -> list[CampaignStats]:
        """Return subscriber counts per campaign."""
        week_ago = self.clock() - dt.timedelta(days=7)
        s = _Subscription
        active = s.status == Status.ACTIVE
        is_private = s.chat_type == "private"
        async with self._session() as session:
            rows = await session.execute(
                select(
                    s.campaign_id,
                    func.count().filter(active, is_private),
                    func.count().filter(active, ~is_private),
                    func.count().filter(s.status == Status.UNSUBSCRIBED),
                    func.count().filter(s.status.in_((Status.BLOCKED, Status.LEFT))),
                    func.count().filter(active, s.subscribed_at >= week_ago),
                )
                .group_by(s.campaign_id)
                .order_by(s.campaign_id)
            )
            return [CampaignStats(*row) for row in rows]

    async def signups_per_day(self, since: dt.datetime) -> list[tuple[dt.date, int]]:
        """Return how many subscriptions began on each day (UTC) from `since`, oldest first."""
        day = func.date(_Subscription.subscribed_at)
        async with self._session() as session:
            rows = await session.execute(
                select(day, func.count())
                .where(_Subscription.subscribed_at >= since)
                .group_by(day)
                .order_by(day)
            )
            # SQLite's date() answers text, PostgreSQL's a date.
            return [(dt.date.fromisoformat(str(d)), count) for d, count in rows]

    async def signups_by_source(self) -> list[tuple[str, str | None, int, int]]:
        """Return (campaign, source, still subscribed, all) for every source, most first."""
        s = _Subscription
        async with self._session() as session:
            rows = await session.execute(
                select(
                    s.campaign_id,
                    s.source,
                    func.count().filter(s.status == Status.ACTIVE),
                    func.count(),
                )
                .group_by(s.campaign_id, s.source)
                .order_by(s.campaign_id, func.count().desc(), s.source)
            )
            return [(c, source, active, total) for c, source, active, total in rows]

    async def subscriptions(
        self, campaign_id: str | None = None, batch: int = 1000
    ) -> AsyncIterator[SubscriptionRecord]:
        """Yield subscriptions (of one campaign, or all) in a stable order, streamed."""
        statement = select(_Subscription).order_by(
            _Subscription.campaign_id, _Subscription.chat_id
        )
        if campaign_id is not None:
            statement = statement.where(_Subscription.campaign_id == campaign_id)
        async with self._session() as session:
            result = await session.stream_scalars(statement.execution_options(yield_per=batch))
            async for row in result:
                yield _record(row)

    async def add_subscriptions(
        self, records: Iterable[SubscriptionRecord], batch: int = 5000
    ) -> int:
        """Insert subscriptions in bulk (imports, copies between databases); return the count."""
        table = _Subscription.__table__
        assert isinstance(table, Table)
        count = 0
        chunk: list[dict[str, Any]] = []
        for record in records:
            row = dataclasses.asdict(record)
            row["topics"] = topics_column(record.topics)
            chunk.append(row)
            if len(chunk) >= batch:
                count += await self._insert_rows(table, chunk)
                chunk = []
        if chunk:
            count += await self._insert_rows(table, chunk)
        return count

    async def _insert_rows(self, table: Table, rows: list[dict[str, Any]]) -> int:
        async with self._session.begin() as session:
            await session.execute(insert(table), rows)
        return len(rows)


def _progress(row: _Broadcast, counts: dict[str, int]) -> Progress:
    return Progress(
        broadcast_id=row.id,
        campaign_id=row.campaign_id,
        state=row.state,
        total=sum(counts.values()),
        sent=counts.get(Outcome.SENT, 0),
        blocked=counts.get(Outcome.BLOCKED, 0),
        failed=counts.get(Outcome.FAILED, 0),
        cancelled=counts.get(Outcome.CANCELLED, 0),
        uncertain=row.uncertain,
        status_chat_id=row.status_chat_id,
        status_message_id=row.status_message_id,
        created_at=row.created_at,
        send_at=row.send_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        report_language=row.report_language,
    )


def _reader_language(audience: Audience = Audience()) -> Any:
    """Return a subscriber's language: chosen with /language, else their Telegram app's, else
    (groups and channels have none) the main language of the broadcast."""
    known = (_Preference.language, _Subscription.language_code)
    if audience.main_language is None:
        return func.coalesce(*known)
    return func.coalesce(*known, literal(audience.main_language))


def _audience(row: _Broadcast) -> Audience:
    return Audience(row.topic, row.audience_language, row.main_language)


# The columns an Audience is read from, in its fields' order.
_AUDIENCE_COLUMNS = (_Broadcast.topic, _Broadcast.audience_language, _Broadcast.main_language)


def _recipients(campaign_id: str, audience: Audience, *columns: Any) -> Select[Any]:
    """Select columns over a campaign's active subscribers, of the audience's topic and
    language if it has them."""
    query = (
        select(*columns)
        .select_from(_Subscription)
        .outerjoin(_Preference, _Preference.chat_id == _Subscription.chat_id)
        .where(_Subscription.campaign_id == campaign_id, _Subscription.status == Status.ACTIVE)
    )
    if audience.topic is not None:
        query = query.where(
            _Subscription.topics.is_(None)
            | _Subscription.topics.contains(f",{audience.topic},", autoescape=True)
        )
    if audience.language is not None:
        reader = func.lower(_reader_language(audience))
        language = audience.language
        query = query.where(
            (reader == language) | reader.startswith(f"{language}-", autoescape=True)
        )
    return query


def topics_column(topics: frozenset[str] | None) -> str | None:
    """Return chosen topics as stored: ",a,b,", so one LIKE finds a topic; None for all."""
    return None if topics is None else "," + ",".join(sorted(topics)) + ","


def _topics(stored: str | None) -> frozenset[str] | None:
    return None if stored is None else frozenset(t for t in stored.split(",") if t)


def _record(row: _Subscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        chat_id=row.chat_id,
        campaign_id=row.campaign_id,
        chat_type=row.chat_type,
        language_code=row.language_code,
        status=row.status,
        source=row.source,
        subscribed_at=row.subscribed_at,
        updated_at=row.updated_at,
        topics=_topics(row.topics),
    )
