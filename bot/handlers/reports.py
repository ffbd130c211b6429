"""Organizer reports: subscriber numbers as text, and the sign-ups chart."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import texts
from bot.campaign.content import Content
from bot.campaign.markup import escape
from bot.handlers import charts
from bot.i18n import gettext as _
from bot.organizing import broadcasts, overview
from bot.storage import Storage


async def stats_html(
    storage: Storage, content: Content | None, paid_per_day: int | None = None
) -> str:
    """Return subscribers per campaign, sign-ups by source, and the last broadcasts (and,
    with `paid_per_day`, the answers that took the paid lane today): the desk's numbers."""
    found = await overview.overviews(storage, content)
    counted = [o for o in found if o.counted]
    lines = [_(texts.STATS_TITLE)]
    if not counted:
        lines.append(_(texts.STATS_NONE))
    for o in counted:
        lines.append(
            _(texts.STATS_LINE).format(
                campaign=escape(o.campaign_id),
                private=o.private,
                groups=o.groups,
                new=o.new_last_7_days,
                unsubscribed=o.unsubscribed,
                blocked=o.blocked,
            )
        )
    if counted:
        lines += ["", _(texts.STATS_LANGUAGES)]
        for o in counted:
            listed = " · ".join(f"{name} {count}" for name, count in o.languages)
            lines.append(
                _(texts.STATS_LANGUAGE_LINE).format(
                    campaign=escape(o.campaign_id), languages=escape(listed)
                )
            )
    if any(o.sources for o in found):
        lines += ["", _(texts.STATS_SOURCES)]
        lines.extend(
            _(texts.STATS_SOURCE_LINE).format(
                campaign=escape(o.campaign_id),
                source=escape(s.source) if s.source else _(texts.STATS_NO_SOURCE),
                active=s.active,
                total=s.total,
            )
            for o in found
            for s in o.sources
        )
    if any(count for o in found for _title, count in o.pledges):
        lines += ["", _(texts.STATS_PLEDGES)]
        lines.extend(
            _(texts.STATS_PLEDGE_LINE).format(
                campaign=escape(o.campaign_id), title=escape(title), count=count
            )
            for o in found
            for title, count in o.pledges
        )
    recent = await broadcasts.listing(storage)
    if recent:
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
            for p in (entry.progress for entry in recent)
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
