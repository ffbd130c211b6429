"""What every desk call shares: the application it serves, who makes the call, and how
answers and refusals are written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from aiohttp import web

from bot.desk.init_data import Opener
from bot.handlers.context import BotApplication, Services
from bot.organizing.asking import Organizer, Refused

APPLICATION = web.AppKey("application", BotApplication)
ORGANIZER = web.RequestKey("organizer", Opener)  # who a checked call comes from


def refusal(status: int, error: str, reason: str, message: str) -> web.Response:
    """Answer a refused call: what was refused, why, and what to tell the person."""
    body = {"error": error, "reason": reason, "message": message}
    return web.json_response(body, status=status)


def bad_request(reason: str) -> web.Response:
    """Answer a call the page should not have made (a malformed body): 400, and why."""
    return web.json_response({"error": "bad_request", "reason": reason}, status=400)


def refused(refused: Refused) -> web.Response:
    """Answer an operation's refusal: 409, in the words the chat uses."""
    return web.json_response({"error": "refused", "message": refused.text}, status=409)


def services(request: web.Request) -> Services:
    """Return the bot's services the call is answered with."""
    found: Services = request.app[APPLICATION].bot_data["services"]
    return found


def opener(request: web.Request) -> Opener:
    """Return who opened the desk, as their checked initData says."""
    found: Opener = request[ORGANIZER]
    return found


def acting(request: web.Request) -> Organizer:
    """Return the organizer making a call, as the operations take them."""
    found = opener(request)
    return Organizer(found.user_id, found.first_name)


def as_json(value: Any) -> web.Response:
    """Answer with `value` as JSON (dataclasses and dates written out)."""
    return web.json_response(value, dumps=lambda v: json.dumps(v, default=_plain))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


async def form(request: web.Request) -> dict[str, Any]:
    """Return a call's JSON object, or raise a 400 saying it is not one."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_request", "reason": "the body is not a JSON object"}),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
    return body
