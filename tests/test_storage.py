"""Storage on SQLite and PostgreSQL: subscriptions, the outbox, privacy, numbers."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import random

from sqlalchemy import func

from bot.organizing import exports
from bot.storage import MAX_ATTEMPTS, Audience, Outcome, Result, Storage, SubscriptionRecord
from bot.storage.audience import reader_language, select_recipients

from .conftest import cells_holding

ANA, BEN, GROUP = 1001, 1002, -100500


async def scan_for(storage: Storage, value: int) -> list[str]:
    """Return 'table.column' for every stored cell holding `value`, in every table."""
    return sorted(await cells_holding(storage, value))


async def test_subscribe_is_idempotent_and_unsubscribe_stops(storage: Storage) -> None:
    """Subscribing twice stores one row; unsubscribing stops it at once."""
    assert await storage.subscribe(ANA, "rafah", chat_type="private", source="rafah")
    assert not await storage.subscribe(ANA, "rafah", chat_type="private")
    assert await storage.is_subscribed(ANA, "rafah")
    assert await storage.count_recipients("rafah") == 1
    assert await storage.unsubscribe(ANA, "rafah")
    assert not await storage.unsubscribe(ANA, "rafah")
    assert not await storage.is_subscribed(ANA, "rafah")
    assert await storage.count_recipients("rafah") == 0


async def test_blocked_chats_are_skipped_until_they_return(storage: Storage) -> None:
    """A chat that blocked the bot gets nothing until it is unblocked."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    assert await storage.mark_blocked(ANA)
    assert await storage.count_recipients("rafah") == 0
    assert await storage.unblock(ANA)
    assert await storage.is_subscribed(ANA, "rafah")


async def test_unblock_does_not_resubscribe_people_who_left(storage: Storage) -> None:
    """Unblocking restores only what a block stopped, not an unsubscription."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    await storage.unsubscribe(ANA, "rafah")
    assert not await storage.unblock(ANA)
    assert not await storage.is_subscribed(ANA, "rafah")


async def test_group_migration_moves_the_subscription(storage: Storage) -> None:
    """A group upgraded to a supergroup keeps its subscription under the new id."""
    await storage.subscribe(-5, "rafah", chat_type="group")
    await storage.migrate_chat(-5, GROUP)
    assert await storage.is_subscribed(GROUP, "rafah")
    assert not await storage.is_subscribed(-5, "rafah")
    records = [r async for r in storage.subscriptions("rafah")]
    assert [(r.chat_id, r.chat_type) for r in records] == [(GROUP, "supergroup")]


async def test_forget_leaves_no_row_with_the_id(storage: Storage) -> None:
    """After forget, no cell in any table holds the person's id."""
    await storage.subscribe(ANA, "rafah", chat_type="private", language_code="en")
    await storage.subscribe(ANA, "other", chat_type="private")
    await storage.subscribe(BEN, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=ANA)
    await storage.start_broadcast(broadcast_id, ANA, 7)
    await storage.audit(ANA, "broadcast_send", "x")
    assert len(await scan_for(storage, ANA)) >= 5
    assert await storage.forget(ANA) > 0
    assert await scan_for(storage, ANA) == []
    assert await storage.is_subscribed(BEN, "rafah")


async def test_broadcast_starts_once_with_one_delivery_per_subscriber(storage: Storage) -> None:
    """Confirming twice queues the recipients once."""
    for chat in (ANA, BEN, GROUP):
        await storage.subscribe(chat, "rafah", chat_type="private" if chat > 0 else "supergroup")
    await storage.subscribe(BEN + 1, "other", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=ANA)
    assert await storage.start_broadcast(broadcast_id, ANA, 7) == 3
    assert await storage.start_broadcast(broadcast_id, ANA, 7) is None
    assert not await storage.cancel_draft(broadcast_id)
    jobs = await storage.claim_jobs(10)
    assert sorted(job.chat_id for job in jobs) == sorted([ANA, BEN, GROUP])
    assert await storage.claim_jobs(10) == []


