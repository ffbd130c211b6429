"""What an organizer does from the desk: compose, test, send, stop, approve, correct, decide
on a feed draft. Each call is one operation of bot/organizing, as the chat's buttons are."""

from __future__ import annotations

from aiohttp import web

from bot import i18n, texts
from bot.campaign.content import Content
from bot.campaign.markup import escape
from bot.desk.calls import APPLICATION, acting, as_json, form, refusal, refused, services
from bot.i18n import gettext as _
from bot.organizing import correcting, drafts, sending
from bot.organizing.asking import Refused
from bot.organizing.correcting import Workers


def add_routes(api: web.Application) -> None:
    """Put the desk's actions under its API."""
    api.router.add_post("/broadcasts", _compose)
    broadcast = r"/broadcasts/{id:\d{1,12}}"
    api.router.add_post(broadcast + "/{action:test|send|cancel|stop|approve|reject}", _act)
    api.router.add_get(broadcast + "/text", _text)
    api.router.add_post(broadcast + "/{kind:edit|delete}", _offer)
    api.router.add_post(r"/corrections/{id:\d{1,12}}/{action:apply|cancel|approve|reject}", _fix)
    api.router.add_post(r"/drafts/{id:\d{1,12}}/{action:add|ignore}", _draft)


def _number(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _status_message(request: web.Request, text: str) -> tuple[int, int]:
    """Send the organizer the chat message a desk action's progress shows in."""
    message = await request.app[APPLICATION].bot.send_message(acting(request).id, text)
    return message.chat.id, message.message_id


async def _compose(request: web.Request) -> web.Response:
    """Prepare a broadcast from the composer: stored, counted, shown; Send comes next."""
    found = services(request)
    body = await form(request)
    campaign = found.content.get(str(body.get("campaign", "")))
    if campaign is None:
        return refusal(400, "bad_request", "no such campaign", _(texts.DESK_NO_CAMPAIGN))
    try:
        composed = sending.compose(
            campaign,
            str(body.get("text", "")),
            found.storage.clock(),
            found.config.zone,
            schedule=str(body.get("schedule") or ""),
            topic=str(body.get("topic") or "") or None,
            language=str(body.get("language") or "") or None,
        )
        prepared = await sending.prepare(
            found.storage,
            acting(request),
            campaign,
            "broadcast",
            composed.versions,
            composed.send_at,
            composed.audience,
        )
    except Refused as refusing:
        return refused(refusing)
    return as_json(
        {
            "broadcast_id": prepared.broadcast_id,
            "campaign_id": prepared.campaign_id,
            "count": prepared.count,
            "messages": prepared.messages,
            "send_at": prepared.send_at,
            "versions": [
                _version(language, prepared.readers[language], parts)
                for language, parts in prepared.versions.items()
            ],
        }
    )


def _version(language: str, readers: int, parts: object) -> dict[str, object]:
    return {
        "language": language,
        "name": i18n.spoken_name(language),
        "readers": readers,
        "parts": parts,
    }


async def _act(request: web.Request) -> web.Response:
    """Test, Send, Cancel, Stop, Approve or Reject a broadcast, as the chat's buttons do."""
    found = services(request)
    bot = request.app[APPLICATION].bot
    organizer = acting(request)
    broadcast_id = _number(request)
    action = request.match_info["action"]
    try:
        if action == "test":
            failed = await sending.send_test(
                found.storage, found.config, bot, organizer, broadcast_id
            )
            return as_json({"failed": failed})
        if action == "cancel":
            await sending.cancel(found.storage, bot, organizer, broadcast_id)
            return as_json({"message": _(texts.BROADCAST_CANCELLED)})
        if action in ("approve", "reject"):
            text = await sending.decide(
                found.storage,
                bot,
                found.sender,
                organizer,
                broadcast_id,
                approve=action == "approve",
            )
            return as_json({"message": text})
        if action == "stop":
            text = await sending.stop(found.storage, bot, found.sender, organizer, broadcast_id)
            return as_json({"message": text})

        async def status() -> tuple[int, int]:
            # Sent from the desk: its progress shows in the organizer's chat as well.
            return await _status_message(request, _(texts.DESK_SENT_HERE).format(id=broadcast_id))

        sent = await sending.send(
            found.storage, found.config, bot, found.sender, organizer, broadcast_id, status
        )
    except Refused as refusing:
        return refused(refusing)
    return as_json(sent)


async def _text(request: web.Request) -> web.Response:
    """Return a sent broadcast's text as an organizer corrects it."""
    found = services(request)
    try:
        draft, _progress = await correcting.correctable(found.storage, _number(request))
        correcting.check_editable(draft)
    except Refused as refusing:
        return refused(refusing)
    return as_json({"text": correcting.editable_text(found.content, draft)})


async def _offer(request: web.Request) -> web.Response:
    """Offer an edit (with the corrected text) or a deletion of a sent broadcast: stored, its
    copies counted; Apply comes next."""
    found = services(request)
    organizer, broadcast_id = acting(request), _number(request)
    try:
        if request.match_info["kind"] == "delete":
            offer = await correcting.offer_delete(found.storage, organizer, broadcast_id)
            question = correcting.delete_question(offer)
        else:
            body = await form(request)
            offer = await correcting.offer_edit(
                found.storage, found.content, organizer, broadcast_id, str(body.get("text", ""))
            )
            question = _(texts.EDIT_PREVIEW).format(id=broadcast_id, count=offer.count)
    except Refused as refusing:
        return refused(refusing)
    return as_json(
        {
            "correction_id": offer.correction_id,
            "broadcast_id": broadcast_id,
            "kind": offer.kind,
            "count": offer.count,
            "question": question,
            "versions": [
                _version(code, offer.readers[code], offer.versions[code]) for code in offer.changed
            ],
        }
    )


async def _fix(request: web.Request) -> web.Response:
    """Apply, cancel, approve or reject an edit or a deletion, as the chat's buttons do."""
    found = services(request)
    bot = request.app[APPLICATION].bot
    organizer, correction_id = acting(request), _number(request)
    action = request.match_info["action"]
    workers = Workers(found.sender, found.corrector)
    try:
        if action == "cancel":
            await correcting.cancel(found.storage, bot, organizer, correction_id)
            return as_json({"message": _(texts.CORRECTION_CANCELLED)})
        if action in ("approve", "reject"):
            text = await correcting.decide(
                found.storage, bot, workers, organizer, correction_id, approve=action == "approve"
            )
            return as_json({"message": text})
        record = await found.storage.correction(correction_id)
        kind = record.kind if record is not None else "edit"

        async def status() -> tuple[int, int]:
            # Its progress shows in the organizer's chat, as a correction from there does.
            text = _(texts.DESK_CORRECTED_HERE).format(id=record.broadcast_id if record else 0)
            return await _status_message(request, text)

        outcome = await correcting.confirm(
            found.storage, found.config, bot, workers, organizer, correction_id, kind, status
        )
    except Refused as refusing:
        return refused(refusing)
    said = texts.DESK_HELD if outcome == "held" else texts.DESK_CORRECTING
    return as_json({"outcome": outcome, "message": _(said)})


async def _draft(request: web.Request) -> web.Response:
    """Add or ignore a draft from a campaign's feed, as its buttons in the chat do."""
    found = services(request)
    organizer, item_id = acting(request), _number(request)

    def serve(content: Content) -> None:
        found.content = content

    try:
        if request.match_info["action"] == "ignore":
            text = await drafts.ignore(found.storage, found.config, organizer, item_id)
            return as_json({"message": text})
        bot = request.app[APPLICATION].bot
        added = await drafts.add(
            found.storage,
            bot,
            found.config,
            found.content,
            organizer,
            item_id,
            serve,
            found.follower,
        )
    except Refused as refusing:
        return refused(refusing)
    message = added.message
    if not added.latest:
        latest = added.campaign.base.statement.title
        message += "\n" + _(texts.DRAFT_NOT_LATEST).format(latest=escape(latest))
    return as_json({"message": message})
