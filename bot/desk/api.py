"""The desk over HTTP: its page and files, and a JSON API for organizers only.

Every API call carries the initData Telegram opened the page with (`Authorization: tma
<initData>`; cookies are unreliable in Telegram's web views), checked at every call, and the
caller must be in BOT_ADMINS at that moment. What the API answers comes from bot/organizing,
as the chat's commands do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import i18n, texts
from bot.desk.init_data import InitDataError, Opener, check, claimed_language
from bot.handlers.context import BotApplication, Services
from bot.i18n import gettext as _
from bot.organizing import broadcasts, overview, sending
from bot.organizing.asking import Organizer, Refused

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
# The page, its files and its API come from its own origin; only Telegram's script from
# elsewhere; only Telegram's web client may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' https://telegram.org; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors https://web.telegram.org https://*.telegram.org"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
APPLICATION = web.AppKey("application", BotApplication)
ORGANIZER = web.RequestKey("organizer", Opener)  # who a checked call comes from

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def desk_app(application: BotApplication) -> web.Application:
    """Return the desk: the page at /, its files under /static/, the API under /api/."""
    app = web.Application(middlewares=[_headers])
    app.router.add_get("/", _page)
    app.router.add_static("/static/", STATIC, append_version=False)
    api = web.Application(middlewares=[_organizers_only])
    api[APPLICATION] = application
    api.router.add_get("/me", _me)
    api.router.add_get("/overview", _overview)
    api.router.add_get("/broadcasts", _broadcasts)
    api.router.add_post("/broadcasts", _compose)
    api.router.add_post(
        r"/broadcasts/{id:\d{1,12}}/{action:test|send|cancel|stop|approve|reject}", _act
    )
    app.add_subapp("/api/", api)
    return app


# The page's words, from the bot's catalogs, in the organizer's language (sent by /api/me).
WORDS = (
    "DASHBOARD_BUTTON",
    "DESK_LOADING",
    "DESK_UNREACHABLE",
    "DESK_PEOPLE",
    "DESK_GROUPS",
    "DESK_NET_7",
    "DESK_NET_30",
    "DESK_CHART",
    "DESK_JOINED",
    "DESK_LEFT",
    "DESK_SOURCES",
    "DESK_LANGUAGES",
    "DESK_TOPICS",
    "DESK_PLEDGES",
    "DESK_BROADCASTS",
    "DESK_RATE",
    "DESK_APPROVED_BY",
    "DESK_STATE_AWAITING",
    "DESK_STATE_SCHEDULED",
    "DESK_STATE_SENDING",
    "DESK_STATE_DONE",
    "DESK_STATE_CANCELLED",
    "BROADCAST_COUNTS",
    "BROADCASTS_NONE",
    "STATS_NO_SOURCE",
    "DESK_COMPOSE",
    "DESK_CAMPAIGN",
    "DESK_MESSAGE",
    "DESK_TOPIC",
    "DESK_TOPIC_ALL",
    "DESK_LANGUAGE_ONLY",
    "DESK_WHEN",
    "DESK_PREVIEW",
    "DESK_RECIPIENTS",
    "DESK_VERSION",
    "DESK_CONFIRM_SEND",
    "DESK_HELD",
    "DESK_SCHEDULED",
    "DESK_TEST_SENT",
    "BUTTON_TEST",
    "BUTTON_SEND",
    "BUTTON_SCHEDULE",
    "BUTTON_CANCEL",
    "BUTTON_STOP",
    "BUTTON_UNSCHEDULE",
    "BUTTON_APPROVE",
    "BUTTON_REJECT",
    "BROADCAST_QUEUED",
    "BROADCAST_CANCELLED",
)


def refusal(status: int, error: str, reason: str, message: str) -> web.Response:
    """Answer a refused call: what was refused, why, and what to tell the person."""
    body = {"error": error, "reason": reason, "message": message}
    return web.json_response(body, status=status)


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:  # a 404 from the router, say
        error.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def _organizers_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await _checked(request, handler)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    scheme, _space, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip() if scheme.lower() == "tma" else ""
    # The wording follows the language initData names even when it is refused: it is only
    # the language of the answer, trusted for nothing else.
    with i18n.speaking(claimed_language(raw)):
        again = _(texts.DESK_OPEN_AGAIN)
        if not raw:
            return refusal(401, "unauthorized", "no initData (Authorization: tma ...)", again)
        services = _services(request)
        token = request.app[APPLICATION].bot.token
        now = dt.datetime.now(dt.UTC)
        try:
            opener = check(raw, token, now, services.config.desk_login_age)
        except InitDataError as error:
            return refusal(401, "unauthorized", str(error), again)
        if opener.user_id not in services.config.admins:  # as they stand now, at every call
            logger.warning("refused the desk to a non-organizer")
            not_organizer = _(texts.DESK_NOT_ORGANIZER)
            return refusal(403, "forbidden", "not in BOT_ADMINS", not_organizer)
        request[ORGANIZER] = opener
        return await handler(request)


def _services(request: web.Request) -> Services:
    services: Services = request.app[APPLICATION].bot_data["services"]
    return services


def _organizer(request: web.Request) -> Opener:
    opener: Opener = request[ORGANIZER]
    return opener


def _json(value: Any) -> web.Response:
    return web.json_response(value, dumps=lambda v: json.dumps(v, default=_plain))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


async def _page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def _me(request: web.Request) -> web.Response:
    services = _services(request)
    language = i18n.interface_language()
    return _json(
        {
            "id": _organizer(request).user_id,
            "language": language,
            "direction": "rtl" if i18n.is_rtl(language) else "ltr",
            "campaigns": [
                {
                    "id": c.id,
                    "title": c.title,
                    "topics": [{"id": t.id, "title": t.title} for t in c.topics],
                }
                for c in services.content
            ],
            "words": {name: _(getattr(texts, name)) for name in WORDS},
        }
    )


async def _overview(request: web.Request) -> web.Response:
    services = _services(request)
    return _json(await overview.overviews(services.storage, services.content))


async def _broadcasts(request: web.Request) -> web.Response:
    services = _services(request)
    listed = await broadcasts.listing(services.storage)
    return _json(
        [
            {
                **dataclasses.asdict(entry.progress),
                "done": entry.progress.done,
                "approved_by": entry.approved_by,
                "failures": entry.failures,
                "rate": entry.rate,
                "correctable": entry.correctable,
            }
            for entry in listed
        ]
    )


async def _form(request: web.Request) -> dict[str, Any]:
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


def _refused(refused: Refused) -> web.Response:
    """Answer an operation's refusal: 409, in the words the chat uses."""
    return web.json_response({"error": "refused", "message": refused.text}, status=409)


