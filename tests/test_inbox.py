"""The inbox (issue 20): updates kept until answered, in the order a crowd needs.

Real SQLite and PostgreSQL; the order is organizers first, then each chat's first waiting
update before anyone's second, a chat's own updates one at a time, in order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.delivery.pacing import Kind, Pacer, answer_kind, answering
from bot.preview.updates import callback_update, message_update, with_id
from bot.storage import Storage
from bot.storage.inbox import Arrival, without_names
from bot.storage.models import InboxLane
from bot.storage.sealing import Sealer

from .conftest import ADMIN, open_storage

LEASE = dt.timedelta(seconds=30)
PERSON_A, PERSON_B, PERSON_C = 7001, 7002, 7003


def arrival(update_id: int, text: str, user: int) -> Arrival:
    """Return a private message from `user` as the intake makes it."""
    data = with_id(message_update(text, user_id=user), update_id)
    return Arrival(data, user, user)


async def claim_all(storage: Storage, claimer: str = "me") -> list[tuple[int, InboxLane]]:
    """Claim what may be claimed now; return (update_id, lane) in the order given."""
    return [(w.update_id, w.lane) for w in await storage.claim_updates(claimer, 100, LEASE)]


async def test_an_organizer_goes_first_then_first_answers_then_the_rest(
    storage: Storage,
) -> None:
    """Two people's two updates each, then an organizer's: the organizer's is claimed first,
    then each person's first; their seconds only once their firsts are answered."""
    crowd = [
        arrival(1, "/start", PERSON_A),
        arrival(2, "/subscribe", PERSON_A),
        arrival(3, "/start", PERSON_B),
        arrival(4, "/subscribe", PERSON_B),
    ]
    assert await storage.take_updates(crowd, {ADMIN}) == 4
    assert await storage.take_updates([arrival(5, "/broadcasts", ADMIN)], {ADMIN}) == 1
    assert await storage.take_updates([arrival(6, "/start", PERSON_C)], {ADMIN}) == 1

    first = await claim_all(storage)
    assert first == [
        (5, InboxLane.ORGANIZER),
        (1, InboxLane.FIRST),
        (3, InboxLane.FIRST),
        (6, InboxLane.FIRST),
    ]
    assert await claim_all(storage) == []  # the seconds wait for their chats' firsts
    await storage.finish_updates([1])
    assert await claim_all(storage) == [(2, InboxLane.LATER)]
    await storage.finish_updates([2, 3, 5, 6])
    assert await claim_all(storage) == [(4, InboxLane.LATER)]
    await storage.finish_updates([4])
    assert (await storage.inbox_backlog()).total == 0


async def test_a_chats_update_taken_in_the_first_lane_by_a_race_goes_later_once_answered(
    storage: Storage,
) -> None:
    """Two webhook requests of one person, taken at the same moment, may both land in the
    first lane; once the first is answered, the other waits behind everyone's first."""
    await storage.take_updates([arrival(50, "/start", PERSON_A)], set())
    await storage.take_updates([arrival(51, "/subscribe", PERSON_A)], set())
    async with storage.engine.begin() as connection:  # what the race leaves behind
        await connection.execute(text("UPDATE inbox SET lane = 1 WHERE update_id = 51"))
    assert await claim_all(storage) == [(50, InboxLane.FIRST)]
    await storage.take_updates([arrival(52, "/start", PERSON_B)], set())
    await storage.finish_updates([50])
    assert await claim_all(storage) == [(52, InboxLane.FIRST), (51, InboxLane.LATER)]


async def test_a_persons_earlier_update_arriving_late_takes_the_first_lane(
    storage: Storage,
) -> None:
    """Two webhook posts can overtake each other: the /start that arrives after its
    /subscribe is still the person's first, and the /subscribe goes later."""
    await storage.take_updates([arrival(61, "/subscribe", PERSON_A)], set())
    await storage.take_updates([arrival(62, "/start", PERSON_B)], set())
    await storage.take_updates([arrival(60, "/start", PERSON_A)], set())
    await storage.take_updates([arrival(63, "/subscribe", PERSON_B)], set())
    assert await claim_all(storage) == [(60, InboxLane.FIRST), (62, InboxLane.FIRST)]
    await storage.finish_updates([60, 62])
    assert await claim_all(storage) == [(61, InboxLane.LATER), (63, InboxLane.LATER)]


async def test_with_hands_full_only_organizers_are_claimed(storage: Storage) -> None:
    """A dispatcher with its hands full still takes an organizer's update, and only that."""
    await storage.take_updates([arrival(70, "/start", PERSON_A)], {ADMIN})
    await storage.take_updates([arrival(71, "/broadcasts", ADMIN)], {ADMIN})
    organizers = await storage.claim_updates("me", 8, LEASE, organizers_only=True)
    assert [(w.update_id, w.lane) for w in organizers] == [(71, InboxLane.ORGANIZER)]
    assert await claim_all(storage) == [(70, InboxLane.FIRST)]


async def test_an_update_delivered_again_is_not_taken_again(storage: Storage) -> None:
    """Telegram may post an update twice (a lost 200, a polling restart): kept once, and not
    answered again after it was answered."""
    assert await storage.take_updates([arrival(10, "/start", PERSON_A)], set()) == 1
    assert await storage.take_updates([arrival(10, "/start", PERSON_A)], set()) == 0
    [(update_id, _)] = await claim_all(storage)
    await storage.finish_updates([update_id])
    assert await storage.take_updates([arrival(10, "/start", PERSON_A)], set()) == 0
    assert await claim_all(storage) == []
    # A day later the id is forgotten (Telegram keeps an update 24 hours at most).
    assert await storage.forget_answered(dt.datetime.now(dt.UTC) + dt.timedelta(hours=26)) == 1