async def test_cancelled_draft_cannot_be_sent(storage: Storage) -> None:
    """A cancelled broadcast can no longer be started."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=ANA)
    assert await storage.cancel_draft(broadcast_id)
    assert await storage.start_broadcast(broadcast_id, ANA, 7) is None


async def test_crash_leftovers_are_requeued_and_counted_uncertain(storage: Storage) -> None:
    """Deliveries being sent at a crash go back to the queue and are counted as uncertain."""
    for chat in (ANA, BEN):
        await storage.subscribe(chat, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=ANA)
    await storage.start_broadcast(broadcast_id, ANA, 7)
    first, second = await storage.claim_jobs(10)
    assert await storage.mark_sending([first.delivery_id, second.delivery_id]) == {
        first.delivery_id,
        second.delivery_id,
    }
    await storage.record_results([Result(first.delivery_id, Outcome.SENT)])
    assert await storage.requeue_in_flight() == 1
    again = await storage.claim_jobs(10)
    assert [job.delivery_id for job in again] == [second.delivery_id]
    assert again[0].attempts == 1  # counted when it was handed to Telegram
    assert await storage.mark_sending([second.delivery_id]) == {second.delivery_id}
    await storage.record_results([Result(second.delivery_id, Outcome.FAILED, "Bad Request")])
    assert await storage.finish_broadcasts() == [broadcast_id]
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.state, progress.total, progress.sent, progress.failed) == ("done", 2, 1, 1)
    assert progress.uncertain == 1


async def test_stats_count_people_groups_and_last_week(storage: Storage) -> None:
    """Stats split people from groups and count last week's sign-ups."""
    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    storage.clock = lambda: now - dt.timedelta(days=10)
    await storage.subscribe(ANA, "rafah", chat_type="private")
    storage.clock = lambda: now
    await storage.subscribe(BEN, "rafah", chat_type="private")
    await storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    await storage.subscribe(BEN + 1, "rafah", chat_type="private")
    await storage.unsubscribe(BEN + 1, "rafah")
    await storage.subscribe(BEN + 2, "rafah", chat_type="private")
    await storage.mark_blocked(BEN + 2)
    [row] = await storage.stats()
    assert (row.active_private, row.active_groups, row.new_last_7_days) == (2, 1, 2)
    assert (row.unsubscribed, row.blocked) == (1, 1)


async def test_csv_export_has_no_names_and_every_row(storage: Storage) -> None:
    """The CSV lists every subscription: ids, kinds, status, source and times, nothing more."""
    await storage.subscribe(ANA, "rafah", chat_type="private", language_code="ar", source="flyer")
    await storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    await storage.set_topics(ANA, "rafah", frozenset({"london", "statements"}))
    out = io.StringIO()
    assert await exports.write_csv(storage, out, "rafah") == 2
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "chat_id,chat_type,campaign,status,source,language_code,subscribed_at,updated_at,topics"
    )
    rows = {int(line.split(",")[0]): line for line in lines[1:]}  # sealed ids keep no order
    assert rows[GROUP].startswith(f"{GROUP},supergroup,rafah,active,,,")
    assert rows[GROUP].endswith(",")  # every topic
    assert rows[ANA].startswith(f"{ANA},private,rafah,active,flyer,ar,")
    assert rows[ANA].endswith(",london statements")
    assert all(len(line.split(",")) == 9 for line in lines)  # ids, kinds and times: no names


async def test_people_who_leave_are_dropped_from_queued_broadcasts(storage: Storage) -> None:
    """Unsubscribing, or erasing one's data, takes one out of broadcasts not yet sent."""
    for chat in (ANA, BEN, GROUP):
        await storage.subscribe(chat, "rafah", chat_type="private" if chat > 0 else "group")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=42)
    assert await storage.start_broadcast(broadcast_id, 42, 7) == 3
    await storage.unsubscribe(ANA, "rafah")
    await storage.forget(BEN)
    jobs = await storage.claim_jobs(10)
    assert [job.chat_id for job in jobs] == [GROUP]
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert progress.total == 1


