"""The desk over HTTP: its page and files, and a JSON API for organizers only.

Every API call carries the initData Telegram opened the page with (`Authorization: tma
<initData>`; cookies are unreliable in Telegram's web views), checked at every call, and the
caller must be in BOT_ADMINS at that moment. What the API answers comes from bot/organizing,
as the chat's commands do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot import i18n, texts
from bot.delivery.feed_watch import stored_draft
from bot.desk import actions, downloads, pictures, writing
from bot.desk.calls import APPLICATION, ORGANIZER, as_json, opener, refusal, services
from bot.desk.init_data import InitDataError, check, claimed_language
from bot.handlers.context import BotApplication
from bot.i18n import gettext as _
from bot.organizing import broadcasts, drafts, overview
from bot.storage import CorrectionRecord

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
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def desk_app(application: BotApplication) -> web.Application:
    """Return the desk: the page at /, its files under /static/, the API under /api/."""
    app = web.Application(middlewares=[_headers])
    app[APPLICATION] = application
    app.router.add_get("/", _page)
    app.router.add_static("/static/", STATIC, append_version=False)
    api = web.Application(middlewares=[_organizers_only])
    api[APPLICATION] = application
    api.router.add_get("/me", _me)
    api.router.add_get("/overview", _overview)
    api.router.add_get("/broadcasts", _broadcasts)
    api.router.add_get("/drafts", _drafts)
    actions.add_routes(api)
    writing.add_routes(api)
    pictures.add_routes(api)
    downloads.add_routes(api, app)
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
    "BUTTON_EDIT",
    "BUTTON_DELETE",
    "BUTTON_APPLY",
    "BUTTON_DELETE_YES",
    "BUTTON_DRAFT_ADD",
    "BUTTON_DRAFT_IGNORE",
    "DESK_EDIT_TITLE",
    "DESK_CORRECTION_AWAITING",
    "DESK_DRAFTS",
    "DESK_EXPORT",
    "DESK_WRITE",
    "DESK_WRITE_OPEN",
    "DESK_FIELD_TITLE",
    "DESK_FIELD_SUMMARY",
    "DESK_FIELD_SLOGANS",
    "DESK_FIELD_ACTIONS",
    "DESK_FIELD_DESCRIPTION",
    "DESK_ADD_SLOGAN",
    "DESK_ADD_ACTION",
    "DESK_REMOVE",
    "DESK_SAVE",
    "DESK_FIELD_ORGANIZATION",
    "DESK_FIELD_STATEMENTS",
    "DESK_FIELD_DATE",
    "DESK_FIELD_DAY",
    "DESK_FIELD_TIME",
    "DESK_FIELD_AUTHOR",
    "DESK_FIELD_ROLE",
    "DESK_FIELD_SOURCE",
    "DESK_FIELD_BODY",
    "DESK_FIELD_CLOSING",
    "DESK_FIELD_IMAGE",
    "DESK_FIELD_LINK",
    "DESK_FIELD_PLACE",
    "DESK_ADD_STATEMENT",
    "DESK_ADD_LINE",
    "DESK_MOVE_UP",
    "DESK_MOVE_DOWN",
    "DESK_CHOOSE_PICTURE",
    "DESK_LANGUAGES_SHOWN",
    "DESK_SHOW_AS",
    "DESK_SHOW_LANGUAGE",
    "DESK_SHOW_WELCOME",
    "DESK_HISTORY",
    "DESK_HISTORY_LINE",
    "DESK_HISTORY_LINE_START",
    "DESK_WHAT_CHANGED",
    "DESK_RESTORE",
    "DESK_RESTORE_CONFIRM",
    "RELOADED",
    "EDITING",
    "DELETING",
    "EDIT_DONE",
    "DELETE_DONE",
)


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
        found = services(request)
        token = request.app[APPLICATION].bot.token
        now = dt.datetime.now(dt.UTC)
        try:
            checked = check(raw, token, now, found.config.desk_login_age)
        except InitDataError as error:
            return refusal(401, "unauthorized", str(error), again)
        if checked.user_id not in found.config.admins:  # as they stand now, at every call
            logger.warning("refused the desk to a non-organizer")
            not_organizer = _(texts.DESK_NOT_ORGANIZER)
            return refusal(403, "forbidden", "not in BOT_ADMINS", not_organizer)
        request[ORGANIZER] = checked
        return await handler(request)


async def _page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def _me(request: web.Request) -> web.Response:
    found = services(request)
    language = i18n.interface_language()
    return as_json(
        {
            "id": opener(request).user_id,
            "language": language,
            "direction": "rtl" if i18n.is_rtl(language) else "ltr",
            "campaigns": [
                {
                    "id": c.id,
                    "title": c.title,
                    "topics": [{"id": t.id, "title": t.title} for t in c.topics],
                }
                for c in found.content
            ],
            "words": {name: _(getattr(texts, name)) for name in WORDS},
        }
    )


async def _overview(request: web.Request) -> web.Response:
    found = services(request)
    return as_json(await overview.overviews(found.storage, found.content))


async def _broadcasts(request: web.Request) -> web.Response:
    found = services(request)
    listed = await broadcasts.listing(found.storage)
    return as_json(
        [
            {
                **dataclasses.asdict(entry.progress),
                "done": entry.progress.done,
                "approved_by": entry.approved_by,
                "failures": entry.failures,
                "rate": entry.rate,
                "correctable": entry.correctable,
                "correction": _correction(entry.correction),
            }
            for entry in listed
        ]
    )


def _correction(record: CorrectionRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {
        "correction_id": record.correction_id,
        "kind": record.kind,
        "state": record.state,
        "created_by": record.created_by,
    }


async def _drafts(request: web.Request) -> web.Response:
    """Return the feed's drafts waiting for a decision, newest first."""
    found = services(request)
    listed = []
    for post in await drafts.waiting(found.storage):
        assert post.draft is not None
        draft = stored_draft(post.draft)
        listed.append(
            {
                "item_id": post.item_id,
                "campaign_id": post.campaign_id,
                "title": draft.title,
                "date": draft.date,
                "body": draft.body[:600],
                "source": draft.source,
                "seen_at": post.seen_at,
            }
        )
    return as_json(listed)
