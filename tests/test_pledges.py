"""Pledges: "I'm in" on each action, taken back at will, counted in /stats, reminded once."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import texts
from bot.campaign.content import action_key, load_campaigns
from bot.config import ConfigError, load_config
from bot.delivery.reminders import Reminders, starts_at
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, CAMPAIGNS, Harness, serving

ZONE = ZoneInfo("Europe/London")
DAY = dt.date(2027, 3, 9)
MARCH = f"""
  - title: March to the embassy
    description: Meet at the square and march together.
    date: {DAY.isoformat()}
    time: "14:00"
    place: City square
"""


def with_march(tmp_path: Path) -> Path:
    """Return a copy of the shipped campaigns whose first action is a dated march."""
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    text = (folder / "rafah.yaml").read_text(encoding="utf-8")
    (folder / "rafah.yaml").write_text(text.replace("actions:\n", f"actions:{MARCH}", 1))
    return folder


def pledge_buttons(bot: Harness, chat: int) -> dict[str, str]:
    return {label: data for label, data in bot.buttons(chat).items() if data.startswith("pl:")}


async def test_im_in_is_counted_taken_back_and_shown_to_organizers(bot: Harness) -> None:
    await bot.command("/actions", user=ANA)
    buttons = pledge_buttons(bot, ANA)
    assert len(buttons) == 7  # one per action of the shipped campaign
    ceasefire = texts.BUTTON_PLEDGE.format(title="Demand an immediate ceasefire")
    message_id = int(bot.last(ANA)["message_id"])
    await bot.press(buttons[ceasefire], user=ANA, message_id=message_id)
    assert bot.answers()[-1].params["text"] == texts.PLEDGED_UNDATED  # it has no date
    done = texts.BUTTON_PLEDGED.format(title="Demand an immediate ceasefire")[:64]
    assert done in pledge_buttons(bot, ANA)  # the keyboard shows it
    await bot.press(buttons[ceasefire], user=BEN, message_id=message_id)

    await bot.command("/stats", user=ADMIN)
    stats = bot.texts(ADMIN)[-1]  # (no chart: nobody has subscribed)
    assert texts.STATS_PLEDGES in stats
    assert "rafah · Demand an immediate ceasefire: 2" in stats
    assert "rafah · Boycott Israel on all fronts: 0" in stats

    await bot.press(buttons[ceasefire], user=ANA, message_id=message_id)  # take it back
    assert bot.answers()[-1].params["text"] == texts.UNPLEDGED
    assert await bot.storage.pledged(ANA, "rafah") == set()
    assert len(await bot.storage.pledged(BEN, "rafah")) == 1


async def test_in_a_group_each_member_pledges_for_themselves_and_counts_show(
    storage: Storage, tmp_path: Path
) -> None:
    """A group's buttons count who is in; a press counts the presser, told in an alert."""
    group = -1001234
    folder = with_march(tmp_path)
    async with serving(storage, folder) as bot:
        await bot.command("/actions", user=ANA, chat=group, chat_type="supergroup")
        buttons = pledge_buttons(bot, group)
        march = texts.BUTTON_PLEDGE_COUNT.format(title="March to the embassy", count=0)
        assert march in buttons
        # A long title is shortened, never the count: "… Court of Jus… · 0".
        assert all(label.endswith(" · 0") and len(label) <= 64 for label in buttons)
        message_id = int(bot.last(group)["message_id"])
        await bot.press(buttons[march], user=ANA, chat=group, message_id=message_id)
        assert bot.answers()[-1].params["text"] == texts.PLEDGED_IN_GROUP.format(lead="1 day")
        await bot.press(buttons[march], user=BEN, chat=group, message_id=message_id)
        after = texts.BUTTON_PLEDGE_COUNT.format(title="March to the embassy", count=2)
        assert after in pledge_buttons(bot, group)  # everyone sees the count
        assert len(await storage.pledged(ANA, "rafah")) == 1  # Ana's own pledge, not the group's
        assert await storage.pledged(group, "rafah") == set()
        await bot.press(buttons[march], user=ANA, chat=group, message_id=message_id)
        assert bot.answers()[-1].params["text"] == texts.UNPLEDGED
        assert await storage.pledged(ANA, "rafah") == set()


async def test_a_reminder_goes_out_once_before_the_action(
    storage: Storage, tmp_path: Path
) -> None:
    folder = with_march(tmp_path)
    content = load_campaigns(folder)
    campaign = content.default
    march = campaign.actions[0]
    start = starts_at(march, ZONE)
    assert start == dt.datetime(2027, 3, 9, 14, tzinfo=dt.UTC)  # London is on UTC in March
    async with serving(storage, folder) as bot:
        key = action_key("rafah", march)
        await storage.pledge(ANA, "rafah", key)
        await storage.pledge(BEN, "rafah", key)
        lead = dt.timedelta(days=1)

        def reminders() -> Reminders:  # a new one is what a restart makes
            return Reminders(
                bot.application.bot,
                storage,
                lambda: content,
                lead=lead,
                zone=ZONE,
                pacer=bot.application.bot_data["services"].pacer,
            )

        # The clock is moved, never slept on.
        assert start is not None
        assert await reminders().run_once(start - lead - dt.timedelta(minutes=1)) == 0
        assert await reminders().run_once(start - lead + dt.timedelta(minutes=1)) == 2
        reminder = bot.texts(ANA)[-1]
        assert reminder.startswith("⏰ Reminder: you said you are in.")
        assert "March to the embassy" in reminder
        assert await reminders().run_once(start - dt.timedelta(hours=2)) == 0  # never twice
        await storage.pledge(3003, "rafah", key)  # a late pledge still gets its reminder
        assert await reminders().run_once(start - dt.timedelta(hours=1)) == 1
        await storage.pledge(3004, "rafah", key)
        assert await reminders().run_once(start + dt.timedelta(minutes=1)) == 0  # too late
        assert [len(bot.texts(p)) for p in (ANA, BEN, 3003, 3004)] == [1, 1, 1, 0]


def test_the_lead_time_is_a_setting() -> None:
    assert load_config({}, None).pledge_reminder == dt.timedelta(days=1)
    assert load_config({"PLEDGE_REMINDER": "2h30m"}, None).pledge_reminder == dt.timedelta(
        hours=2, minutes=30
    )
    for bad in ("soon", "1m", "30d"):
        with pytest.raises(ConfigError, match="PLEDGE_REMINDER"):
            load_config({"PLEDGE_REMINDER": bad}, None)


async def test_a_reminder_answered_429_waits_and_still_arrives(
    storage: Storage, tmp_path: Path
) -> None:
    """Telegram's "too many requests" pauses every send, and the reminder goes out after it."""
    folder = with_march(tmp_path)
    content = load_campaigns(folder)
    march = content.default.actions[0]
    start = starts_at(march, ZONE)
    assert start is not None
    async with serving(storage, folder) as bot:
        await storage.pledge(ANA, "rafah", content.default.action_key(march))
        bot.api.fail_next(429, "Too Many Requests: retry after 1", {"retry_after": 1}, chat_id=ANA)
        reminders = Reminders(
            bot.application.bot,
            storage,
            lambda: content,
            lead=dt.timedelta(days=1),
            zone=ZONE,
            pacer=bot.application.bot_data["services"].pacer,
        )
        assert await reminders.run_once(start - dt.timedelta(hours=1)) == 1
        [reminder] = bot.texts(ANA)
        assert "March to the embassy" in reminder
        tries = [c for c in bot.api.calls_to("sendMessage") if c.params["chat_id"] == ANA]
        assert [c.error for c in tries] == [429, None]  # refused once, then sent