async def test_a_dead_claimers_updates_are_taken_again(storage: Storage) -> None:
    """A claim not renewed within the lease is taken by another claimer; released claims at
    once; a renewed one is kept."""
    await storage.take_updates([arrival(20, "/start", PERSON_A)], set())
    await storage.take_updates([arrival(21, "/start", PERSON_B)], set())
    assert len(await claim_all(storage, "dead")) == 2
    assert await claim_all(storage, "alive") == []
    async with storage.engine.begin() as connection:
        await connection.execute(
            text("UPDATE inbox SET claimed_at = :old WHERE update_id = 20"),
            {"old": dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)},
        )
    assert await claim_all(storage, "alive") == [(20, InboxLane.FIRST)]
    assert await storage.release_claims("dead") == 1
    assert await claim_all(storage, "alive") == [(21, InboxLane.FIRST)]


async def test_names_are_left_out_but_an_organizers(storage: Storage) -> None:
    """A person's name is not kept while their update waits; an organizer's is (approvals
    name the organizer who approved)."""
    person = with_id(callback_update("menu:0123456789", user_id=PERSON_A), 30)
    organizer = with_id(message_update("/stats", user_id=ADMIN), 31)
    await storage.take_updates(
        [Arrival(person, PERSON_A, PERSON_A), Arrival(organizer, ADMIN, ADMIN)], {ADMIN}
    )
    waiting = {w.update_id: w.data for w in await storage.claim_updates("me", 10, LEASE)}
    stored = json.dumps(waiting[30])
    assert person["callback_query"]["from"]["first_name"] not in stored
    assert waiting[30]["callback_query"]["from"]["first_name"] == ""
    name = organizer["message"]["from"]["first_name"]
    assert waiting[31]["message"]["from"]["first_name"] == name


def test_without_names_keeps_a_groups_handle() -> None:
    """A public group's @handle is not a person's name: kept."""
    data: dict[str, Any] = {
        "chat": {"id": -100, "type": "supergroup", "title": "Rally", "username": "rally"},
        "from": {"id": 1, "first_name": "Ana", "last_name": "B", "username": "ana"},
    }
    kept = without_names(data)
    assert kept["chat"]["username"] == "rally"
    assert kept["from"] == {"id": 1, "first_name": ""}


async def test_a_waiting_update_is_sealed_under_the_key(tmp_path: Path) -> None:
    """With a key, the waiting update's content is encrypted: no id or text in the clear."""
    key = bytes(range(64))
    storage = await open_storage("sqlite", tmp_path, key=key)
    try:
        update = with_id(message_update("/start secret-payload-xyz", user_id=PERSON_A), 40)
        await storage.take_updates([Arrival(update, PERSON_A, PERSON_A)], set())
        async with storage.engine.connect() as connection:
            raw = (await connection.execute(text("SELECT payload, chat FROM inbox"))).one()
        assert b"secret-payload-xyz" not in raw.payload
        assert str(PERSON_A).encode() not in raw.payload
        assert raw.chat == Sealer(key).seal(PERSON_A)
        [waiting] = await storage.claim_updates("me", 10, LEASE)
        assert waiting.data["message"]["text"] == "/start secret-payload-xyz"
    finally:
        await storage.close()


async def test_the_free_lane_goes_to_organizers_then_first_answers_then_broadcasts() -> None:
    """Slots are given in kind order whenever they come, not in the order callers asked."""
    pacer = Pacer(rate=50.0, chat_interval=0.0, catch_up=0.0)
    order: list[str] = []

    async def take(kind: Kind, name: str) -> None:
        if kind == Kind.BROADCAST:
            await pacer.broadcast_slot()
        else:
            await pacer.answer_slot(None, kind=kind)
        order.append(name)

    # Hold the lane busy first, so that everyone below queues.
    await pacer.answer_slot(None)
    tasks = [asyncio.create_task(take(Kind.BROADCAST, "broadcast"))]
    tasks += [asyncio.create_task(take(Kind.LATER, f"later{n}")) for n in range(3)]
    tasks += [asyncio.create_task(take(Kind.FIRST, f"first{n}")) for n in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take(Kind.ORGANIZER, "organizer")))
    await asyncio.gather(*tasks)
    await pacer.close()
    assert order[0] == "organizer"
    assert order[1:4] == ["first0", "first1", "first2"]
    assert order[4:7] == ["later0", "later1", "later2"]
    assert order[7] == "broadcast"


async def test_an_updates_first_send_is_first_and_the_rest_later() -> None:
    """Within one update's answers, the first send is FIRST, the next ones LATER; an
    organizer's all stay ORGANIZER; outside any update, FIRST."""
    with answering(Kind.FIRST):
        assert [answer_kind() for _ in range(3)] == [Kind.FIRST, Kind.LATER, Kind.LATER]
    with answering(Kind.ORGANIZER):
        assert [answer_kind() for _ in range(2)] == [Kind.ORGANIZER, Kind.ORGANIZER]
    assert answer_kind() == Kind.FIRST


async def test_an_answer_waiting_too_long_takes_the_paid_lane_within_the_budget() -> None:
    """With paid answers on, an answer that waited past the threshold goes paid while the
    budget allows; the others wait their free turn."""
    pacer = Pacer(rate=5.0, chat_interval=0.0)
    budget = [2]

    async def spend() -> bool:
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        return True

    pacer.paid_after, pacer.paid_budget = 0.3, spend
    results = await asyncio.gather(*(pacer.answer_slot(None, may_pay=True) for _ in range(8)))
    await pacer.close()
    assert sum(results) == 2  # two went paid, as the budget allowed
    assert budget == [0]
