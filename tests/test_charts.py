"""The sign-ups chart: /stats sends it, `python -m bot stats --chart FILE.png` writes it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import png

from bot.handlers.charts import TOP_SOURCES, chart_data, render_png
from bot.storage import Storage, SubscriptionRecord

from .conftest import ADMIN, ANA, BEN, Harness
from .test_cli import bot_command

TODAY = dt.date(2026, 11, 29)


def test_chart_data_fills_quiet_days_and_ranks_sources() -> None:
    per_day = [(TODAY - dt.timedelta(days=2), 5), (TODAY, 1)]
    by_source = [
        ("rafah", "flyer", 3, 4),
        ("rafah", None, 1, 1),
        ("other", "flyer", 1, 1),
        *(("rafah", f"s{n}", 1, 1) for n in range(12)),
    ]
    data = chart_data(per_day, by_source, TODAY, days=5)
    assert data.days == [
        (TODAY - dt.timedelta(days=4), 0),
        (TODAY - dt.timedelta(days=3), 0),
        (TODAY - dt.timedelta(days=2), 5),
        (TODAY - dt.timedelta(days=1), 0),
        (TODAY, 1),
    ]
    assert data.sources[0] == ("flyer", 5)  # summed over campaigns
    assert len(data.sources) == TOP_SOURCES
    assert data.sources[-1] == ("other sources", 13 - (TOP_SOURCES - 2))
    assert sum(count for _, count in data.sources) == 5 + 1 + 12
    assert chart_data([], [], TODAY).empty


def test_the_chart_is_a_png() -> None:
    data = chart_data([(TODAY, 3)], [("rafah", "flyer", 2, 3)], TODAY)
    width, height, _, _ = png.Reader(bytes=render_png(data)).read()
    assert (width, height) == (800, 700)


async def test_stats_sends_the_chart_with_the_numbers(bot: Harness) -> None:
    await bot.command("/stats", user=ADMIN)
    assert bot.api.calls_to("sendPhoto") == []  # nobody yet: no empty chart
    await bot.command("/start rafah-flyer", user=ANA)
    await bot.command("/subscribe", user=ANA)
    await bot.command("/subscribe", user=BEN)
    await bot.command("/stats", user=ADMIN)
    [photo] = bot.api.calls_to("sendPhoto")
    assert photo.params["chat_id"] == ADMIN
    assert bot.last(ADMIN)["content"].startswith(b"\x89PNG")


async def test_stats_writes_the_chart_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    chart = tmp_path / "chart.png"
    storage = await Storage.open(url)
    done = bot_command("stats", "--chart", str(chart), env={"DATABASE_URL": url})
    assert done.returncode == 1
    assert "no sign-ups yet" in done.stderr
    now = dt.datetime.now(dt.UTC)
    await storage.add_subscriptions(
        SubscriptionRecord(n, "rafah", "private", None, "active", "flyer", now, now)
        for n in range(1, 4)
    )
    await storage.close()
    done = bot_command("stats", "--chart", str(chart), env={"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert f"chart written to {chart}" in done.stdout
    assert chart.read_bytes().startswith(b"\x89PNG")
