"""Channels named in a campaign get its broadcasts and announcements too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.campaign.content import ContentError, load_campaigns
from bot.handlers.flood import FloodGuard
from bot.storage import Storage

from .conftest import ADMIN, ANA, CAMPAIGNS, Harness, serving

CHANNEL = -1001234567890


def campaigns_with(tmp_path: Path, channels: str) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder, dirs_exist_ok=True)
    text = (CAMPAIGNS / "rafah.yaml").read_text(encoding="utf-8")
    (folder / "rafah.yaml").write_text(text + channels, encoding="utf-8")
    return folder


async def _send(bot: Harness, command: str) -> None:
    await bot.command(command, user=ADMIN)
    confirm = int(bot.last(ADMIN)["message_id"])
    data = next(d for d in bot.buttons(ADMIN).values() if str(d).startswith("bc:send:"))
    await bot.press(str(data), user=ADMIN, message_id=confirm)
    await bot.settle()


async def test_broadcasts_and_announcements_reach_the_channels(
    storage: Storage, tmp_path: Path
) -> None:
    folder = campaigns_with(tmp_path, f'\nchannels:\n  - "{CHANNEL}"\n')
    async with serving(storage, folder, flood_guard=FloodGuard(burst=1000)) as bot:
        await bot.command("/subscribe", user=ANA)
        await bot.command("/broadcast Rally at noon", user=ADMIN)
        assert "Recipients now: <b>2</b>" in bot.texts(ADMIN)[-1]  # Ana and the channel
        await _send(bot, "/broadcast Rally at noon")
        assert bot.texts(CHANNEL) == ["Rally at noon"]
        assert bot.texts(ANA)[-1] == "Rally at noon"
        await _send(bot, "/announce")
        assert bot.texts(CHANNEL)[1].startswith("<b>ILPS Statement on the ‘flour massacre’")

        # Taken out of the file: /reload stops it from getting more.
        shutil.copy(CAMPAIGNS / "rafah.yaml", folder / "rafah.yaml")
        await bot.command("/reload", user=ADMIN)
        received = len(bot.texts(CHANNEL))
        await _send(bot, "/broadcast Only people now")
        assert len(bot.texts(CHANNEL)) == received
        assert bot.texts(ANA)[-1] == "Only people now"
    rows = {r.chat_id: (r.chat_type, r.status) async for r in storage.subscriptions()}
    assert rows[CHANNEL] == ("channel", "unsubscribed")


def test_a_channel_is_named_by_its_id_or_username(tmp_path: Path) -> None:
    """-100… ids and @usernames are taken; anything else is an error at its line."""
    folder = campaigns_with(tmp_path, f"\nchannels:\n  - '@ilps_news'\n  - '{CHANNEL}'\n")
    assert load_campaigns(folder).default.channels == ["@ilps_news", CHANNEL]
    for bad in ("ilps_news", "@abc", "12345", "-1001"):
        folder = campaigns_with(tmp_path, f"\nchannels:\n  - '{bad}'\n")
        with pytest.raises(ContentError, match=r"rafah.yaml:\d+:\d+: .*is not a channel:"):
            load_campaigns(folder)


async def test_a_channel_named_by_username_is_looked_up(storage: Storage, tmp_path: Path) -> None:
    """An @username found by getChat is a recipient; one not found keeps what was there."""
    folder = campaigns_with(tmp_path, f"\nchannels:\n  - '{CHANNEL}'\n")
    async with serving(storage, folder) as bot:
        assert await storage.count_recipients("rafah") == 1  # the channel by its id
        campaigns_with(tmp_path, "\nchannels:\n  - '@ilps_news'\n")
        await bot.command("/reload", user=ADMIN)  # @ilps_news unknown to Telegram yet
        assert await storage.count_recipients("rafah") == 1  # kept as it was, not dropped
        bot.api.usernames["@ilps_news"] = -1002000000002
        await bot.command("/reload", user=ADMIN)
        await _send(bot, "/broadcast Hello channel")
        assert bot.texts(-1002000000002) == ["Hello channel"]
        assert bot.texts(CHANNEL) == []  # no longer listed: dropped at the same reload
