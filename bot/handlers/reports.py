"""Organizer reports: subscriber numbers and the subscriber list as CSV."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections import Counter
from typing import TextIO

from bot import i18n, texts
from bot.campaign.content import Content
from bot.campaign.markup import escape
from bot.handlers import charts
from bot.i18n import gettext as _
from bot.storage import Storage

CSV_COLUMNS = (
    "chat_id",
    "chat_type",
    "campaign",
    "status",
    "source",
    "language_code",
    "subscribed_at",
    "updated_at",
    "topics",  # the topics followed, space-separated; empty for all
)


def _by_language(counts: dict[str | None, int]) -> list[tuple[str, int]]:
    """Return readers per language name (es-419 counted as es), most read first, then by name."""
    named: Counter[str] = Counter()
    for code, count in counts.items():
        tag = i18n.normalize(code)
        base = tag.split("-")[0] if tag else None
        named[i18n.spoken_name(base) if base else _(texts.STATS_LANGUAGE_UNKNOWN)] += count
    return sorted(named.items(), key=lambda item: (-item[1], item[0]))


async def stats_html(
    storage: Storage, content: Content | None, paid_per_day: int | None = None
) -> str:
    """Return subscribers per campaign, sign-ups by source, and the last broadcasts (and,
    with `paid_per_day`, the answers that took the paid lane today)."""
    lines = [_(texts.STATS_TITLE)]
    rows = await storage.stats()
    if not rows:
        lines.append(_(texts.STATS_NONE))
    for row in rows:
        lines.append(
            _(texts.STATS_LINE).format(
                campaign=escape(row.campaign_id),
                private=row.active_private,
                groups=row.active_groups,
                new=row.new_last_7_days,
                unsubscribed=row.unsubscribed,
                blocked=row.blocked,
            )
        )
    if rows:
        lines += ["", _(texts.STATS_LANGUAGES)]
        for row in rows:
            readers = _by_language(await storage.recipient_languages(row.campaign_id))
            listed = " · ".join(f"{name} {count}" for name, count in readers)
            lines.append(
                _(texts.STATS_LANGUAGE_LINE).format(
                    campaign=escape(row.campaign_id), languages=escape(listed)
                )
            )
    sources = await storage.signups_by_source()
    if sources:
        lines += ["", _(texts.STATS_SOURCES)]
        lines.extend(
            _(texts.STATS_SOURCE_LINE).format(
                campaign=escape(campaign),
                source=escape(source) if source else _(texts.STATS_NO_SOURCE),
                active=active,
                total=total,
            )
            for campaign, source, active, total in sources
        )
    pledges = await storage.pledge_counts()
    if pledges and content is not None:  # None: `stats` could not read the campaign files
        lines += ["", _(texts.STATS_PLEDGES)]
        for campaign in content:
            for action in campaign.actions:
                count = pledges.get((campaign.id, campaign.action_key(action)), 0)
                lines.append(
                    _(texts.STATS_PLEDGE_LINE).format(
                        campaign=escape(campaign.id), title=escape(action.title), count=count
                    )
                )
    broadcasts = await storage.recent_broadcasts()
    if broadcasts:
        lines += ["", _(texts.STATS_BROADCASTS)]
        lines.extend(
            _(texts.STATS_BROADCAST_LINE).format(
                id=p.broadcast_id,
                campaign=escape(p.campaign_id),
                date=f"{p.created_at:%Y-%m-%d %H:%M}",
                state=p.state,
                sent=p.sent,
                total=p.total,
                blocked=p.blocked,
                failed=p.failed,
            )
            for p in broadcasts
        )
    if paid_per_day is not None:
        spent = await storage.paid_answers_today()
        lines += ["", _(texts.STATS_PAID_ANSWERS).format(spent=spent, cap=paid_per_day)]
    return "\n".join(lines)


async def signups_chart(storage: Storage) -> bytes | None:
    """Return the sign-ups chart as a PNG, or None while nobody has signed up."""
    today = storage.clock().date()
    since = dt.datetime.combine(today - dt.timedelta(days=charts.DAYS - 1), dt.time(), dt.UTC)
    data = charts.chart_data(
        await storage.signups_per_day(since), await storage.signups_by_source(), today
    )
    if data.empty:
        return None
    # Drawing takes a few hundred milliseconds of CPU: off the event loop, so nobody waits.
    return await asyncio.to_thread(charts.render_png, data)


async def write_csv(storage: Storage, out: TextIO, campaign_id: str | None = None) -> int:
    """Write subscriptions as CSV, streamed from the database; return the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    async for row in storage.subscriptions(campaign_id):
        writer.writerow(
            (
                row.chat_id,
                row.chat_type,
                row.campaign_id,
                row.status,
                row.source or "",
                row.language_code or "",
                row.subscribed_at.isoformat(timespec="seconds"),
                row.updated_at.isoformat(timespec="seconds"),
                " ".join(sorted(row.topics)) if row.topics is not None else "",
            )
        )
        count += 1
    return count
