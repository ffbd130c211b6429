"""Referral links: /start <campaign>-<source>, /link with its QR code, sign-ups by source."""

from __future__ import annotations

import png
import pytest

from bot import texts
from bot.campaign.content import load_campaigns
from bot.campaign.links import parse_payload, qr_png, start_link

from .conftest import ADMIN, ANA, BEN, CAMPAIGNS, Harness


def test_payloads_name_a_campaign_and_a_source() -> None:
    content = load_campaigns(CAMPAIGNS)
    rafah = content.get("rafah")
    assert parse_payload("rafah", content) == (rafah, "rafah")
    assert parse_payload("rafah-flyer_march", content) == (rafah, "flyer_march")
    assert parse_payload("rafah-a-b", content) == (rafah, "a-b")
    for bad in ("rafah-", "other-flyer", "rafah flyer", "rafah-é", "r" * 65, ""):
        assert parse_payload(bad, content) is None
    assert start_link("bot", "rafah", "flyer") == "https://t.me/bot?start=rafah-flyer"
    with pytest.raises(ValueError, match="not a link payload"):
        start_link("bot", "rafah", "x" * 60)


def test_the_qr_code_is_a_png_with_three_finder_patterns() -> None:
    width, height, rows, _ = png.Reader(bytes=qr_png("https://t.me/bot?start=rafah-flyer")).read()
    pixels = [list(row) for row in rows]
    assert width == height >= 21 * 10
    box, border = 10, 4  # what qr_png asks for

    def dark(module_x: int, module_y: int) -> bool:
        x, y = (border + module_x) * box + box // 2, (border + module_y) * box + box // 2
        return pixels[y][x] == 0

    modules = width // box - 2 * border
    for corner_x, corner_y in ((0, 0), (modules - 7, 0), (0, modules - 7)):
        # A finder pattern: a dark 7x7 ring, a light ring, a dark 3x3 centre.
        ring = [dark(corner_x + i, corner_y) for i in range(7)]
        assert ring == [True] * 7
        assert not dark(corner_x + 1, corner_y + 1)
        assert dark(corner_x + 3, corner_y + 3)


async def test_a_link_records_its_source_and_stats_count_it(bot: Harness) -> None:
    await bot.command("/link flyer_march", user=ADMIN)
    reply, caption = bot.texts(ADMIN)[-2:]
    link = "https://t.me/solidarity_preview_bot?start=rafah-flyer_march"
    assert link in reply
    assert caption == "rafah · flyer_march"
    photo = bot.last(ADMIN)
    assert photo["content"].startswith(b"\x89PNG")

    await bot.command("/start rafah-flyer_march", user=ANA)
    await bot.command("/subscribe", user=ANA)
    await bot.command("/start rafah-flyer_march", user=BEN)
    await bot.command("/subscribe", user=BEN)
    await bot.command("/unsubscribe", user=BEN)
    await bot.command("/start rafah", user=3003)
    await bot.command("/subscribe", user=3003)
    await bot.command("/subscribe", user=3004)  # no link at all
    records = {r.chat_id: r.source async for r in bot.storage.subscriptions()}
    assert records == {ANA: "flyer_march", BEN: "flyer_march", 3003: "rafah", 3004: None}

    await bot.command("/stats", user=ADMIN)
    stats = bot.texts(ADMIN)[-2]  # then comes the chart
    assert texts.STATS_SOURCES in stats
    assert "rafah · flyer_march: 1 / 2" in stats
    assert "rafah · rafah: 1 / 1" in stats
    assert f"rafah · {texts.STATS_NO_SOURCE}: 1 / 1" in stats
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert "link" in actions


@pytest.mark.parametrize("command", ["/link", "/link bad source!", "/link " + "x" * 70])
async def test_link_explains_what_it_needs(bot: Harness, command: str) -> None:
    await bot.command(command, user=ADMIN)
    assert "Say where the link will be handed out" in bot.texts(ADMIN)[-1]
    assert bot.api.calls_to("sendPhoto") == []


async def test_link_is_for_organizers_only(bot: Harness) -> None:
    await bot.command("/link flyer", user=ANA)
    assert bot.texts(ANA) == [texts.NOT_ADMIN]
    assert bot.api.calls_to("sendPhoto") == []
