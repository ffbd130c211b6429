"""Two organizers for big sends: over APPROVAL_THRESHOLD, Send asks the other organizers, and
one of them, never the author, approves it once, within a day, while still an organizer."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot import texts
from bot.organizing.asking import APPROVAL_TTL
from bot.preview.updates import media_update, message_update
from bot.storage import Storage
from tests.fake_telegram import FakeTelegram

from .conftest import ADMIN, ANA, BEN, Harness, serving, until
from .test_corrections import ask_edit

SECOND = 43  # another organizer
PEOPLE = [ANA, BEN, 2001]


@pytest.fixture
async def bot(storage: Storage, telegram: FakeTelegram) -> AsyncIterator[Harness]:
    for person in PEOPLE:
        await storage.subscribe(person, "rafah", chat_type="private")
    admins = frozenset({ADMIN, SECOND})
    async with serving(storage, telegram=telegram, admins=admins, approval_threshold=2) as harness:
        yield harness


async def press_send(bot: Harness, command: str = "/broadcast rafah Strike on Monday") -> int:
    """Write a broadcast and press Send; return the author's status message id."""
    await bot.command(command, user=ADMIN)
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
    return confirm_id


async def test_a_big_broadcast_waits_for_another_organizer_who_approves_it_once(
    bot: Harness,
) -> None:
    status_id = await press_send(bot)
    status = bot.api.messages[(ADMIN, status_id)]["text"]
    assert status.startswith("⏳ Broadcast #1 to <b>rafah</b> would reach 3 recipients")
    assert bot.buttons(ADMIN) == {texts.BUTTON_CANCEL: "bc:cancel:1"}
    *preview, ask = bot.texts(SECOND)
    assert preview == ["Strike on Monday"]  # what subscribers would get, above the question
    assert ask.startswith(f"🔐 Person{ADMIN} ({ADMIN}) asks to send broadcast #1 to <b>3</b>")
    ask_id = int(bot.last(SECOND)["message_id"])
    assert bot.buttons(SECOND) == {
        texts.BUTTON_APPROVE: "ap:yes:1",
        texts.BUTTON_REJECT: "ap:no:1",
    }
    await bot.settle()
    assert all(bot.texts(p) == [] for p in PEOPLE)  # nothing goes before the approval

    await bot.press("ap:yes:1", user=ADMIN, message_id=ask_id)  # the author, forging it
    assert bot.answers()[-1].params["text"] == texts.APPROVAL_OWN
    await bot.press("ap:yes:1", user=ANA, message_id=ask_id)  # not an organizer
    assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
    await bot.settle()
    assert all(bot.texts(p) == [] for p in PEOPLE)

    await bot.press("ap:yes:1", user=SECOND, message_id=ask_id)
    assert bot.api.messages[(SECOND, ask_id)]["text"] == texts.APPROVED_BY_YOU.format(
        id=1, total=3
    )
    report = await bot.report(ADMIN, status_id)  # the author's message carries on
    assert "Recipients: 3\nsent 3" in report
    assert all(bot.texts(p) == ["Strike on Monday"] for p in PEOPLE)
    await bot.press("ap:yes:1", user=SECOND, message_id=ask_id)  # a second press does nothing
    assert bot.answers()[-1].params["text"] == texts.BROADCAST_ALREADY
    await bot.settle()
    assert all(len(bot.texts(p)) == 1 for p in PEOPLE)
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert "broadcast_approval_asked" in actions
    assert "broadcast_approve" in actions


