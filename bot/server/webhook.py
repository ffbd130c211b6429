"""Webhook mode: Telegram posts updates to us over HTTP; `/healthz` and `/metrics` beside.

Any number of processes can serve one bot this way behind a reverse proxy (polling allows only
one). Each one keeps the updates it receives in the shared inbox before answering 200, and
answers the inbox's updates in their order, whichever process took them (bot/server/intake.py);
which of them sends the broadcasts is settled by the database (bot/storage/leader.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import time

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from bot.config import Webhook
from bot.desk.api import desk_app
from bot.handlers.context import BotApplication
from bot.server.app import intake_of, running
from bot.server.intake import arrival_of, is_empty
from bot.server.metrics_server import metrics_page
from bot.server.updates import parse_update, update_id_of

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 2.0
HOLD_WHEN_FULL = 50.0  # seconds an update waits for room in a full inbox (Telegram waits 60)
_APPLICATION = web.AppKey("application", BotApplication)
_SECRET = web.AppKey("secret", str)


class ListenError(Exception):
    """The webhook's port cannot be listened on; says which and why."""


def web_app(application: BotApplication, webhook: Webhook) -> web.Application:
    """Return the HTTP side: updates at the webhook's path, /healthz, /metrics and the desk."""
    app = web.Application()
    app[_APPLICATION] = application
    app[_SECRET] = webhook.secret
    app.router.add_post(webhook.path, _receive)
    app.router.add_get("/healthz", _health)
    app.router.add_get("/metrics", metrics_page)
    if application.bot_data["services"].config.desk_url is not None:
        app.add_subapp("/desk/", desk_app(application))
    return app


async def _receive(request: web.Request) -> web.Response:
    secret = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), request.app[_SECRET].encode()):
        logger.warning("refused a webhook request without the right secret")
        return web.Response(status=403, text="forbidden")
    application = request.app[_APPLICATION]
    try:
        data = await request.json()
    except ValueError:  # not JSON (or not UTF-8)
        data = None
    if update_id_of(data) is None:
        logger.warning("refused a webhook request that is not an update")
        return web.Response(status=400, text="not an update")
    # An update from Telegram that we cannot parse is still answered 200: Telegram would
    # otherwise post it again and again, holding back every update behind it.
    update = parse_update(data, application.bot)
    if update is None or is_empty(update):
        return web.Response(text="ok")
    intake = intake_of(application)
    arrival = arrival_of(update, data)
    # A full inbox: hold the answer (Telegram waits up to 60 s, then posts it again) rather
    # than refuse it, which would slow Telegram's deliveries to every chat. An organizer's
    # update is always taken.
    organizer = arrival.sender in intake.organizers
    if not organizer and not await intake.room(time.monotonic() + HOLD_WHEN_FULL):
        return _try_later("the bot is answering a crowd")
    try:
        await intake.take([arrival])
    except (OSError, SQLAlchemyError) as error:
        logger.error("cannot keep an update in the inbox (%s)", type(error).__name__)
        return _try_later("the database is unavailable")
    return web.Response(text="ok")


def _try_later(reason: str) -> web.Response:
    """Answer 503: Telegram keeps the update and posts it again later."""
    return web.Response(status=503, text=reason, headers={"Retry-After": "5"})


async def _health(request: web.Request) -> web.Response:
    """200 when this process can take updates and reach its database, else 503."""
    services = request.app[_APPLICATION].bot_data["services"]
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            async with services.storage.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception as error:  # any failure is the answer
        database = f"unreachable ({type(error).__name__})"
    healthy = database == "ok" and request.app[_APPLICATION].running
    body = {
        "ok": healthy,
        "database": database,
        "sending_broadcasts": services.sender is not None,
        "content_version": services.follower.version_id,  # the published version served
    }
    return web.Response(
        status=200 if healthy else 503, text=json.dumps(body), content_type="application/json"
    )


async def serve(application: BotApplication, webhook: Webhook) -> None:
    """Run the bot on a webhook until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(application):
        runner = web.AppRunner(web_app(application, webhook), access_log=None)
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, webhook.listen, webhook.port).start()
            except OSError as error:
                raise ListenError(
                    f"cannot listen on {webhook.listen}:{webhook.port} for the webhook: "
                    f"{error.strerror or error} (set WEBHOOK_LISTEN and WEBHOOK_PORT)"
                ) from None
            # Every process sets the same webhook: harmless, and none depends on another.
            await application.bot.set_webhook(
                webhook.url,
                secret_token=webhook.secret,
                allowed_updates=Update.ALL_TYPES,
                max_connections=webhook.max_connections,
            )
            logger.info(
                "taking updates at %s (listening on %s:%d)",
                webhook.url,
                webhook.listen,
                webhook.port,
            )
            await stop.wait()
        finally:
            await runner.cleanup()
