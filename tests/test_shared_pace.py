"""Several processes on one PostgreSQL share Telegram's overall limit and its pauses."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.campaign.content import load_campaigns
from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.handlers.context import Services
from bot.server.app import _share_pace
from bot.storage import Storage, async_url
from bot.storage.shared_pace import _BOOK

from .conftest import CAMPAIGNS, POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL"),
]


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, with the shared pace's table made anew."""
    made = create_async_engine(async_url(POSTGRES_URL))
    async with made.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS send_pace"))
    yield made
    await made.dispose()


async def two_processes(engine: AsyncEngine, rate: float) -> tuple[Pacer, Pacer]:
    """Return two pacers sharing the database, as two processes' would."""
    pacers = (Pacer(rate, catch_up=0.0, chat_interval=0.0), Pacer(rate, catch_up=0.0))
    for pacer in pacers:
        await pacer.share(engine).start()
    return pacers


async def test_two_processes_together_keep_the_overall_rate(engine: AsyncEngine) -> None:
    """At 20 a second shared, 21 answers from two processes take a second, not half of one."""
    first, second = await two_processes(engine, 20.0)
    started = time.monotonic()
    await asyncio.gather(
        *(first.answer_slot(None) for _ in range(11)),
        *(second.answer_slot(None) for _ in range(10)),
    )
    assert time.monotonic() - started >= 0.95


async def test_a_broadcast_waits_for_answers_booked_by_another_process(
    engine: AsyncEngine,
) -> None:
    """Answers booked in one process hold back the broadcast of the other until they are out."""
    answering, sending = await two_processes(engine, 10.0)
    started = time.monotonic()
    await asyncio.gather(*(answering.answer_slot(None) for _ in range(5)))  # slots up to 0.4 s
    await sending.broadcast_slot()
    assert time.monotonic() - started >= 0.45


async def test_a_429_in_one_process_pauses_the_other(engine: AsyncEngine) -> None:
    """A pause one process records holds the next answer of the other for that long."""
    first, second = await two_processes(engine, 100.0)
    await first.pause(1.0)
    started = time.monotonic()
    await second.answer_slot(None)
    assert time.monotonic() - started >= 0.95


async def test_the_database_away_means_pacing_alone_said_once(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """With the database out of reach, slots still come (from this process alone), one warning."""
    pacer = Pacer(10.0, catch_up=0.0)
    await pacer.share(engine).start()
    assert pacer.shared is not None
    away = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    pacer.shared.engine = away
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.storage.shared_pace"):
        for _ in range(6):
            await pacer.answer_slot(None)
    await away.dispose()
    assert time.monotonic() - started >= 0.45  # still 10 a second
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.storage.shared_pace"]
    assert len(warnings) == 1
    assert warnings[0].startswith("cannot reach the shared send pace")


async def test_a_broadcast_that_lost_a_race_with_an_answer_does_not_take_a_slot(
    engine: AsyncEngine,
) -> None:
    """A broadcast whose take waited on an answer's booking is told to wait, not to go."""
    [pacer] = [Pacer(10.0, catch_up=0.0)]
    pace = pacer.share(engine)
    await pace.start()
    async with engine.connect() as holder:
        booking = await holder.begin()
        for _ in range(10):  # a second of answers, booked in a transaction not yet committed
            await holder.execute(text(_BOOK), {"interval": 0.1, "catch_up": 0.0})
        taking = asyncio.create_task(pace.take_if_free())
        await asyncio.sleep(0.2)  # it waits on the row
        await booking.commit()
        wait = await taking
    assert wait is not None
    assert wait > 0


async def test_the_row_is_made_again_if_the_server_lost_it(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """An UNLOGGED table is emptied by a crash: the next booking makes the row again."""
    [pacer] = [Pacer(10.0, catch_up=0.0)]
    await pacer.share(engine).start()
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM send_pace"))
    assert pacer.shared is not None
    with caplog.at_level(logging.WARNING, logger="bot.storage.shared_pace"):
        assert await pacer.shared.book() is not None
    assert "the shared send pace's row was gone; made anew" in caplog.messages
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM send_pace")) == 1


async def test_a_database_user_that_cannot_make_the_table_paces_alone(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Start-up without the right to create the pace's table: one warning, the bot paces alone."""
    async with engine.begin() as connection:
        if not await connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'reader'")):
            await connection.execute(text("CREATE ROLE reader LOGIN"))
        await connection.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    url = make_url(POSTGRES_URL).set(username="reader")
    storage = Storage.connect(url.render_as_string(hide_password=False))
    services = Services(Config(), load_campaigns(CAMPAIGNS), storage)
    with caplog.at_level(logging.WARNING, logger="bot.server.app"):
        await _share_pace(services)
    await storage.close()
    assert services.pacer.shared is None
    [warning] = caplog.messages
    assert warning.startswith("cannot set up the shared send pace (")
    assert warning.endswith("); this process paces alone")