async def test_a_claimed_recipient_who_leaves_is_not_sent_to(storage: Storage) -> None:
    """Someone who unsubscribes after their row was claimed is dropped before sending."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=42)
    await storage.start_broadcast(broadcast_id, 42, 7)
    [job] = await storage.claim_jobs(10)
    await storage.unsubscribe(ANA, "rafah")
    assert await storage.mark_sending([job.delivery_id]) == set()
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert progress.total == 0


async def test_a_late_result_never_lands_on_another_recipient(storage: Storage) -> None:
    """A result for a row erased meanwhile changes nothing, even where ids could be reused."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    first = await storage.create_broadcast("rafah", "broadcast", ["one"], created_by=42)
    await storage.start_broadcast(first, 42, 7)
    [stale] = await storage.claim_jobs(10)
    await storage.forget(ANA)  # deletes the claimed row while it is in flight
    await storage.subscribe(BEN, "rafah", chat_type="private")
    second = await storage.create_broadcast("rafah", "broadcast", ["two"], created_by=42)
    await storage.start_broadcast(second, 42, 7)
    await storage.record_results([Result(stale.delivery_id, Outcome.SENT)])
    [job] = await storage.claim_jobs(10)
    assert job.delivery_id != stale.delivery_id
    progress = await storage.progress(second)
    assert progress is not None
    assert (progress.total, progress.sent) == (1, 0)


async def test_subscriptions_are_added_in_bulk_and_read_back(storage: Storage) -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    records = [
        SubscriptionRecord(chat_id, "rafah", "private", "en", "active", "poster", when, when)
        for chat_id in range(1, 12)
    ]
    assert await storage.add_subscriptions(records, batch=5) == 11
    assert [r async for r in storage.subscriptions("rafah")] == records


async def test_simultaneous_sign_ups_of_one_chat_record_one(storage: Storage) -> None:
    """Ten sign-ups of one chat at once: one is new, none fails, one row."""
    results = await asyncio.gather(
        *(storage.subscribe(ANA, "rafah", chat_type="private") for _ in range(10))
    )
    assert sorted(results) == [False] * 9 + [True]
    assert await storage.count_subscriptions("rafah") == 1


async def test_start_lifts_a_block_and_says_whether_subscribed(storage: Storage) -> None:
    await storage.subscribe(ANA, "rafah", chat_type="private")
    assert await storage.started(ANA, "rafah", unblock=True)
    await storage.mark_blocked(ANA)
    assert not await storage.started(ANA, "rafah", unblock=False)  # a group's /start: no
    assert await storage.started(ANA, "rafah", unblock=True)
    assert await storage.is_subscribed(ANA, "rafah")
    assert not await storage.started(BEN, "rafah", unblock=True)
    assert not await storage.started(ANA, None, unblock=True)


async def test_claimed_but_unsent_recipients_are_not_uncertain(storage: Storage) -> None:
    """A crash before a claimed row was handed to Telegram: requeued, not counted, no attempt."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=42)
    await storage.start_broadcast(broadcast_id, 42, 7)
    [job] = await storage.claim_jobs(10)
    assert await storage.requeue_in_flight() == 0
    [again] = await storage.claim_jobs(10)
    assert (again.delivery_id, again.attempts) == (job.delivery_id, 0)
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert progress.uncertain == 0


async def test_a_recipient_in_flight_at_every_crash_is_given_up(storage: Storage) -> None:
    """Handed to Telegram at MAX_ATTEMPTS crashes in a row: failed, so crashes cannot loop."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=42)
    await storage.start_broadcast(broadcast_id, 42, 7)
    for _ in range(MAX_ATTEMPTS):
        [job] = await storage.claim_jobs(10)
        assert await storage.mark_sending([job.delivery_id]) == {job.delivery_id}
        await storage.requeue_in_flight()
    assert await storage.claim_jobs(10) == []
    progress = await storage.progress(broadcast_id)
    assert progress is not None
    assert (progress.failed, progress.uncertain) == (1, MAX_ATTEMPTS)


