"""Counting a broadcast's recipients: how many it would reach, in which languages, on which
topics, as the composer and the desk's overview ask."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.audience import Audience, reader_language, select_recipients
from bot.storage.engine import Database
from bot.storage.models import Preference, Status, Subscription
from bot.storage.subscribers import topics_from_column


@dataclass(frozen=True)
class AudienceTally:
    """One campaign's active subscribers, counted by what a broadcast's audience is chosen by."""

    by_app: list[tuple[str | None, frozenset[str] | None, int]]  # Telegram language, topics
    moved: list[tuple[str | None, str | None, int]]  # Telegram language, the one chosen

    def reach(self, topic: str | None = None) -> int:
        """Return how many a broadcast (on `topic`) would reach: count_recipients's count."""
        return sum(
            count
            for _code, topics, count in self.by_app
            if topic is None or topics is None or topic in topics
        )

    def languages(self) -> dict[str | None, int]:
        """Return the readers of each language: recipient_languages's counts."""
        by_code: Counter[str | None] = Counter()
        for code, _topics, count in self.by_app:
            by_code[code] += count
        return readers_by_code(list(by_code.items()), self.moved, None)


def readers_by_code(
    by_app: Sequence[tuple[str | None, int]],
    moved: Sequence[tuple[str | None, str | None, int]],
    main: str | None,
) -> dict[str | None, int]:
    """Return readers per language (lower case) from recipients counted by their Telegram
    app's language, less those who chose another with /language, who count for theirs. A
    recipient of no known language (a group) reads the `main` one."""
    counts: Counter[str | None] = Counter()
    for code, count in by_app:
        counts[_lower(code or main)] += count
    for code, language, count in moved:
        counts[_lower(code or main)] -= count
        counts[_lower(language)] += count
    return {code: count for code, count in counts.items() if count > 0}


class Recipients(Database):
    """How many a broadcast would reach now, and in which languages."""

    async def count_recipients(self, campaign_id: str, audience: Audience = Audience()) -> int:
        """Return how many chats a broadcast to this campaign (and audience) would reach now."""
        query = select_recipients(campaign_id, audience, func.count())
        if audience.language is None:
            # Only a language filter reads the chosen languages: without one, counted from
            # ix_subscriptions_audience alone, not joined row by row (the desk's overview
            # counts every topic of every campaign on each refresh, issue 21).
            query = select(func.count()).select_from(Subscription).where(_conditions(query))
        async with self._session() as session:
            count = await session.scalar(query)
        return count or 0

    async def recipient_languages(
        self, campaign_id: str, audience: Audience = Audience()
    ) -> dict[str | None, int]:
        """Return how many recipients a broadcast would have, by their language."""
        if audience.language is None:
            return await self._languages_counted_apart(campaign_id, audience)
        reader = func.lower(reader_language(audience))
        query = select_recipients(campaign_id, audience, reader, func.count()).group_by(reader)
        async with self._session() as session:
            rows = await session.execute(query)
        return {code: count for code, count in rows}

    async def _languages_counted_apart(
        self, campaign_id: str, audience: Audience
    ) -> dict[str | None, int]:
        """Count recipients by their Telegram app's language, then move those who chose
        another with /language: two index reads instead of a join on every recipient and a
        sort (issue 21). The same counts as reader_language's, for an audience of any topic."""
        s, chosen = Subscription, Preference.language
        recipients = _conditions(select_recipients(campaign_id, audience))
        by_app = select(s.language_code, func.count()).where(recipients).group_by(s.language_code)
        moved = (
            select(s.language_code, chosen, func.count())
            .select_from(Preference)
            .join(s, s.chat_id == Preference.chat_id)
            .where(recipients, chosen.is_not(None))
            .group_by(s.language_code, chosen)
        )
        async with self._session() as session:
            by_app_rows = [(code, count) for code, count in await session.execute(by_app)]
            moved_rows = [
                (code, chose, count) for code, chose, count in await session.execute(moved)
            ]
        return readers_by_code(by_app_rows, moved_rows, audience.main_language)

    async def audience_tallies(self, campaign_ids: Sequence[str]) -> dict[str, AudienceTally]:
        """Return the campaigns' active subscribers counted by Telegram language and chosen
        topics: two statements for the reach of every topic and the readers of every
        language, instead of one per topic and two per campaign (the desk's overview, issue
        21). Naming the campaigns lets SQLite read ix_subscriptions_audience in order, each
        campaign's active rows apart, instead of sorting every active row."""
        s, chosen = Subscription, Preference.language
        recipients = s.campaign_id.in_(campaign_ids), s.status == Status.ACTIVE
        by_app = (
            select(s.campaign_id, s.language_code, s.topics, func.count())
            .where(*recipients)
            .group_by(s.campaign_id, s.language_code, s.topics)
        )
        moved = (
            select(s.campaign_id, s.language_code, chosen, func.count())
            .select_from(Preference)
            .join(s, s.chat_id == Preference.chat_id)
            .where(*recipients, chosen.is_not(None))
            .group_by(s.campaign_id, s.language_code, chosen)
        )
        tallies: dict[str, AudienceTally] = {}
        async with self._session() as session:
            for campaign_id, code, topics, count in await session.execute(by_app):
                tally = tallies.setdefault(campaign_id, AudienceTally([], []))
                tally.by_app.append((code, topics_from_column(topics), count))
            for campaign_id, code, language, count in await session.execute(moved):
                tally = tallies.setdefault(campaign_id, AudienceTally([], []))
                tally.moved.append((code, language, count))
        return tallies


def _conditions(query: Select[Any]) -> ColumnElement[bool]:
    """Return a query's WHERE clause, to ask the same of other tables or columns."""
    where = query.whereclause
    assert where is not None  # select_recipients always has its campaign and status
    return where


def _lower(code: str | None) -> str | None:
    """Return a language code in lower case, as SQL's lower() writes it (codes are ASCII)."""
    return None if code is None else code.lower()
