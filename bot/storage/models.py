"""The tables, as typed ORM models, and the values their status columns hold.

Private to bot.storage: callers get plain values from Storage's methods, never these rows
(tests/test_layers.py checks that nothing outside bot/storage imports this module)."""

from __future__ import annotations

import datetime as dt
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.sealing import sealer_of


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
    AWAITING = "awaiting"  # confirmed, waiting for a second organizer's approval
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store aware datetimes as naive UTC, so SQLite and PostgreSQL read back the same value."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class SealedId(TypeDecorator[int]):
    """A Telegram id: a plain int in Python, sealed bytes in the database (bot/storage/sealing.py).

    Every column that holds a person's or a chat's id has this type, so no query seals by hand
    and `rotate-key` finds every such column in the metadata. The bytes keep equality, never
    order or sign: sort and test ids in Python, after reading them.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> bytes | None:
        return None if value is None else sealer_of(dialect).seal(value)

    def process_result_value(self, value: bytes | None, dialect: Any) -> int | None:
        return None if value is None else sealer_of(dialect).unseal(value)


class SealedBytes(TypeDecorator[bytes]):
    """A payload that may name people (an update waiting to be answered): sealed like the ids,
    under the same key, with an associated data of its own (bot/storage/sealing.py)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        return None if value is None else sealer_of(dialect).seal_bytes(value)

    def process_result_value(self, value: bytes | None, dialect: Any) -> bytes | None:
        return None if value is None else sealer_of(dialect).unseal_bytes(value)


class Base(DeclarativeBase):
    pass


metadata = Base.metadata


