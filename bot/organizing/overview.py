"""A campaign's numbers, as /stats and the desk show them: one reading, two faces."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot import i18n, texts
from bot.campaign.content import Campaign, Content
from bot.i18n import gettext as _
from bot.storage import AudienceTally, CampaignStats, Storage

DAYS = 30  # the daily chart's span


@dataclass(frozen=True)
class Source:
    """Sign-ups that came by one way in: a link's source, a campaign's own link, or none."""

    source: str | None
    active: int  # still subscribed
    total: int


@dataclass(frozen=True)
class Day:
    """Subscriptions begun and ended on one day (UTC)."""

    day: dt.date
    joins: int
    leaves: int


@dataclass(frozen=True)
class Overview:
    """One campaign's subscribers now, how they came and changed, what they read and pledged."""

    campaign_id: str
    title: str
    counted: bool  # anyone ever subscribed (else every count is 0)
    private: int  # people subscribed now
    groups: int  # groups subscribed now
    unsubscribed: int
    blocked: int  # blocked the bot, or removed it from the group
    new_last_7_days: int  # subscribed in the last 7 days and still subscribed
    net_7_days: int  # joins minus leaves
    net_30_days: int
    sources: list[Source]
    languages: list[tuple[str, int]]  # spoken name, readers; most read first
    topics: list[tuple[str, int]]  # title, subscribers a broadcast on it reaches
    pledges: list[tuple[str, int]]  # action title, pledges
    days: list[Day]  # the last DAYS days, oldest first, every day present


def readers_by_language(counts: dict[str | None, int]) -> list[tuple[str, int]]:
    """Return readers per language name (es-419 counted as es), most read first, then by name."""
    named: Counter[str] = Counter()
    for code, count in counts.items():
        tag = i18n.normalize(code)
        base = tag.split("-")[0] if tag else None
        named[i18n.spoken_name(base) if base else _(texts.STATS_LANGUAGE_UNKNOWN)] += count
    return sorted(named.items(), key=lambda item: (-item[1], item[0]))


async def overviews(storage: Storage, content: Content | None) -> list[Overview]:
    """Return the overview of every campaign with subscriptions, and of every campaign served
    (`content` is None when the campaign files could not be read: counts only)."""
    tallies = await storage.tallies()
    counted = {row.campaign_id: row for row in tallies.stats}
    served = {campaign.id: campaign for campaign in content or ()}
    audiences = await storage.audience_tallies(sorted(counted))
    pledges = await storage.pledge_counts()
    today = storage.clock().date()
    since = dt.datetime.combine(today - dt.timedelta(days=DAYS - 1), dt.time(), dt.UTC)
    changes = await storage.daily_changes(since)
    return [
        _overview(
            campaign_id,
            counted.get(campaign_id),
            served.get(campaign_id),
            [Source(s, a, t) for c, s, a, t in tallies.sources if c == campaign_id],
            audiences.get(campaign_id, AudienceTally([], [])),
            pledges,
            _days(today, [(d, j, left) for c, d, j, left in changes if c == campaign_id]),
        )
        for campaign_id in sorted(counted.keys() | served.keys())
    ]


async def overview(storage: Storage, content: Content, campaign_id: str) -> Overview | None:
    """Return one campaign's overview, or None if it is neither served nor counted."""
    found = [o for o in await overviews(storage, content) if o.campaign_id == campaign_id]
    return found[0] if found else None


def _overview(
    campaign_id: str,
    counts: CampaignStats | None,
    campaign: Campaign | None,
    sources: list[Source],
    audience: AudienceTally,
    pledges: dict[tuple[str, str], int],
    days: list[Day],
) -> Overview:
    counted = counts is not None
    counts = counts or CampaignStats(campaign_id, 0, 0, 0, 0, 0)
    topics = []
    actions = []
    if campaign is not None:
        topics = [(topic.title, audience.reach(topic.id)) for topic in campaign.topics]
        actions = [
            (action.title, pledges.get((campaign_id, campaign.action_key(action)), 0))
            for action in campaign.actions
        ]
    return Overview(
        campaign_id=campaign_id,
        title=campaign.title if campaign is not None else campaign_id,
        counted=counted,
        private=counts.active_private,
        groups=counts.active_groups,
        unsubscribed=counts.unsubscribed,
        blocked=counts.blocked,
        new_last_7_days=counts.new_last_7_days,
        net_7_days=sum(d.joins - d.leaves for d in days[-7:]),
        net_30_days=sum(d.joins - d.leaves for d in days),
        sources=sources,
        languages=readers_by_language(audience.languages()),
        topics=topics,
        pledges=actions,
        days=days,
    )


def _days(today: dt.date, changes: Sequence[tuple[dt.date, int, int]]) -> list[Day]:
    """Return the last DAYS days up to `today`, with the days nothing happened as zeros."""
    found = {day: (joins, leaves) for day, joins, leaves in changes}
    span = [today - dt.timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
    return [Day(day, *found.get(day, (0, 0))) for day in span]
