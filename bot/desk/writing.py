"""Writing the campaign from the desk (issue 22): its file read to change, saved through
bot/organizing/writing.py, and the published versions listed. The page's editor comes next;
these calls are what it will make."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import yaml
from aiohttp import web

from bot import i18n, texts
from bot.campaign import render
from bot.campaign.content import Content
from bot.campaign.markup import escape
from bot.desk.calls import APPLICATION, acting, as_json, form, refused, services
from bot.i18n import gettext as _
from bot.organizing import writing
from bot.organizing.asking import Refused

# The keys of a campaign file the desk changes; anything else is the file's, by hand.
EDITABLE = ("title", "organization", "summary", "slogans", "actions")
VERSIONS_LISTED = 20


def add_routes(api: web.Application) -> None:
    """Put the campaign writing calls under the desk's API."""
    campaign = r"/campaigns/{id:[a-z0-9_-]{1,64}}"
    api.router.add_get(campaign + "/file", _open)
    api.router.add_post(campaign + "/file", _save)
    api.router.add_get("/versions", _versions)
    api.router.add_post(r"/versions/{id:\d{1,12}}/restore", _restore)


async def _open(request: web.Request) -> web.Response:
    """Return a campaign's file as it is now, and the values of the keys the desk changes."""
    found = services(request)
    try:
        opened = writing.open_campaign(found.content, request.match_info["id"])
    except Refused as refusing:
        return refused(refusing)
    values: dict[str, Any] = yaml.safe_load(opened.text) or {}
    fields = {key: values.get(key) for key in EDITABLE}
    campaign = found.content.get(opened.campaign_id)
    assert campaign is not None  # open_campaign found it
    # The languages it is written in, its main one first, then the bot's own: each text is
    # edited in all of them, side by side (a translation may be added to any one text).
    codes = [campaign.base.language, *campaign.languages, *i18n.interface_languages()]
    languages = [
        {"code": code, "name": i18n.spoken_name(code), "rtl": i18n.is_rtl(code)}
        for code in dict.fromkeys(codes)
    ]
    return as_json({"opened": opened, "fields": fields, "languages": languages})


async def _save(request: web.Request) -> web.Response:
    """Save changed keys into the file the desk opened (`opened` as the open call gave it)."""
    found = services(request)
    body = await form(request)
    given, changes = body.get("opened"), body.get("changes")
    if not isinstance(given, dict) or not isinstance(changes, dict):
        return _bad("opened and changes are JSON objects")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        return _bad(f"not changed from the desk: {', '.join(unknown)}")
    opened = writing.Opened(
        request.match_info["id"], str(given.get("file_name", "")), str(given.get("text", ""))
    )
    return await _served(
        request,
        writing.save_campaign(
            found.storage,
            request.app[APPLICATION].bot,
            found.config,
            found.content,
            found.follower,
            acting(request),
            opened,
            changes,
        ),
    )


async def _versions(request: web.Request) -> web.Response:
    """Return the newest published versions: who published each, when, how big."""
    found = services(request)
    return as_json({"versions": await found.storage.versions(VERSIONS_LISTED)})


async def _restore(request: web.Request) -> web.Response:
    """Put the campaign files back as a published version had them, for every process."""
    found = services(request)
    return await _served(
        request,
        writing.restore(
            found.storage,
            request.app[APPLICATION].bot,
            found.config,
            found.follower,
            acting(request),
            int(request.match_info["id"]),
        ),
    )


async def _served(request: web.Request, change: Awaitable[Content]) -> web.Response:
    """Serve the content a change returns and say so, or answer its refusal."""
    found = services(request)
    try:
        found.content = await change
    except Refused as refusing:
        return refused(refusing)
    summary = escape(render.summary(found.content))
    return as_json({"message": _(texts.RELOADED).format(summary=summary)})


def _bad(reason: str) -> web.Response:
    return web.json_response({"error": "bad_request", "reason": reason}, status=400)
