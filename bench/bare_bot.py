"""A bare python-telegram-bot application: one database write and one reply per message.

python bench/bare_bot.py [--httpx]    (env: TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, DATABASE_URL)
"""

from __future__ import annotations

import os
import sys
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.delivery.http import AiohttpRequest

CAMPAIGN = "rafah"
metadata = sa.MetaData()
signups = sa.Table(
    "bare_signups",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("campaign", sa.String(64), primary_key=True),
    sa.Column("writes", sa.Integer, nullable=False),  # the storm checks one write per update
)


def connect(url: str) -> AsyncEngine:
    """Open the database at `url` with the async drivers the bot uses."""
    url = url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    if engine.dialect.name == "sqlite":
        # The journal settings of bot.storage: the comparison is of code, not of fsyncs.
        def tune(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        sa.event.listen(engine.sync_engine, "connect", tune)
    return engine


def main() -> None:
    """Poll, and answer every message after upserting its chat."""
    engine = connect(os.environ["DATABASE_URL"])
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        row = {"chat_id": update.effective_chat.id, "campaign": CAMPAIGN, "writes": 1}
        upsert = (
            dialect.insert(signups)
            .values(row)
            .on_conflict_do_update(
                index_elements=["chat_id", "campaign"], set_={"writes": signups.c.writes + 1}
            )
        )
        async with engine.begin() as connection:  # committed before the reply, as the bot does
            await connection.execute(upsert)
        await update.effective_chat.send_message("Noted.")

    async def create_table(_: Application[Any, Any, Any, Any, Any, Any]) -> None:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    api_url = os.environ["TELEGRAM_API_URL"].rstrip("/")
    # The update concurrency and HTTP transport of bot.server.app.build_application, so that the
    # storm compares code, not configuration; --httpx gives python-telegram-bot's default
    # transport.
    builder = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{api_url}/bot")
        .concurrent_updates(16)
        .post_init(create_table)
    )
    if "--httpx" not in sys.argv:
        builder = builder.request(AiohttpRequest(256)).get_updates_request(AiohttpRequest(1))
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, record))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
