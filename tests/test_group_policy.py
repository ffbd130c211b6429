"""GROUP_POLICY: who may add the bot to groups and channels."""

from __future__ import annotations

import pytest

from bot import texts
from bot.config import ConfigError, load_config
from bot.preview.telegram_objects import GROUP_ANONYMOUS_BOT
from bot.preview.updates import my_chat_member_update
from bot.storage import Storage

from .conftest import ADMIN, BEN, GROUP, Harness, serving

CHANNEL = -100777


def added(chat_id: int, by: int, chat_type: str = "supergroup", status: str = "member") -> dict:
    return my_chat_member_update(
        chat_id=chat_id, chat_type=chat_type, user_id=by, old_status="left", new_status=status
    )


def left_chats(bot: Harness) -> list[int]:
    return [int(call.params["chat_id"]) for call in bot.api.calls_to("leaveChat")]


async def test_only_organizers_may_add_the_bot_under_the_strict_policy(storage: Storage) -> None:
    async with serving(storage, group_policy="organizers") as bot:
        await bot.feed(added(GROUP, by=ADMIN))
        assert left_chats(bot) == []

        await storage.subscribe(-200, "rafah", chat_type="supergroup")
        await bot.feed(added(-200, by=BEN))
        await bot.feed(added(-300, by=GROUP_ANONYMOUS_BOT))  # an anonymous admin: anyone
        await bot.feed(added(CHANNEL, by=BEN, chat_type="channel", status="administrator"))
        assert left_chats(bot) == [-200, -300, CHANNEL]
        assert bot.texts(-200) == [texts.GROUP_NOT_ALLOWED]
        assert not await storage.is_subscribed(-200, "rafah")
        # Promoted from member to admin in a group it is allowed in: nothing happens.
        await bot.feed(
            my_chat_member_update(
                chat_id=GROUP,
                chat_type="supergroup",
                user_id=BEN,
                old_status="member",
                new_status="administrator",
            )
        )
        assert left_chats(bot) == [-200, -300, CHANNEL]


async def test_anyone_may_add_the_bot_by_default(storage: Storage) -> None:
    async with serving(storage) as bot:
        await bot.feed(added(GROUP, by=BEN))
        await bot.feed(added(CHANNEL, by=BEN, chat_type="channel", status="administrator"))
        assert left_chats(bot) == []


def test_the_policy_setting_is_checked() -> None:
    assert load_config({}, None).group_policy == "anyone"
    assert load_config({"GROUP_POLICY": "Organizers"}, None).group_policy == "organizers"
    with pytest.raises(ConfigError, match="GROUP_POLICY: 'admins' is not anyone"):
        load_config({"GROUP_POLICY": "admins"}, None)