async def _compose(request: web.Request) -> web.Response:
    """Prepare a broadcast from the composer: stored, counted, shown; Send comes next."""
    services = _services(request)
    form = await _form(request)
    campaign = services.content.get(str(form.get("campaign", "")))
    if campaign is None:
        return refusal(400, "bad_request", "no such campaign", _(texts.DESK_NO_CAMPAIGN))
    try:
        composed = sending.compose(
            campaign,
            str(form.get("text", "")),
            services.storage.clock(),
            services.config.zone,
            schedule=str(form.get("schedule") or ""),
            topic=str(form.get("topic") or "") or None,
            language=str(form.get("language") or "") or None,
        )
        prepared = await sending.prepare(
            services.storage,
            _acting(request),
            campaign,
            "broadcast",
            composed.versions,
            composed.send_at,
            composed.audience,
        )
    except Refused as refused:
        return _refused(refused)
    return _json(
        {
            "broadcast_id": prepared.broadcast_id,
            "campaign_id": prepared.campaign_id,
            "count": prepared.count,
            "messages": prepared.messages,
            "send_at": prepared.send_at,
            "versions": [
                {
                    "language": language,
                    "name": i18n.spoken_name(language),
                    "readers": prepared.readers[language],
                    "parts": parts,
                }
                for language, parts in prepared.versions.items()
            ],
        }
    )


async def _act(request: web.Request) -> web.Response:
    """Test, Send, Cancel, Stop, Approve or Reject a broadcast, as the chat's buttons do."""
    services = _services(request)
    bot = request.app[APPLICATION].bot
    organizer = _acting(request)
    broadcast_id = int(request.match_info["id"])
    action = request.match_info["action"]
    try:
        if action == "test":
            failed = await sending.send_test(
                services.storage, services.config, bot, organizer, broadcast_id
            )
            return _json({"failed": failed})
        if action == "cancel":
            await sending.cancel(services.storage, organizer, broadcast_id)
            return _json({"message": _(texts.BROADCAST_CANCELLED)})
        if action in ("approve", "reject"):
            text = await sending.decide(
                services.storage,
                bot,
                services.sender,
                organizer,
                broadcast_id,
                approve=action == "approve",
            )
            return _json({"message": text})
        if action == "stop":
            text = await sending.stop(
                services.storage, bot, services.sender, organizer, broadcast_id
            )
            return _json({"message": text})

        async def status() -> tuple[int, int]:
            # Sent from the desk: its progress shows in the organizer's chat as well.
            where = _(texts.DESK_SENT_HERE).format(id=broadcast_id)
            message = await bot.send_message(organizer.id, where)
            return message.chat.id, message.message_id

        sent = await sending.send(
            services.storage,
            services.config,
            bot,
            services.sender,
            organizer,
            broadcast_id,
            status,
        )
    except Refused as refused:
        return _refused(refused)
    return _json(sent)


def _acting(request: web.Request) -> Organizer:
    """Return the organizer making a call, as the operations take them."""
    opener = _organizer(request)
    return Organizer(opener.user_id, opener.first_name)
