"""The languages chats chose with /language, held in memory: every update reads one."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.storage import Storage

logger = logging.getLogger(__name__)

# Another process's /language reaches this one within this many seconds.
REFRESH_EVERY = 30.0


class LanguageChoices:
    """Every chosen language, so that answering an update costs no query to find its language.

    Few people choose (most follow their Telegram app), so all choices fit in memory. This
    process's own changes apply at once; the whole table is re-read every REFRESH_EVERY seconds
    for the changes other processes make.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._chosen: dict[int, str] = {}
        # The changes made while the table is being read: the read may predate them.
        self._changed_while_loading: dict[int, str | None] | None = None

    def of(self, chat_id: int) -> str | None:
        """Return the language a chat chose, or None."""
        return self._chosen.get(chat_id)

    async def choose(self, chat_id: int, language: str | None) -> None:
        """Store a chat's choice (None: follow the Telegram app again)."""
        await self.storage.set_language(chat_id, language)
        self._remember(chat_id, language)

    def forget(self, chat_id: int) -> None:
        """Drop a chat's choice from memory, after its data was erased."""
        self._remember(chat_id, None)

    def moved(self, old_chat_id: int, new_chat_id: int) -> None:
        """Follow a group that became a supergroup to its new id."""
        language = self._chosen.get(old_chat_id)
        self._remember(old_chat_id, None)
        if language is not None and new_chat_id not in self._chosen:
            self._remember(new_chat_id, language)

    def _remember(self, chat_id: int, language: str | None) -> None:
        if language is None:
            self._chosen.pop(chat_id, None)
        else:
            self._chosen[chat_id] = language
        if self._changed_while_loading is not None:
            self._changed_while_loading[chat_id] = language

    async def load(self) -> None:
        """Read every choice from the database, keeping changes made meanwhile."""
        self._changed_while_loading = {}
        try:
            chosen = await self.storage.chosen_languages()
        finally:
            changed, self._changed_while_loading = self._changed_while_loading, None
        for chat_id, language in changed.items():
            if language is None:
                chosen.pop(chat_id, None)
            else:
                chosen[chat_id] = language
        self._chosen = chosen

    async def keep_loading(self) -> None:
        """Re-read the choices every REFRESH_EVERY seconds until cancelled."""
        while True:
            await asyncio.sleep(REFRESH_EVERY)
            try:
                await self.load()
            except (SQLAlchemyError, OSError) as error:
                # Keep the choices known; the next round tries again.
                logger.warning("could not re-read language choices: %s", type(error).__name__)