async def test_who_approved_is_shown_to_the_author(bot: Harness) -> None:
    status_id = await press_send(bot)
    edits_before = len(bot.api.calls_to("editMessageText"))
    await bot.press("ap:yes:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    await bot.report(ADMIN, status_id)
    shown = [
        call.params["text"]
        for call in bot.api.calls_to("editMessageText")[edits_before:]
        if call.params["chat_id"] == ADMIN
    ]
    notice = texts.APPROVED_NOTICE.format(id=1, who=f"Person{SECOND} ({SECOND})", total=3)
    assert shown[0] == notice  # then the progress, in the same message


async def test_a_rejected_broadcast_is_never_sent(bot: Harness) -> None:
    status_id = await press_send(bot)
    await bot.press("ap:no:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    assert bot.api.messages[(ADMIN, status_id)]["text"] == texts.REJECTED_NOTICE.format(
        id=1, who=f"Person{SECOND} ({SECOND})"
    )
    await bot.press("ap:yes:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    assert bot.answers()[-1].params["text"] == texts.BROADCAST_ALREADY
    await bot.settle()
    assert all(bot.texts(p) == [] for p in PEOPLE)
    assert "broadcast_reject" in [entry[1] for entry in await bot.storage.audit_log()]


async def test_an_old_request_cannot_be_approved_and_the_author_can_withdraw_it(
    bot: Harness,
) -> None:
    status_id = await press_send(bot)
    now = bot.storage.clock()
    bot.storage.clock = lambda: now + APPROVAL_TTL + dt.timedelta(minutes=1)
    await bot.press("ap:yes:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    assert bot.answers()[-1].params["text"] == texts.APPROVAL_EXPIRED.format(hours=24)
    await bot.command("/broadcasts", user=ADMIN)
    assert f"⏳ #1 <b>rafah</b>: {texts.BROADCAST_AWAITING}" in bot.texts(ADMIN)[-1]
    await bot.press("bc:cancel:1", user=ADMIN, message_id=status_id)
    assert bot.api.messages[(ADMIN, status_id)]["text"] == texts.BROADCAST_CANCELLED
    await bot.settle()
    assert all(bot.texts(p) == [] for p in PEOPLE)


async def test_an_organizer_removed_since_cannot_approve(
    storage: Storage, telegram: FakeTelegram
) -> None:
    for person in PEOPLE:
        await storage.subscribe(person, "rafah", chat_type="private")
    both = frozenset({ADMIN, SECOND})
    async with serving(storage, telegram=telegram, admins=both, approval_threshold=2) as bot:
        await press_send(bot)
        ask_id = int(bot.last(SECOND)["message_id"])
    alone = frozenset({ADMIN})
    async with serving(storage, telegram=telegram, admins=alone, approval_threshold=2) as bot:
        await bot.press("ap:yes:1", user=SECOND, message_id=ask_id)
        assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
        await bot.settle()
        assert all(bot.texts(p) == [] for p in PEOPLE)
        # Alone, an organizer cannot send above the threshold at all: it says why.
        await press_send(bot, "/broadcast rafah Another")
        assert bot.texts(ADMIN)[-1] == texts.APPROVAL_NOBODY.format(count=3, threshold=2)


async def test_small_broadcasts_and_scheduled_big_ones(bot: Harness) -> None:
    await bot.command("/broadcast rafah lang:ar Only two", user=ADMIN)  # nobody reads Arabic
    assert texts.BROADCAST_NO_RECIPIENTS.split("{")[0] in bot.texts(ADMIN)[-1]
    await bot.storage.unsubscribe(2001, "rafah")
    await press_send(bot, "/broadcast rafah Two of us")  # 2: not above the threshold
    await bot.settle()
    assert bot.texts(ANA) == ["Two of us"]
    await bot.storage.subscribe(2001, "rafah", chat_type="private")
    photo = media_update("photo", "poster", user_id=ADMIN, caption="Saturday")
    await bot.feed(photo)
    await bot.feed(
        message_update("/broadcast rafah in 2h", user_id=ADMIN, reply_to=photo["message"])
    )
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SCHEDULE], user=ADMIN, message_id=confirm_id)
    await bot.press("ap:yes:2", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    progress = await bot.storage.progress(2)
    assert progress is not None
    assert progress.state == "scheduled"
    assert bot.buttons(ADMIN) == {texts.BUTTON_STOP: "bc:stop:2"}


async def test_mydata_shows_an_approval_and_forget_erases_it(bot: Harness) -> None:
    await press_send(bot)
    await bot.press("ap:yes:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    await bot.settle()
    await bot.command("/mydata", user=SECOND)
    assert "• 1 broadcasts you approved (another organizer's)" in bot.texts(SECOND)[-1]
    await bot.storage.forget(SECOND)
    about = await bot.storage.stored_about(SECOND)
    assert about.broadcasts_approved == 0


async def sent_and_approved(bot: Harness) -> None:
    """Send broadcast #1 to everyone, approved by the second organizer."""
    status_id = await press_send(bot)
    await bot.press("ap:yes:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    await bot.report(ADMIN, status_id)


async def test_an_edit_of_a_big_broadcast_waits_for_another_organizer(bot: Harness) -> None:
    await sent_and_approved(bot)
    await ask_edit(bot, 1, "Strike on Tuesday")
    preview_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:apply:2", user=ADMIN, message_id=preview_id)
    waiting = bot.api.messages[(ADMIN, preview_id)]["text"]
    assert waiting == texts.CORRECTION_WAITING.format(id=1, count=3, hours=24)
    assert bot.texts(SECOND)[-2:] == [
        "Strike on Tuesday",  # the copies as they would read
        texts.CORRECTION_ASK_EDIT.format(who=f"Person{ADMIN} ({ADMIN})", id=1, count=3),
    ]
    ask_id = int(bot.last(SECOND)["message_id"])
    await bot.settle()
    assert all(bot.texts(p) == ["Strike on Monday"] for p in PEOPLE)  # not yet
    await bot.press("ax:yes:2", user=ADMIN, message_id=ask_id)  # the author, forging it
    assert bot.answers()[-1].params["text"] == texts.APPROVAL_OWN
    await bot.press("ax:yes:2", user=SECOND, message_id=ask_id)
    approved = texts.CORRECTION_APPROVED.format(who=f"Person{SECOND} ({SECOND})", id=1)
    assert bot.api.messages[(SECOND, ask_id)]["text"] == approved
    await until(
        lambda: all(bot.texts(p) == ["Strike on Tuesday"] for p in PEOPLE), "every copy edited"
    )
    await bot.press("ax:yes:2", user=SECOND, message_id=ask_id)  # works once
    assert bot.answers()[-1].params["text"] == texts.CORRECTION_ALREADY
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert actions.count("correction_approve") == 1
    assert actions.count("broadcast_edit") == 1


async def test_a_retraction_of_a_big_broadcast_can_be_rejected(bot: Harness) -> None:
    await sent_and_approved(bot)
    await bot.press("fx:del:1", user=ADMIN)
    ask_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:yes:1", user=ADMIN, message_id=ask_id)
    assert bot.texts(SECOND)[-1] == texts.CORRECTION_ASK_DELETE.format(
        who=f"Person{ADMIN} ({ADMIN})", id=1, count=3
    )
    await bot.press("ax:no:1", user=SECOND, message_id=int(bot.last(SECOND)["message_id"]))
    rejected = texts.CORRECTION_REJECTED.format(who=f"Person{SECOND} ({SECOND})", id=1)
    assert bot.api.messages[(ADMIN, ask_id)]["text"] == rejected
    await bot.settle()
    assert all(bot.texts(p) == ["Strike on Monday"] for p in PEOPLE)  # nothing deleted
    assert [c for c in bot.api.calls_to("deleteMessages") if c.error is None] == []


THIRD = 44  # a third organizer, who is asked too


@pytest.fixture
async def three(storage: Storage, telegram: FakeTelegram) -> AsyncIterator[Harness]:
    for person in PEOPLE:
        await storage.subscribe(person, "rafah", chat_type="private")
    admins = frozenset({ADMIN, SECOND, THIRD})
    async with serving(storage, telegram=telegram, admins=admins, approval_threshold=2) as harness:
        yield harness


def asked(bot: Harness, organizer: int, message_id: int) -> tuple[str, object]:
    """Return an approval request's message as it reads now, and its buttons (None: gone)."""
    message = bot.api.messages[(organizer, message_id)]
    return message["text"], message.get("reply_markup")


async def test_every_organizer_asked_sees_what_became_of_a_request(three: Harness) -> None:
    """Once one organizer decides, or the author withdraws, every message that asked says so,
    its Approve / Reject buttons gone: a colleague is not left pressing a dead button."""
    bot = three
    await press_send(bot)
    ask_ids = {who: int(bot.last(who)["message_id"]) for who in (SECOND, THIRD)}
    assert bot.buttons(THIRD) == {texts.BUTTON_APPROVE: "ap:yes:1", texts.BUTTON_REJECT: "ap:no:1"}
    await bot.press("ap:yes:1", user=SECOND, message_id=ask_ids[SECOND])
    approved = texts.APPROVED_NOTICE.format(id=1, who=f"Person{SECOND} ({SECOND})", total=3)
    assert asked(bot, THIRD, ask_ids[THIRD]) == (approved, None)
    said = texts.APPROVED_BY_YOU.format(id=1, total=3)
    assert asked(bot, SECOND, ask_ids[SECOND]) == (said, None)  # the one who pressed

    status_id = await press_send(bot, "/broadcast rafah Strike again")  # broadcast #2
    ask_ids = {who: int(bot.last(who)["message_id"]) for who in (SECOND, THIRD)}
    await bot.press("bc:cancel:2", user=ADMIN, message_id=status_id)
    withdrawn = texts.APPROVAL_WITHDRAWN.format(id=2, who=f"Person{ADMIN} ({ADMIN})")
    for who in (SECOND, THIRD):
        assert asked(bot, who, ask_ids[who]) == (withdrawn, None)
    assert await bot.storage.take_asks("broadcast", 2) == []  # none kept once settled

    await bot.settle()
    await bot.press("fx:del:1", user=ADMIN)  # a retraction of #1, held: rejected by THIRD
    confirm_id = int(bot.last(ADMIN)["message_id"])
    await bot.press("fx:yes:1", user=ADMIN, message_id=confirm_id)
    ask_ids = {who: int(bot.last(who)["message_id"]) for who in (SECOND, THIRD)}
    await bot.press("ax:no:1", user=THIRD, message_id=ask_ids[THIRD])
    rejected = texts.CORRECTION_REJECTED.format(who=f"Person{THIRD} ({THIRD})", id=1)
    assert asked(bot, SECOND, ask_ids[SECOND]) == (rejected, None)


async def test_an_organizer_who_erases_their_data_leaves_no_request_behind(
    three: Harness,
) -> None:
    """The messages that asked an organizer are stored under their id: /forget erases them."""
    bot = three
    await press_send(bot)
    assert await bot.storage.forget(THIRD) >= 1
    found = await bot.storage.take_asks("broadcast", 1)
    assert [who for who, _message in found] == [SECOND]
