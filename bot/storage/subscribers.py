"""Subscriptions: who signed up for which campaign, and where each chat stands."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update

from bot.storage.engine import Database
from bot.storage.models import Delivery, Outcome, Preference, Status, Subscription


@dataclass(frozen=True)
class SubscriptionRecord:
    """One chat's standing with one campaign, as stored."""

    chat_id: int
    campaign_id: str
    chat_type: str
    language_code: str | None
    status: str
    source: str | None
    subscribed_at: dt.datetime
    updated_at: dt.datetime
    topics: frozenset[str] | None = None  # None: every topic


class Subscribers(Database):
    """Sign-ups, leaving, blocks, group moves, and subscription lists in bulk."""

    async def subscribe(
        self,
        chat_id: int,
        campaign_id: str,
        *,
        chat_type: str,
        language_code: str | None = None,
        source: str | None = None,
    ) -> bool:
        """Record a sign-up; return False when the chat was already subscribed.

        One statement, an upsert, so two sign-ups of one chat at once cannot collide.
        """
        now = self.clock()
        row = self._insert(Subscription).values(
            chat_id=chat_id,
            campaign_id=campaign_id,
            chat_type=chat_type,
            language_code=language_code,
            status=Status.ACTIVE,
            source=source,
            subscribed_at=now,
            updated_at=now,
        )
        statement = row.on_conflict_do_update(
            index_elements=["chat_id", "campaign_id"],
            set_={
                "status": Status.ACTIVE,
                "chat_type": row.excluded.chat_type,
                "language_code": row.excluded.language_code,
                "source": func.coalesce(row.excluded.source, Subscription.source),
                "subscribed_at": row.excluded.subscribed_at,
                "updated_at": row.excluded.updated_at,
            },
            where=Subscription.status != Status.ACTIVE,
        ).returning(Subscription.chat_id)
        # Straight on a connection: the sign-up path is the hottest, and a session adds to it.
        async with self.engine.begin() as connection:
            changed = (await connection.execute(statement)).first()
        return changed is not None

    async def sync_channels(self, channels: dict[str, list[int]]) -> None:
        """Make each campaign's channels recipients of its broadcasts, and only those.

        A channel is kept as a subscription of chat type `channel` (source `campaign`): the
        outbox then treats it like any recipient. Listed channels are made active (at every
        start and /reload); a channel dropped from its campaign's file stops receiving.
        """
        now = self.clock()
        s = Subscription
        async with self._session.begin() as session:
            for campaign_id, channel_ids in channels.items():
                await session.execute(
                    update(s)
                    .where(
                        s.campaign_id == campaign_id,
                        s.chat_type == "channel",
                        s.status == Status.ACTIVE,
                        s.chat_id.not_in(channel_ids),
                    )
                    .values(status=Status.UNSUBSCRIBED, updated_at=now)
                )
        for campaign_id, channel_ids in channels.items():
            for channel_id in channel_ids:
                await self.subscribe(
                    channel_id, campaign_id, chat_type="channel", source="campaign"
                )

    async def unsubscribe(self, chat_id: int, campaign_id: str) -> bool:
        """Stop a chat's subscription at once, queued messages included; False if none."""
        return await self._set_status(
            chat_id, Status.UNSUBSCRIBED, campaign_id=campaign_id, only_from=(Status.ACTIVE,)
        )

    async def started(self, chat_id: int, campaign_id: str | None, *, unblock: bool) -> bool:
        """Note that a chat (re)started the bot; return whether it gets the campaign's updates.

        With `unblock`, starting again after blocking the bot resumes what the block stopped.
        One read in the usual case; a write only when there is a block to lift.
        """
        async with self.engine.connect() as connection:
            statuses = dict(
                (
                    await connection.execute(
                        select(Subscription.campaign_id, Subscription.status).where(
                            Subscription.chat_id == chat_id
                        )
                    )
                ).all()
            )
            if unblock and Status.BLOCKED in statuses.values():
                await connection.execute(
                    update(Subscription)
                    .where(Subscription.chat_id == chat_id, Subscription.status == Status.BLOCKED)
                    .values(status=Status.ACTIVE, updated_at=self.clock())
                )
                await connection.commit()
                statuses = {
                    c: Status.ACTIVE if s == Status.BLOCKED else s for c, s in statuses.items()
                }
        return campaign_id is not None and statuses.get(campaign_id) == Status.ACTIVE

    async def is_subscribed(self, chat_id: int, campaign_id: str) -> bool:
        """Tell whether a chat receives a campaign's updates."""
        async with self._session() as session:
            status = await session.scalar(
                select(Subscription.status).where(
                    Subscription.chat_id == chat_id, Subscription.campaign_id == campaign_id
                )
            )
        return status == Status.ACTIVE

    async def mark_blocked(self, chat_id: int) -> bool:
        """Stop sending to a chat that blocked the bot, until it starts the bot again."""
        return await self._set_status(chat_id, Status.BLOCKED, only_from=(Status.ACTIVE,))

    async def mark_left(self, chat_id: int) -> bool:
        """Stop a group's subscriptions, queued messages included: the bot is not in it."""
        return await self._set_status(chat_id, Status.LEFT, only_from=(Status.ACTIVE,))

    async def unblock(self, chat_id: int) -> bool:
        """Resume the subscriptions a block had stopped."""
        return await self._set_status(chat_id, Status.ACTIVE, only_from=(Status.BLOCKED,))

    async def _set_status(
        self,
        chat_id: int,
        status: Status,
        *,
        only_from: Sequence[Status],
        campaign_id: str | None = None,
    ) -> bool:
        statement = (
            update(Subscription)
            .where(Subscription.chat_id == chat_id, Subscription.status.in_(only_from))
            .values(status=status, updated_at=self.clock())
        )
        if campaign_id is not None:
            statement = statement.where(Subscription.campaign_id == campaign_id)
        async with self._session.begin() as session:
            result = await session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> set[int]:
        """Move a group's subscriptions and queued deliveries to its new supergroup id.

        Return the broadcasts whose delivery to the old id was dropped because the new id
        already had one (the group was subscribed under both ids): sending it would repeat it.
        """
        unsent = (Outcome.PENDING, Outcome.CLAIMED, Outcome.SENDING)
        async with self._session.begin() as session:
            # The group's chosen language follows it, unless the new id already has one.
            if await session.get(Preference, new_chat_id) is None:
                await session.execute(
                    update(Preference)
                    .where(Preference.chat_id == old_chat_id)
                    .values(chat_id=new_chat_id)
                )
            else:
                await session.execute(delete(Preference).where(Preference.chat_id == old_chat_id))
            taken = select(Subscription.campaign_id).where(Subscription.chat_id == new_chat_id)
            await session.execute(
                delete(Subscription).where(
                    Subscription.chat_id == old_chat_id, Subscription.campaign_id.in_(taken)
                )
            )
            await session.execute(
                update(Subscription)
                .where(Subscription.chat_id == old_chat_id)
                .values(chat_id=new_chat_id, chat_type="supergroup", updated_at=self.clock())
            )
            already = select(Delivery.broadcast_id).where(Delivery.chat_id == new_chat_id)
            dropped = await session.scalars(
                delete(Delivery)
                .where(
                    Delivery.chat_id == old_chat_id,
                    Delivery.status.in_(unsent),
                    Delivery.broadcast_id.in_(already),
                )
                .returning(Delivery.broadcast_id)
            )
            duplicates = set(dropped)
            await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == old_chat_id, Delivery.status.in_(unsent))
                .values(chat_id=new_chat_id)
            )
        return duplicates

    async def count_subscriptions(self, campaign_id: str) -> int:
        """Return how many chats ever subscribed to a campaign, whatever their status."""
        async with self._session() as session:
            count = await session.scalar(
                select(func.count()).where(Subscription.campaign_id == campaign_id)
            )
        return count or 0

    async def subscriptions(
        self, campaign_id: str | None = None, batch: int = 1000
    ) -> AsyncIterator[SubscriptionRecord]:
        """Yield subscriptions (of one campaign, or all), oldest sign-up first, streamed."""
        # The id only breaks ties, for a stable order: sealed ids keep no numeric order.
        statement = select(Subscription).order_by(
            Subscription.campaign_id, Subscription.subscribed_at, Subscription.chat_id
        )
        if campaign_id is not None:
            statement = statement.where(Subscription.campaign_id == campaign_id)
        async with self._session() as session:
            result = await session.stream_scalars(statement.execution_options(yield_per=batch))
            async for row in result:
                yield subscription_record(row)

    async def add_subscriptions(
        self, records: Iterable[SubscriptionRecord], batch: int = 5000
    ) -> int:
        """Insert subscriptions in bulk (imports, copies between databases); return the count."""
        table = Subscription.__table__
        assert isinstance(table, Table)
        count = 0
        chunk: list[dict[str, Any]] = []
        for record in records:
            row = dataclasses.asdict(record)
            row["topics"] = topics_column(record.topics)
            chunk.append(row)
            if len(chunk) >= batch:
                count += await self._insert_rows(table, chunk)
                chunk = []
        if chunk:
            count += await self._insert_rows(table, chunk)
        return count

    async def _insert_rows(self, table: Table, rows: list[dict[str, Any]]) -> int:
        async with self._session.begin() as session:
            await session.execute(insert(table), rows)
        return len(rows)


def topics_column(topics: frozenset[str] | None) -> str | None:
    """Return chosen topics as stored: ",a,b,", so one LIKE finds a topic; None for all."""
    return None if topics is None else "," + ",".join(sorted(topics)) + ","


def topics_from_column(stored: str | None) -> frozenset[str] | None:
    return None if stored is None else frozenset(t for t in stored.split(",") if t)


def subscription_record(row: Subscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        chat_id=row.chat_id,
        campaign_id=row.campaign_id,
        chat_type=row.chat_type,
        language_code=row.language_code,
        status=row.status,
        source=row.source,
        subscribed_at=row.subscribed_at,
        updated_at=row.updated_at,
        topics=topics_from_column(row.topics),
    )