async def test_bulk_added_subscriptions_keep_their_topics(storage: Storage) -> None:
    """Copies and imports carry the topics a subscriber chose, as stored."""
    await storage.subscribe(ANA, "rafah", chat_type="private")
    await storage.set_topics(ANA, "rafah", frozenset({"london"}))
    [record] = [r async for r in storage.subscriptions()]
    await storage.forget(ANA)
    assert await storage.add_subscriptions([record]) == 1
    assert await storage.topics_of(ANA, "rafah") == (True, frozenset({"london"}))


async def test_the_overview_tallies_count_as_the_audience_queries_do(storage: Storage) -> None:
    """One pass per tally gives every topic's reach and every language's readers, equal to
    count_recipients and recipient_languages, and the counts equal stats and sources."""
    rng = random.Random(7)
    topic_choices = [
        None,
        frozenset(),
        frozenset({"a"}),
        frozenset({"b_c"}),
        frozenset({"a", "b_c"}),
    ]
    expected: dict[str, list[int]] = {}
    for number in range(80):
        chat_id = 5000 + number
        campaign_id = rng.choice(["rafah", "gaza"])
        group = number % 9 == 0
        await storage.subscribe(
            -chat_id if group else chat_id,
            campaign_id,
            chat_type="supergroup" if group else "private",
            language_code=None if group else rng.choice([None, "en", "AR", "pt-BR", "es"]),
            source=rng.choice([None, "rally", "flyer"]),
        )
        chat_id = -chat_id if group else chat_id
        await storage.set_topics(chat_id, campaign_id, rng.choice(topic_choices))
        if rng.random() < 0.3:
            await storage.set_language(chat_id, rng.choice(["ar", "es", "fr"]))
        ended = rng.random()
        if ended < 0.15:
            await storage.unsubscribe(chat_id, campaign_id)
        elif ended < 0.25:
            await storage.mark_blocked(chat_id)
        status = "unsubscribed" if ended < 0.15 else "blocked" if ended < 0.25 else "active"
        counts = expected.setdefault(campaign_id, [0, 0, 0, 0])
        counts[
            ["private", "group", "unsubscribed", "blocked"].index(
                status if status != "active" else "group" if group else "private"
            )
        ] += 1

    tallies = await storage.audience_tallies(["gaza", "rafah", "nowhere"])
    assert sorted(tallies) == ["gaza", "rafah"]
    for campaign_id, tally in tallies.items():
        for topic in (None, "a", "b_c", "nobody"):
            audience = Audience(topic)
            assert tally.reach(topic) == await storage.count_recipients(campaign_id, audience)
        assert tally.languages() == await storage.recipient_languages(campaign_id)
        # And as the recipients' own query reads them, one row at a time: chosen, else app.
        reader = func.lower(reader_language())
        query = select_recipients(campaign_id, Audience(), reader, func.count()).group_by(reader)
        async with storage._session() as session:
            by_reader = {code: count for code, count in await session.execute(query)}
        assert tally.languages() == by_reader
        assert tally.reach() == sum(by_reader.values())

    counted = await storage.tallies()
    assert {
        row.campaign_id: [row.active_private, row.active_groups, row.unsubscribed, row.blocked]
        for row in counted.stats
    } == expected
    for row in counted.stats:
        sources = [s for s in counted.sources if s[0] == row.campaign_id]
        assert sum(total for *_, total in sources) == sum(expected[row.campaign_id])
        assert sum(active for *_, active, _ in sources) == row.active_private + row.active_groups
        assert [total for *_, total in sources] == sorted((t for *_, t in sources), reverse=True)