class Subscription(Base):
    __tablename__ = "subscriptions"
    # Migration 0013 (issue 21): the desk's overview reads every campaign's counts on each
    # refresh. Each index holds every column its queries read, so they are answered from the
    # index alone, in campaign order (no sort for GROUP BY campaign): a campaign's audience
    # (per topic, per language, and the outbox's INSERT ... SELECT), and the counts by status,
    # type, source and day (/stats and the desk).
    __table_args__ = (
        Index(
            "ix_subscriptions_audience",
            "campaign_id",
            "status",
            "language_code",
            "topics",
            "chat_id",
        ),
        Index(
            "ix_subscriptions_counts",
            "campaign_id",
            "source",
            "status",
            "chat_type",
            "subscribed_at",
            "updated_at",
        ),
    )

    chat_id: Mapped[int] = mapped_column(SealedId, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_type: Mapped[str] = mapped_column(String(16))
    language_code: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    subscribed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Added by migration 0004: the topics chosen, as ",a,b,"; NULL for every topic.
    topics: Mapped[str | None] = mapped_column(String(1000))


class Preference(Base):
    """A chat's choices that hold for every campaign (migration 0004)."""

    __tablename__ = "preferences"

    chat_id: Mapped[int] = mapped_column(SealedId, primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Broadcast(Base):
    __tablename__ = "broadcasts"
    # Ids appear in buttons and reports: never hand one out twice.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    parts: Mapped[list[Any]] = mapped_column(JSON)  # see bot.delivery.posts
    created_by: Mapped[int | None] = mapped_column(SealedId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    status_chat_id: Mapped[int | None] = mapped_column(SealedId)
    status_message_id: Mapped[int | None] = mapped_column(Integer)
    uncertain: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Added by migration 0002: when a scheduled broadcast is due, when sending began.
    send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Added by migration 0004: who it is for (a topic, a language), the language of `parts`
    # (readers of no known language count as its readers), its other languages, and the
    # language its author reads the reports in.
    topic: Mapped[str | None] = mapped_column(String(32))
    audience_language: Mapped[str | None] = mapped_column(String(16))
    main_language: Mapped[str | None] = mapped_column(String(16))
    translations: Mapped[dict[str, list[Any]] | None] = mapped_column(JSON)
    report_language: Mapped[str | None] = mapped_column(String(16))
    # Added by migration 0009: when its delivery rows were deleted (DELIVERY_RETENTION), and
    # their counts by outcome, kept for reports.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    kept_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # Added by migration 0010: when a second organizer's approval was asked, and who gave it.
    approval_asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(SealedId)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_id", "status", "id"),
        Index("ux_deliveries_broadcast_chat", "broadcast_id", "chat_id", unique=True),
        # A broadcast's counts by outcome (its progress, read by the desk and each status
        # report) from the index alone; its failures without reading the rows sent (0013).
        Index("ix_deliveries_broadcast_status", "broadcast_id", "status"),
        # Without AUTOINCREMENT SQLite reuses a deleted row's id, and a late result for the
        # deleted row would land on a new recipient.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(SealedId, index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Added by migration 0004: the recipient's language when queued, to pick their text.
    language: Mapped[str | None] = mapped_column(String(16))
    # Added by migration 0006: the ids of the messages it became in the chat, in order (to
    # edit or delete them); NULL when nothing arrived.
    message_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))
    # Added by migration 0007: the last correction (edit or retraction) applied to this copy,
    # and how it ended for it (see CorrectionOutcome); the reason when it could not be done.
    fixed_by: Mapped[int | None] = mapped_column(Integer)
    fix_status: Mapped[str | None] = mapped_column(String(16))
    fix_error: Mapped[str | None] = mapped_column(String(200))


class CorrectionState(StrEnum):
    """Where an edit or a retraction of a sent broadcast stands."""

    DRAFT = "draft"  # shown to the organizer, not confirmed
    AWAITING = "awaiting"  # confirmed, waiting for a second organizer's approval
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class CorrectionOutcome(StrEnum):
    """How a correction ended for one delivered copy (deliveries.fix_status)."""

    WORKING = "working"  # handed to Telegram: after a crash, it may or may not have happened
    SENT_NEW = "sent_new"  # the copy went out already corrected: nothing to do
    UNCHANGED = "unchanged"  # the reader's language version was not corrected
    EDITED = "edited"
    DELETED = "deleted"
    GONE = "gone"  # already deleted (by the person, or by a run a restart interrupted)
    TOO_OLD = "too_old"  # over Telegram's 48 hours for deleting
    BLOCKED = "blocked"
    FAILED = "failed"


class Correction(Base):
    """An organizer's edit or retraction of a sent broadcast (migration 0007)."""

    __tablename__ = "corrections"
    # Ids appear in buttons: never hand one out twice.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "edit" or "delete"
    # For an edit, the broadcast's text before and after, each {"parts": [...],
    # "translations": {language: [...]}} as bot.delivery.posts describes parts.
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    corrected: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_by: Mapped[int | None] = mapped_column(SealedId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    status_chat_id: Mapped[int | None] = mapped_column(SealedId)
    status_message_id: Mapped[int | None] = mapped_column(Integer)
    uncertain: Mapped[int] = mapped_column(Integer, default=0)  # in flight at a restart
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    report_language: Mapped[str | None] = mapped_column(String(16))
    # Added by migration 0010: when a second organizer's approval was asked, and who gave it.
    approval_asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(SealedId)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admin_id: Mapped[int | None] = mapped_column(SealedId, index=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Pledge(Base):
    __tablename__ = "pledges"
    __table_args__ = (Index("ix_pledges_campaign_action", "campaign_id", "action"),)

    chat_id: Mapped[int] = mapped_column(SealedId, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(16), primary_key=True)  # content.action_key
    pledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FeedState(Base):
    """How a campaign's feed was last polled (migration 0005): what to send to skip an
    unchanged feed, and the current run of failures."""

    __tablename__ = "feed_states"

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))  # as the campaign file gives it
    # Where the feed itself was found (a page's feed, after redirects): polled, conditionally,
    # while it works; forgotten at a failure, so the next poll starts from `url` again.
    feed_url: Mapped[str | None] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row, since the last read
    last_error: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # None: never read


class FeedItemState(StrEnum):
    """Where one post of a campaign's feed stands."""

    BACKLOG = "backlog"  # already there when the feed was first read: never offered
    DRAFTED = "drafted"  # offered to the organizers, waiting for a press
    ADDED = "added"
    IGNORED = "ignored"


class FeedItem(Base):
    """One post seen in a campaign's feed, claimed once (migration 0005)."""

    __tablename__ = "feed_items"
    __table_args__ = (
        Index("ux_feed_items_campaign_guid", "campaign_id", "guid", unique=True),
        # Ids appear in buttons: never hand one out twice.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    guid: Mapped[str] = mapped_column(String(1000))
    digest: Mapped[str] = mapped_column(String(64))  # of the entry as the feed gave it
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # Draft's fields, when drafted
    decided_by: Mapped[int | None] = mapped_column(SealedId, index=True)  # an organizer
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    file: Mapped[str | None] = mapped_column(String(1000))  # the statement file written
    # When the draft reached at least one organizer; NULL: offered again at the next poll.
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Upload(Base):
    """A campaign file Telegram already has, and the file id to send it by (migration 0008)."""

    __tablename__ = "uploads"

    # sha256:<hex> of a file's bytes (an edited file is a new key, so it is uploaded again),
    # or the https URL Telegram fetched it from (a longer one: url-sha256:<hex> of it).
    key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # photo or document
    file_id: Mapped[str] = mapped_column(String(500))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class KeyCheck(Base):
    """One row holding a fixed marker sealed like every id (migration 0011): read at start,
    it tells a missing or wrong ID_ENCRYPTION_KEY apart before any lookup matches nothing."""

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    marker: Mapped[int] = mapped_column(SealedId)


class InboxLane(IntEnum):
    """Which answers go first: an organizer's, then each chat's first waiting update, then
    the rest (issue 20). Ordered: a lower lane is answered first."""

    ORGANIZER = 0
    FIRST = 1
    LATER = 2


class InboxUpdate(Base):
    """An update taken from Telegram and not yet answered, or answered lately (migration 0012).

    Telegram counts an update as handled once the bot confirms it (the next getUpdates offset,
    or a webhook's 200), so it is written here first and answered from here: a process killed
    mid-crowd leaves its work where the next start finds it. Once answered, the row keeps only
    its update_id for a day, so an update Telegram delivers again is not answered twice.
    """

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    lane: Mapped[int] = mapped_column(SmallInteger)
    # The chat (or, for an update without one, the person) whose updates go in order; NULL
    # once answered. The payload is the update's JSON, names left out for all but organizers,
    # sealed under the key when one is set; NULL once answered.
    chat: Mapped[int | None] = mapped_column(SealedId)
    payload: Mapped[bytes | None] = mapped_column(SealedBytes)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_inbox_waiting", "done_at", "lane", "update_id"),
        Index("ix_inbox_chat", "chat", "update_id"),
    )


class PaidAnswersDay(Base):
    """How many answers took Telegram's paid lane on a day (UTC), all processes together
    (issue 20: PAID_ANSWERS_PER_DAY caps it)."""

    __tablename__ = "paid_answers"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-12-07
    spent: Mapped[int] = mapped_column(Integer)


class ApprovalAsk(Base):
    """A message that asked an organizer to approve a broadcast or a correction (migration
    0014), kept while the request waits: whoever decides, in the chat or the desk, or
    withdraws it, every such message then says what became of it instead of offering buttons
    that no longer work."""

    __tablename__ = "approval_asks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(16))  # "broadcast" or "correction"
    subject_id: Mapped[int] = mapped_column(Integer)
    chat_id: Mapped[int] = mapped_column(SealedId)  # the organizer asked
    message_id: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_approval_asks_subject", "subject", "subject_id"),)


class ContentVersion(Base):
    """The campaign folder as published to every process (migration 0015, issue 22): each
    /reload, draft Add or desk save that loads keeps one, and every process serves the latest."""

    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(80))  # sha256:<hex> of its files
    # The folder's files, zipped; NULL once older than the versions kept (its digest stays:
    # a folder holding an old version is known to be one, not edits to publish).
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    files: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)  # bytes unpacked
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(SealedId)  # None: the process at start

    __table_args__ = (
        Index("ix_content_versions_digest", "digest"),
        {"sqlite_autoincrement": True},
    )
