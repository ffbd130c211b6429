"""A chat's choices: the language it reads, and the topics it follows in a campaign."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from bot.storage.engine import Database
from bot.storage.models import Preference, Status, Subscription
from bot.storage.subscribers import topics_column, topics_from_column


class Preferences(Database):
    """The language a chat chose, and the topics it follows."""

    async def set_language(self, chat_id: int, language: str | None) -> None:
        """Remember the language a chat chose; None forgets the choice."""
        async with self._session.begin() as session:
            if language is None:
                await session.execute(delete(Preference).where(Preference.chat_id == chat_id))
                return
            row = self._insert(Preference).values(
                chat_id=chat_id, language=language, updated_at=self.clock()
            )
            await session.execute(
                row.on_conflict_do_update(
                    index_elements=["chat_id"],
                    set_={
                        "language": row.excluded.language,
                        "updated_at": row.excluded.updated_at,
                    },
                )
            )

    async def chosen_language(self, chat_id: int) -> str | None:
        """Return the language a chat chose, or None."""
        async with self._session() as session:
            return await session.scalar(
                select(Preference.language).where(Preference.chat_id == chat_id)
            )

    async def chosen_languages(self) -> dict[int, str]:
        """Return every chat's chosen language."""
        async with self._session() as session:
            rows = await session.execute(select(Preference.chat_id, Preference.language))
        return {chat_id: language for chat_id, language in rows if language is not None}

    async def set_topics(
        self, chat_id: int, campaign_id: str, topics: frozenset[str] | None
    ) -> bool:
        """Set the topics a subscriber follows (None: all); return False if not subscribed."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Subscription)
                .where(
                    Subscription.chat_id == chat_id,
                    Subscription.campaign_id == campaign_id,
                    Subscription.status == Status.ACTIVE,
                )
                .values(topics=topics_column(topics), updated_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def topics_of(
        self, chat_id: int, campaign_id: str
    ) -> tuple[bool, frozenset[str] | None]:
        """Return whether a chat is subscribed, and the topics it follows (None: all)."""
        async with self._session() as session:
            row = (
                await session.execute(
                    select(Subscription.topics).where(
                        Subscription.chat_id == chat_id,
                        Subscription.campaign_id == campaign_id,
                        Subscription.status == Status.ACTIVE,
                    )
                )
            ).one_or_none()
        return (False, None) if row is None else (True, topics_from_column(row.topics))
