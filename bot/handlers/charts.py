"""The sign-ups chart organizers get with /stats: per day, and per source, as one PNG.

matplotlib is imported when a chart is drawn, not when the bot starts: it costs about half a
second and tens of megabytes, which a bot that is never asked for a chart should not pay.
Its words stay in English, in this module: matplotlib cannot join Arabic letters.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

DAYS = 30
TOP_SOURCES = 10


@dataclass(frozen=True)
class ChartData:
    """What the chart shows: sign-ups on each of the last days, and the biggest sources."""

    days: list[tuple[dt.date, int]]  # every day of the period, oldest first, zeros included
    sources: list[tuple[str, int]]  # the most sign-ups first

    @property
    def empty(self) -> bool:
        return not any(count for _, count in self.days) and not self.sources


def chart_data(
    per_day: Sequence[tuple[dt.date, int]],
    by_source: Sequence[tuple[str, str | None, int, int]],
    today: dt.date,
    days: int = DAYS,
) -> ChartData:
    """Fill the days without sign-ups with zeros; sum sources over campaigns; keep the top."""
    counted = dict(per_day)
    period = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    totals: dict[str, int] = {}
    for _, source, _, total in by_source:
        name = source or "no link"
        totals[name] = totals.get(name, 0) + total
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    if len(ranked) > TOP_SOURCES:
        rest = sum(count for _, count in ranked[TOP_SOURCES - 1 :])
        ranked = [*ranked[: TOP_SOURCES - 1], ("other sources", rest)]
    return ChartData([(day, counted.get(day, 0)) for day in period], ranked)


def render_png(data: ChartData) -> bytes:
    """Draw the two charts, one above the other, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw into memory
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 7), dpi=100, layout="constrained")
    per_day, per_source = figure.subplots(2, 1, height_ratios=(3, 2))
    figure.suptitle("Sign-ups")
    days = [day for day, _ in data.days]
    per_day.bar(days, [count for _, count in data.days], color="#b22222")
    per_day.set_title(f"Sign-ups per day, last {len(days)} days")
    per_day.yaxis.get_major_locator().set_params(integer=True)
    per_day.tick_params(axis="x", labelrotation=45)
    names = [name for name, _ in data.sources] or ["(none yet)"]
    counts = [count for _, count in data.sources] or [0]
    per_source.barh(names[::-1], counts[::-1], color="#2e7d32")
    per_source.set_title("Sign-ups by source (all time)")
    per_source.xaxis.get_major_locator().set_params(integer=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
