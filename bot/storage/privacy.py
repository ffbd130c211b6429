"""What is stored about one person, shown to them or erased at their request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from bot.storage.engine import Database
from bot.storage.models import (
    ApprovalAsk,
    AuditEntry,
    Broadcast,
    Correction,
    Delivery,
    FeedItem,
    Pledge,
    Preference,
    Subscription,
)
from bot.storage.subscribers import SubscriptionRecord, subscription_record


@dataclass(frozen=True)
class StoredAbout:
    """Everything stored about one Telegram id."""

    subscriptions: list[SubscriptionRecord]
    deliveries: int
    audit_entries: int
    broadcasts_created: int
    pledges: int = 0
    language: str | None = None
    feed_decisions: int = 0  # drafts from a campaign's feed this organizer added or ignored
    broadcasts_approved: int = 0  # another organizer's broadcasts this one approved
    corrections: int = 0  # edits and deletions of broadcasts this organizer asked for


class Privacy(Database):
    """/mydata and /forget: every row about one Telegram id."""

    async def stored_about(self, user_id: int) -> StoredAbout:
        """Return everything stored about one Telegram id."""
        async with self._session() as session:
            rows = await session.scalars(
                select(Subscription)
                .where(Subscription.chat_id == user_id)
                .order_by(Subscription.campaign_id)
            )
            subscriptions = [subscription_record(row) for row in rows]
            deliveries = await session.scalar(
                select(func.count()).where(Delivery.chat_id == user_id)
            )
            audit = await session.scalar(
                select(func.count()).where(AuditEntry.admin_id == user_id)
            )
            created = await session.scalar(
                select(func.count()).where(Broadcast.created_by == user_id)
            )
            pledges = await session.scalar(select(func.count()).where(Pledge.chat_id == user_id))
            language = await session.scalar(
                select(Preference.language).where(Preference.chat_id == user_id)
            )
            decisions = await session.scalar(
                select(func.count()).where(FeedItem.decided_by == user_id)
            )
            approved = await session.scalar(
                select(func.count()).where(Broadcast.approved_by == user_id)
            )
            corrections = await session.scalar(
                select(func.count()).where(
                    (Correction.created_by == user_id)
                    | (Correction.status_chat_id == user_id)
                    | (Correction.approved_by == user_id)
                )
            )
        return StoredAbout(
            subscriptions,
            deliveries or 0,
            audit or 0,
            created or 0,
            pledges or 0,
            language,
            decisions or 0,
            approved or 0,
            corrections or 0,
        )

    async def forget(self, user_id: int) -> int:
        """Erase every row about a Telegram id, in every table; return how many rows changed."""
        async with self._session.begin() as session:
            changed = 0
            for statement in (
                delete(Subscription).where(Subscription.chat_id == user_id),
                delete(Delivery).where(Delivery.chat_id == user_id),
                delete(Pledge).where(Pledge.chat_id == user_id),
                delete(Preference).where(Preference.chat_id == user_id),
                delete(AuditEntry).where(AuditEntry.admin_id == user_id),
                delete(ApprovalAsk).where(ApprovalAsk.chat_id == user_id),
                update(Broadcast).where(Broadcast.created_by == user_id).values(created_by=None),
                update(Broadcast).where(Broadcast.approved_by == user_id).values(approved_by=None),
                update(Correction).where(Correction.created_by == user_id).values(created_by=None),
                update(Correction)
                .where(Correction.approved_by == user_id)
                .values(approved_by=None),
                update(Correction)
                .where(Correction.status_chat_id == user_id)
                .values(status_chat_id=None, status_message_id=None),
                # The decision stays (the post must not be offered again), without its author.
                update(FeedItem).where(FeedItem.decided_by == user_id).values(decided_by=None),
                update(Broadcast)
                .where(Broadcast.status_chat_id == user_id)
                .values(status_chat_id=None, status_message_id=None),
            ):
                result = await session.execute(statement)
                changed += int(getattr(result, "rowcount", 0) or 0)
        return changed
