"""The subscriber list downloaded from the desk.

Telegram's `downloadFile` fetches a file by its URL alone (no Authorization header), so the
desk first asks for a link (an API call, initData checked) and gets one naming the organizer,
the campaign and a moment LINK_AGE ahead, signed with a key drawn from the bot's token.
Following it checks the signature, the moment, and that the organizer is still in BOT_ADMINS;
the export is audited under their id each time it is followed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time

from aiohttp import web

from bot import texts
from bot.desk.calls import APPLICATION, acting, as_json, form, refusal, services
from bot.i18n import gettext as _
from bot.organizing import exports

logger = logging.getLogger(__name__)

LINK_AGE = 120  # seconds a download link works


def add_routes(api: web.Application, desk: web.Application) -> None:
    """Put the link's call under the API and the download itself beside the page."""
    api.router.add_post("/export", _link)
    desk.router.add_get(r"/export/{link:[A-Za-z0-9_\-]+\.[0-9a-f]{64}}", _download)


def _key(token: str) -> bytes:
    return hmac.new(b"desk-export", token.encode(), hashlib.sha256).digest()


def sign_link(token: str, organizer: int, campaign_id: str | None, until: int) -> str:
    """Return a download link's last path segment: what it grants, and its signature."""
    granted = json.dumps({"u": organizer, "c": campaign_id, "t": until}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(granted.encode()).decode().rstrip("=")
    signature = hmac.new(_key(token), encoded.encode(), hashlib.sha256).hexdigest()
    return f"{encoded}.{signature}"


def read_link(token: str, link: str, now: float) -> tuple[int, str | None] | None:
    """Return the organizer and campaign a link grants, or None if it is forged or old."""
    encoded, _dot, signature = link.partition(".")
    expected = hmac.new(_key(token), encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        granted = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        organizer, campaign_id, until = int(granted["u"]), granted["c"], int(granted["t"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if now > until or not (campaign_id is None or isinstance(campaign_id, str)):
        return None
    return organizer, campaign_id


async def _link(request: web.Request) -> web.Response:
    """Answer a link to one campaign's subscriber list (or every campaign's)."""
    found = services(request)
    body = await form(request)
    campaign_id = str(body.get("campaign") or "") or None
    if campaign_id is not None and found.content.get(campaign_id) is None:
        return refusal(400, "bad_request", "no such campaign", _(texts.DESK_NO_CAMPAIGN))
    token = request.app[APPLICATION].bot.token
    until = int(time.time()) + LINK_AGE
    link = sign_link(token, acting(request).id, campaign_id, until)
    name = f"subscribers-{campaign_id or 'all'}.csv"
    return as_json({"path": f"export/{link}", "file_name": name})


async def _download(request: web.Request) -> web.StreamResponse:
    """Send the subscriber list a valid link grants, to an organizer still in BOT_ADMINS."""
    application = request.app[APPLICATION]
    granted = read_link(application.bot.token, request.match_info["link"], time.time())
    if granted is None:
        expired = _(texts.DESK_LINK_EXPIRED)
        return refusal(401, "unauthorized", "the link is forged or expired", expired)
    organizer, campaign_id = granted
    found = services(request)
    if organizer not in found.config.admins:
        logger.warning("refused a subscriber list to someone no longer an organizer")
        return refusal(403, "forbidden", "not in BOT_ADMINS", _(texts.DESK_NOT_ORGANIZER))
    written = await exports.export(found.storage, organizer, campaign_id)
    return web.Response(
        body=written.data,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{written.file_name}"',
            "Cache-Control": "no-store",
        },
    )
