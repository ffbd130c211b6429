"""Per-topic preferences: /topics switches; a broadcast for a topic reaches its followers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import texts
from bot.campaign.content import ContentError, load_campaigns
from bot.handlers.preferences import toggled
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, Harness, campaign_folder, serving

CARLA = 3003
GROUP = -1004321
CAMPAIGN = """\
id: demo
title: Stop the war
organization: Demo Collective
topics:
  - id: statements
    title: New statements
  - id: london
    title: {en: Actions in London, es: Acciones en Londres}
statements:
  - title: We stand together
    date: 2026-11-01
    author: Jane Doe
    body: First paragraph.
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return campaign_folder(tmp_path, CAMPAIGN)


def switches(bot: Harness, chat: int) -> dict[str, str]:
    return {label: data for label, data in bot.buttons(chat).items() if data.startswith("tp:")}


def test_pressing_switches_one_topic_and_all_is_stored_as_all(folder: Path) -> None:
    """Off from all leaves the others; back on is all again (so new topics reach them)."""
    campaign = load_campaigns(folder).default
    assert toggled(campaign, None, "london") == frozenset({"statements"})
    assert toggled(campaign, frozenset({"statements"}), "london") is None
    assert toggled(campaign, frozenset({"statements"}), "statements") == frozenset()
    assert toggled(campaign, frozenset(), "*") is None
    # A topic removed from the file since is dropped at the next press.
    assert toggled(campaign, frozenset({"gone", "london"}), "london") == frozenset()


def test_topic_ids_are_checked(folder: Path) -> None:
    """A topic id must fit in button data: lower-case letters, digits, - and _."""
    (folder / "demo.yaml").write_text(
        CAMPAIGN.replace("id: london", "id: London Actions"), encoding="utf-8"
    )
    with pytest.raises(ContentError, match=r"demo.yaml:7:9: topics.1.id: a topic id is 1-32"):
        load_campaigns(folder)


async def test_topics_are_chosen_by_switches(storage: Storage, folder: Path) -> None:
    """/topics shows a switch per topic; presses store the choice and redraw the switches."""
    async with serving(storage, folder) as bot:
        await bot.command("/topics", user=ANA)
        assert bot.texts(ANA)[-1] == texts.TOPICS_SUBSCRIBE_FIRST.format(title="Stop the war")
        await bot.command("/subscribe", user=ANA)
        await bot.command("/start", user=ANA)
        assert texts.BUTTON_TOPICS in bot.buttons(ANA)  # the menu offers them to subscribers
        await bot.command("/topics", user=ANA)
        shown = switches(bot, ANA)
        assert list(shown)[:2] == ["✅ New statements", "✅ Actions in London"]
        asked = int(bot.last(ANA)["message_id"])
        await bot.press(shown["✅ Actions in London"], user=ANA, message_id=asked)
        assert bot.answers()[-1].params["text"] == texts.TOPICS_SAVED
        assert "⬜ Actions in London" in switches(bot, ANA)
        assert (await storage.topics_of(ANA, "demo")) == (True, frozenset({"statements"}))
        await bot.command("/mydata", user=ANA)
        assert "topics statements," in bot.texts(ANA)[-1]
        await bot.press(shown[texts.BUTTON_ALL_TOPICS], user=ANA, message_id=asked)
        assert (await storage.topics_of(ANA, "demo")) == (True, None)
        await bot.press("tp:" + load_campaigns(folder).default.key + ":nope", user=ANA)
        assert bot.answers()[-1].params["text"] == texts.BUTTON_EXPIRED


async def test_a_campaign_without_topics_says_so(bot: Harness) -> None:
    """The shipped campaign sends everything to everyone: /topics explains."""
    await bot.command("/topics", user=ANA)
    assert bot.texts(ANA)[-1] == texts.NO_TOPICS.format(
        title=bot.application.bot_data["services"].content.default.title
    )


async def test_only_group_admins_switch_a_groups_topics(storage: Storage, folder: Path) -> None:
    """A member's press is refused; an admin's changes the group's topics."""
    key = load_campaigns(folder).default.key
    async with serving(storage, folder) as bot:
        await storage.subscribe(GROUP, "demo", chat_type="supergroup")
        await bot.press(f"tp:{key}:london", user=ANA, chat=GROUP)
        assert bot.answers()[-1].params["text"] == texts.GROUP_ADMINS_ONLY
        assert (await storage.topics_of(GROUP, "demo")) == (True, None)
        bot.api.member_status[(GROUP, BEN)] = "administrator"
        await bot.press(f"tp:{key}:london", user=BEN, chat=GROUP)
        assert (await storage.topics_of(GROUP, "demo")) == (True, frozenset({"statements"}))


async def test_a_broadcast_for_a_topic_reaches_only_its_followers(
    storage: Storage, folder: Path
) -> None:
    """topic:london goes to who follows it or all topics; an untargeted one to everyone."""
    async with serving(storage, folder) as bot:
        for person in (ANA, BEN, CARLA):
            await storage.subscribe(person, "demo", chat_type="private")
        await storage.set_topics(BEN, "demo", frozenset({"statements"}))
        await storage.set_topics(CARLA, "demo", frozenset({"london", "statements"}))
        await bot.command("/broadcast topic:berlin Rally", user=ADMIN)
        assert bot.texts(ADMIN)[-1] == texts.UNKNOWN_TOPIC.format(
            topic="berlin", campaign="demo", topics="statements, london"
        )
        await bot.command("/broadcast topic:london Rally at the embassy", user=ADMIN)
        confirm = bot.texts(ADMIN)[-1]
        assert "will receive (only those following “Actions in London”)." in confirm
        assert "Recipients now: <b>2</b>" in confirm
        confirm_id = int(bot.last(ADMIN)["message_id"])
        await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
        await bot.settle()
        assert bot.texts(ANA) == bot.texts(CARLA) == ["Rally at the embassy"]
        assert bot.texts(BEN) == []
        await bot.command("/announce topic:statements", user=ADMIN)
        assert "Recipients now: <b>3</b>" in bot.texts(ADMIN)[-1]
