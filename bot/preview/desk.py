"""The organizers' desk in the preview: served on loopback beside the terminal chat, its page
loading a stand-in for Telegram's script, and opened as Telegram opens it, with initData signed
for the preview's token."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.desk.api import SECURITY_HEADERS, STATIC, TELEGRAM_SCRIPT, desk_app
from bot.desk.init_data import sign
from bot.handlers.context import BotApplication

LISTEN = "127.0.0.1"
STAND_IN = Path(__file__).parent / "static" / "telegram-web-app.js"
# Where the page finds the stand-in: beside itself, on its own origin, so the desk's
# Content-Security-Policy ('self') allows it as it stands; telegram.org is never asked.
STAND_IN_PATH = "telegram-web-app.js"
# What the address tells the page, as Telegram's apps tell it (core.telegram.org/bots/webapps).
WEB_APP_VERSION = "8.0"


@dataclass(frozen=True)
class PreviewDesk:
    """The desk the preview serves, and how to open it as one of its organizers."""

    url: str  # http://127.0.0.1:PORT/desk/
    token: str

    def address(self, user_id: int, language_code: str = "en") -> str:
        """Return the desk's address as Telegram opens it: signed initData in its fragment."""
        credential = init_data(user_id, language_code, self.token, dt.datetime.now(dt.UTC))
        launch = f"tgWebAppData={quote(credential, safe='')}&tgWebAppVersion={WEB_APP_VERSION}"
        return f"{self.url}#{launch}"


def init_data(user_id: int, language_code: str, token: str, now: dt.datetime) -> str:
    """Return the initData Telegram would give `user_id` opening the desk `now`, signed with
    `token` as Telegram signs it."""
    user = {"id": user_id, "first_name": "Organizer", "language_code": language_code}
    fields = {
        "query_id": f"preview-{user_id}",
        "user": json.dumps(user | {"allows_write_to_pm": True}, separators=(",", ":")),
        "auth_date": str(int(now.timestamp())),
    }
    return sign(fields, token)


def listening_socket(port: int = 0) -> socket.socket:
    """Return a socket listening on 127.0.0.1:`port` (0: any free port), or raise OSError.

    Bound before the bot is built, so the bot's DESK_URL can be the address it really has.
    """
    return socket.create_server((LISTEN, port))


def url_of(listening: socket.socket) -> str:
    """Return the desk's address on a listening socket."""
    host, port = listening.getsockname()[:2]
    return f"http://{host}:{port}/desk/"


def preview_site(application: BotApplication) -> web.Application:
    """Return the desk under /desk/, as the bot serves it, but for its page: the same page,
    loading the stand-in from /desk/telegram-web-app.js instead of Telegram's script."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    if TELEGRAM_SCRIPT not in page:
        raise RuntimeError(f"the desk's page no longer loads {TELEGRAM_SCRIPT}: update {__name__}")
    page = page.replace(TELEGRAM_SCRIPT, STAND_IN_PATH)

    async def page_handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=page, content_type="text/html", headers=SECURITY_HEADERS)

    async def stand_in_handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STAND_IN, headers=SECURITY_HEADERS)

    site = web.Application()
    # aiohttp tries the most specific path first, so these two answer before the desk's own.
    site.router.add_get("/desk/", page_handler)
    site.router.add_get(f"/desk/{STAND_IN_PATH}", stand_in_handler)
    site.add_subapp("/desk/", desk_app(application))
    return site


@contextlib.asynccontextmanager
async def serving_desk(
    application: BotApplication, listening: socket.socket
) -> AsyncIterator[None]:
    """Serve the preview's desk on a listening socket while in the block; close it after."""
    with contextlib.closing(listening):
        runner = web.AppRunner(preview_site(application), access_log=None)
        await runner.setup()
        try:
            await web.SockSite(runner, listening).start()
            yield
        finally:
            await runner.cleanup()
