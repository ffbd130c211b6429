"""Pledges: who will join which action, and the reminders before it."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from bot.storage.audience import reader_language
from bot.storage.engine import Database
from bot.storage.models import Pledge, Preference, Subscription


class Pledges(Database):
    """Pledges to join an action, and claiming their reminders."""

    async def pledge(self, chat_id: int, campaign_id: str, action: str) -> bool:
        """Record that someone will join an action; return False if they already had."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                self._insert(Pledge)
                .values(
                    chat_id=chat_id,
                    campaign_id=campaign_id,
                    action=action,
                    pledged_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
        return bool(getattr(result, "rowcount", 0))

    async def unpledge(self, chat_id: int, campaign_id: str, action: str) -> bool:
        """Take a pledge back; return False if there was none."""
        async with self._session.begin() as session:
            result = await session.execute(
                delete(Pledge).where(
                    Pledge.chat_id == chat_id,
                    Pledge.campaign_id == campaign_id,
                    Pledge.action == action,
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def pledged(self, chat_id: int, campaign_id: str) -> set[str]:
        """Return the keys of the actions this chat pledged to join in a campaign."""
        async with self._session() as session:
            rows = await session.scalars(
                select(Pledge.action).where(
                    Pledge.chat_id == chat_id, Pledge.campaign_id == campaign_id
                )
            )
            return set(rows)

    async def pledge_counts(self, campaign_id: str | None = None) -> dict[tuple[str, str], int]:
        """Return how many pledged each action (of one campaign, if given), by (campaign, key)."""
        query = select(Pledge.campaign_id, Pledge.action, func.count()).group_by(
            Pledge.campaign_id, Pledge.action
        )
        if campaign_id is not None:
            query = query.where(Pledge.campaign_id == campaign_id)
        async with self._session() as session:
            rows = await session.execute(query)
            return {(campaign, action): count for campaign, action, count in rows}

    async def claim_reminders(self, campaign_id: str, action: str) -> list[tuple[int, str | None]]:
        """Mark the action's pledges not yet reminded as reminded now; return their chats,
        each with its reader's language.

        Marked before the reminders go out: after a crash in between, someone misses a
        reminder rather than getting it twice.
        """
        async with self._session.begin() as session:
            rows = await session.scalars(
                update(Pledge)
                .where(
                    Pledge.campaign_id == campaign_id,
                    Pledge.action == action,
                    Pledge.reminded_at.is_(None),
                )
                .values(reminded_at=self.clock())
                .returning(Pledge.chat_id)
            )
            chats = sorted(rows)
            if not chats:
                return []
            # Pledging needs no subscription: a language chosen is found without one.
            languages: dict[int, str | None] = dict(
                (
                    await session.execute(
                        select(Pledge.chat_id, reader_language())
                        .outerjoin(Preference, Preference.chat_id == Pledge.chat_id)
                        .outerjoin(
                            Subscription,
                            (Subscription.chat_id == Pledge.chat_id)
                            & (Subscription.campaign_id == campaign_id),
                        )
                        .where(
                            Pledge.campaign_id == campaign_id,
                            Pledge.action == action,
                            Pledge.chat_id.in_(chats),
                        )
                    )
                ).all()
            )
        return [(chat_id, languages.get(chat_id)) for chat_id in chats]
