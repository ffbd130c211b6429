"""The organizers' surface attacked: every organizer command and button, by five kinds of outsider.

The outsiders: a person in a private chat; a group's admin (in the group and in private); the
anonymous group admin (Telegram's shared id 1087968824, writing as the group); a person forging
an organizer's button data; and replays of real confirmations (pressed twice, or too late).
None of them may cause a single organizer action: no broadcast created, started, stopped or
cancelled, no list exported, no reload, nothing in the audit log in their name.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest

from bot import texts
from bot.handlers.flood import FloodGuard
from bot.handlers.presses import CONFIRMATION_TTL
from bot.preview.telegram_objects import GROUP_ANONYMOUS_BOT
from bot.preview.updates import callback_update, message_update
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, GROUP, Harness, serving

GROUP_ADMIN = 3003
COMMANDS = [
    "/broadcast hi",
    "/broadcast rafah in 1h later",
    "/announce",
    "/announce rafah at 23:59",
    "/broadcasts",
    "/stats",
    "/export",
    "/export rafah",
    "/link flyer",
    "/reload",
    "/dashboard",
]
BUTTON_ACTIONS = ["send", "cancel", "stop", "halt", "keep"]


async def _organizer_setup(bot: Harness) -> tuple[int, int, int]:
    """A draft awaiting Send, a scheduled broadcast; return (draft, scheduled, confirm msg)."""
    for chat in (ANA, BEN):
        await bot.storage.subscribe(chat, "rafah", chat_type="private")
    await bot.storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    bot.api.member_status[(GROUP, GROUP_ADMIN)] = "administrator"
    await bot.command("/broadcast rafah in 2h Scheduled by the organizer", user=ADMIN)
    scheduled_confirm = int(bot.last(ADMIN)["message_id"])
    await bot.press("bc:send:1", user=ADMIN, message_id=scheduled_confirm)
    await bot.command("/broadcast rafah A draft of the organizer", user=ADMIN)
    draft_confirm = int(bot.last(ADMIN)["message_id"])
    assert (await bot.storage.progress(1)).state == "scheduled"  # type: ignore[union-attr]
    assert (await bot.storage.progress(2)).state == "draft"  # type: ignore[union-attr]
    return 2, 1, draft_confirm


async def _state(bot: Harness) -> tuple[object, ...]:
    """What an organizer action would change."""
    broadcasts = [
        (p.broadcast_id, p.state, p.total) for p in await bot.storage.recent_broadcasts()
    ]
    audit = [(entry[0], entry[1]) for entry in await bot.storage.audit_log()]
    return (
        broadcasts,
        audit,
        len(bot.api.calls_to("sendDocument")) + len(bot.api.calls_to("sendPhoto")),
        bot.texts(BEN),  # a subscriber: gets nothing from any of this
    )


@pytest.fixture
async def bot(storage: Storage) -> AsyncIterator[Harness]:
    """The bot with a flood guard that lets every try through to the organizer checks."""
    async with serving(storage, flood_guard=FloodGuard(burst=10_000)) as harness:
        yield harness


async def test_no_outsider_causes_an_organizer_action(bot: Harness) -> None:
    draft, scheduled, confirm = await _organizer_setup(bot)
    before = await _state(bot)
    tries = 0

    # 1. A person in a private chat; 2. a group admin, in the group and in private;
    # 3. the anonymous group admin, writing as the group.
    for command in COMMANDS:
        await bot.command(command, user=ANA)
        await bot.command(command, user=GROUP_ADMIN, chat=GROUP, chat_type="supergroup")
        await bot.command(command, user=GROUP_ADMIN)
        await bot.feed(
            message_update(
                command, user_id=0, chat_id=GROUP, chat_type="supergroup", sender_chat_id=GROUP
            )
        )
        tries += 4

    # 4. Forged button data, for every organizer button, on every broadcast, from each kind.
    for action in BUTTON_ACTIONS:
        for broadcast_id in (draft, scheduled):
            data = f"bc:{action}:{broadcast_id}"
            await bot.press(data, user=ANA, message_id=confirm)
            await bot.press(data, user=ANA, chat=ADMIN, message_id=confirm)
            await bot.press(data, user=GROUP_ADMIN, chat=GROUP, message_id=confirm)
            await bot.press(data, user=GROUP_ANONYMOUS_BOT, chat=GROUP, message_id=confirm)
            tries += 4

    after = await _state(bot)
    assert after == before, "an outsider caused an organizer action"
    # Every try reached the organizer check and was refused there.
    refusals = [a.params.get("text") for a in bot.answers()]
    assert refusals.count(texts.NOT_ADMIN) == len(BUTTON_ACTIONS) * 2 * 4
    for chat, count in ((ANA, 1), (GROUP_ADMIN, 1), (GROUP, 2)):
        assert bot.texts(chat) == [texts.NOT_ADMIN] * len(COMMANDS) * count
    assert tries == len(COMMANDS) * 4 + len(BUTTON_ACTIONS) * 2 * 4
    print(f"{tries} tries by outsiders: 0 organizer actions")


async def test_a_confirmation_works_once(bot: Harness) -> None:
    """5. Replays: Send pressed again, Cancel after Send, Stop confirmed twice."""
    draft, scheduled, confirm = await _organizer_setup(bot)
    await bot.press(f"bc:send:{draft}", user=ADMIN, message_id=confirm)
    await bot.settle()
    sent_once = bot.texts(BEN)
    assert sent_once == ["A draft of the organizer"]
    for data in (f"bc:send:{draft}", f"bc:cancel:{draft}", f"bc:send:{draft}"):
        await bot.press(data, user=ADMIN, message_id=confirm)
    await bot.settle()
    assert bot.texts(BEN) == sent_once
    assert [a.params.get("text") for a in bot.answers()[-3:]] == [texts.BROADCAST_ALREADY] * 3

    await bot.press(f"bc:halt:{scheduled}", user=ADMIN, message_id=confirm)
    await bot.press(f"bc:halt:{scheduled}", user=ADMIN, message_id=confirm)
    assert bot.answers()[-1].params.get("text") == texts.BROADCAST_ALREADY
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert actions.count("broadcast_send") == 1
    assert actions.count("broadcast_stop") == 1


async def test_a_confirmation_expires(bot: Harness) -> None:
    """A Send or Stop confirmation older than the limit does nothing, even for an organizer."""
    draft, scheduled, confirm = await _organizer_setup(bot)
    asked = time.time() - CONFIRMATION_TTL.total_seconds() - 60
    for data in (f"bc:send:{draft}", f"bc:halt:{scheduled}"):
        await bot.feed(
            callback_update(data, user_id=ADMIN, message_id=confirm, message_date=int(asked))
        )
    minutes = int(CONFIRMATION_TTL / dt.timedelta(minutes=1))
    expired = texts.CONFIRMATION_EXPIRED.format(minutes=minutes)
    assert [a.params.get("text") for a in bot.answers()[-2:]] == [expired] * 2
    assert (await bot.storage.progress(draft)).state == "draft"  # type: ignore[union-attr]
    assert (await bot.storage.progress(scheduled)).state == "scheduled"  # type: ignore[union-attr]
    # Just inside the limit it still works.
    recent = time.time() - CONFIRMATION_TTL.total_seconds() + 60
    await bot.feed(
        callback_update(
            f"bc:send:{draft}", user_id=ADMIN, message_id=confirm, message_date=int(recent)
        )
    )
    await bot.settle()
    assert bot.texts(BEN) == ["A draft of the organizer"]
