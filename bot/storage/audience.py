"""Who a broadcast is for, and the query that finds its recipients."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.sql import Select

from bot import i18n
from bot.storage.models import Broadcast, Preference, Status, Subscription


def version_for(language: str | None, translations: Iterable[str]) -> str | None:
    """Return the translation a reader of `language` gets (es-419 gets es), or None: the main
    text."""
    return i18n.match(language, tuple(translations))


@dataclass(frozen=True)
class Audience:
    """Who a broadcast is for: every subscriber, or those following a topic, reading a language.

    `main_language` is the language of the broadcast's main text: readers whose language is
    not known (groups, channels) are counted as its readers.
    """

    topic: str | None = None
    language: str | None = None
    main_language: str | None = None


# The columns an Audience is read from, in its fields' order.
AUDIENCE_COLUMNS = (Broadcast.topic, Broadcast.audience_language, Broadcast.main_language)


def audience_of(row: Broadcast) -> Audience:
    return Audience(row.topic, row.audience_language, row.main_language)


def reader_language(audience: Audience = Audience()) -> Any:
    """Return a subscriber's language: chosen with /language, else their Telegram app's, else
    (groups and channels have none) the main language of the broadcast."""
    known = (Preference.language, Subscription.language_code)
    if audience.main_language is None:
        return func.coalesce(*known)
    return func.coalesce(*known, literal(audience.main_language))


def select_recipients(campaign_id: str, audience: Audience, *columns: Any) -> Select[Any]:
    """Select columns over a campaign's active subscribers, of the audience's topic and
    language if it has them."""
    query = (
        select(*columns)
        .select_from(Subscription)
        .outerjoin(Preference, Preference.chat_id == Subscription.chat_id)
        .where(Subscription.campaign_id == campaign_id, Subscription.status == Status.ACTIVE)
    )
    if audience.topic is not None:
        query = query.where(
            Subscription.topics.is_(None)
            | Subscription.topics.contains(f",{audience.topic},", autoescape=True)
        )
    if audience.language is not None:
        reader = func.lower(reader_language(audience))
        language = audience.language
        query = query.where(
            (reader == language) | reader.startswith(f"{language}-", autoescape=True)
        )
    return query
