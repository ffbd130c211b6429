"""Long polling: updates taken by getUpdates, as fast as they are answered (issue 20).

python-telegram-bot's own Updater confirms every update it fetches at the next getUpdates and
queues it in memory: a crowd's updates were all confirmed within seconds, and lost if the
process died. Here `Intake.poll` (bot/server/intake.py) asks for more only while the inbox has
room, and each batch is in the inbox before the next getUpdates confirms it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.desk.api import desk_app
from bot.handlers.context import BotApplication
from bot.server.app import intake_of, running
from bot.server.metrics_server import serving_metrics, serving_site

logger = logging.getLogger(__name__)


async def poll(
    application: BotApplication,
    metrics: tuple[str, int] | None = None,
    desk: tuple[str, int] | None = None,
) -> None:
    """Run the bot by long polling until SIGINT or SIGTERM; serve /metrics and the desk (at
    /desk/) where asked."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        if metrics is not None:
            await stack.enter_async_context(serving_metrics(*metrics))
        if desk is not None:
            site = web.Application()
            site.add_subapp("/desk/", desk_app(application))
            settings = "DESK_LISTEN and DESK_PORT"
            await stack.enter_async_context(serving_site(site, *desk, "the desk", settings))
        # Polling has one process: its dispatcher answers again at once what a killed one was
        # answering (bot/server/intake.py, Dispatcher `alone`).
        await stack.enter_async_context(running(application))
        polling = asyncio.create_task(intake_of(application).poll(application), name="polling")
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        logger.info("taking updates by long polling")
        try:
            await asyncio.wait((polling, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (polling, stopping):
                task.cancel()
            await asyncio.wait((polling, stopping))
        if not polling.cancelled() and (error := polling.exception()) is not None:
            raise error
