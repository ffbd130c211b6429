"""What the bot remembers, behind one `Storage`: subscriptions, preferences, pledges,
broadcasts with their outbox and corrections, campaign feeds, reports, the audit log and the
file ids of campaign files, each part in a module of its own."""

from __future__ import annotations

from bot.storage.approvals import Approvals
from bot.storage.audience import Audience, version_for
from bot.storage.broadcasts import BroadcastDraft, Broadcasts, Progress
from bot.storage.corrections import (
    Copy,
    CorrectionRecord,
    Corrections,
    CorrectionTally,
    Fix,
    text_of,
)
from bot.storage.engine import Clock, async_url, sqlite_file
from bot.storage.feeds import FeedPoll, FeedPost, Feeds
from bot.storage.inbox import Inbox
from bot.storage.models import (
    BroadcastState,
    CorrectionOutcome,
    CorrectionState,
    FeedItemState,
    Outcome,
    Status,
    metadata,
)
from bot.storage.outbox import MAX_ATTEMPTS, Job, Outbox, Result
from bot.storage.pledges import Pledges
from bot.storage.preferences import Preferences
from bot.storage.privacy import Privacy, StoredAbout
from bot.storage.published import Published, VersionInfo, WithPrevious
from bot.storage.recipients import AudienceTally, Recipients
from bot.storage.reports import CampaignStats, Reports
from bot.storage.retention import Forgotten, Periods, Retention
from bot.storage.subscribers import Subscribers, SubscriptionRecord
from bot.storage.uploads import Uploads

__all__ = [
    "MAX_ATTEMPTS",
    "Audience",
    "AudienceTally",
    "BroadcastDraft",
    "BroadcastState",
    "CampaignStats",
    "Clock",
    "Copy",
    "CorrectionOutcome",
    "CorrectionRecord",
    "CorrectionState",
    "CorrectionTally",
    "FeedItemState",
    "FeedPoll",
    "FeedPost",
    "Fix",
    "Forgotten",
    "Job",
    "Outcome",
    "Periods",
    "Progress",
    "Result",
    "Status",
    "Storage",
    "StoredAbout",
    "SubscriptionRecord",
    "VersionInfo",
    "WithPrevious",
    "async_url",
    "metadata",
    "sqlite_file",
    "text_of",
    "version_for",
]


class Storage(
    Subscribers,
    Preferences,
    Pledges,
    Broadcasts,
    Recipients,
    Approvals,
    Outbox,
    Corrections,
    Feeds,
    Reports,
    Privacy,
    Retention,
    Uploads,
    Published,
    Inbox,
):
    """The bot's database, behind intention-named async methods returning plain values.

    One object with every method (`storage.subscribe(...)`, `storage.claim_jobs(...)`), put
    together from one class per thing stored, each in its own module over the shared
    `Database` (bot/storage/engine.py). A new table gets a module and a class here.
    """
