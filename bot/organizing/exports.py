"""The subscriber list as CSV, for an organizer: the chat's /export and the desk's download."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import TextIO

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


@dataclass(frozen=True)
class Export:
    """A subscriber list written for one organizer."""

    file_name: str
    data: bytes  # UTF-8 CSV
    rows: int


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


async def export(storage: Storage, organizer: int, campaign_id: str | None) -> Export:
    """Write one campaign's subscribers (or every campaign's) for an organizer, audited."""
    buffer = io.StringIO()
    rows = await write_csv(storage, buffer, campaign_id)
    await storage.audit(organizer, "export", f"{rows} rows of {campaign_id or 'all'}")
    name = f"subscribers-{campaign_id or 'all'}-{dt.date.today():%Y%m%d}.csv"
    return Export(name, buffer.getvalue().encode("utf-8"), rows)
