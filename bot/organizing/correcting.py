"""Correcting a sent broadcast: edit every delivered copy, or delete it for everyone.

An edit or a retraction is offered first (stored as a draft correction, with the copies it
would change), then confirmed once; above APPROVAL_THRESHOLD copies a second organizer must
approve it. The chat's Edit and Delete buttons and the desk's are two faces of these
functions; the work itself is done by bot/delivery/corrections.py in the process that sends
broadcasts.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot import i18n, texts
from bot.campaign.content import Content
from bot.campaign.markup import pack_messages, telegram_length
from bot.config import Config
from bot.delivery.corrections import DELETE_WINDOW, Corrector
from bot.delivery.posts import Part, ShapeError, corrected_parts
from bot.delivery.sender import Sender
from bot.i18n import gettext as _
from bot.organizing.asking import (
    APPROVAL_TTL,
    Organizer,
    Refused,
    ask_others,
    hours,
    others,
    settle_asks,
)
from bot.organizing.broadcasts import reached_anyone
from bot.organizing.sending import Where, split_languages
from bot.storage import BroadcastDraft, CorrectionRecord, Progress, Storage, text_of, version_for

# The kind of correction each confirmation is for: Apply an edit, Yes to a deletion.
KINDS = ("edit", "delete")


@dataclass(frozen=True)
class Offer:
    """A correction shown to its organizer and waiting for their confirmation."""

    correction_id: int
    broadcast_id: int
    kind: str  # "edit" or "delete"
    count: int  # copies it changes
    versions: dict[str, list[Part]]  # an edit's versions, as readers will see them
    changed: tuple[str, ...]  # the languages of the versions an edit changes
    readers: Counter[str]  # an edit's copies per version
    sending: bool = False  # a deletion of a broadcast still going out: it is stopped first


@dataclass(frozen=True)
class Workers:
    """This process's workers a confirmed correction wakes (None where they do not run)."""

    sender: Sender | None
    corrector: Corrector | None


async def correctable(storage: Storage, broadcast_id: int) -> tuple[BroadcastDraft, Progress]:
    """Return a broadcast that has copies in chats; refused if it has none."""
    draft = await storage.broadcast(broadcast_id)
    progress = await storage.progress(broadcast_id)
    if draft is None or progress is None or not reached_anyone(progress):
        raise Refused(_(texts.CORRECTION_NOTHING).format(id=broadcast_id))
    return draft, progress


def check_editable(draft: BroadcastDraft) -> None:
    """Refuse to edit a broadcast with a poll (Telegram cannot edit one)."""
    versions = [draft.parts, *draft.translations.values()]
    if any(isinstance(p, dict) and p["type"] == "poll" for v in versions for p in v):
        raise Refused(_(texts.EDIT_REFUSED_POLL).format(id=draft.broadcast_id), alert=False)


def main_language(content: Content, draft: BroadcastDraft) -> str:
    """Return the language of a broadcast's main version."""
    if draft.audience.main_language:
        return draft.audience.main_language
    campaign = content.get(draft.campaign_id)
    return campaign.base.language if campaign is not None else i18n.SOURCE_LANGUAGE


def editable_text(content: Content, draft: BroadcastDraft) -> str:
    """Return a broadcast's text as an organizer corrects it: the main version, then each
    translation after its "[language]" line; messages apart by a blank line."""
    versions = {main_language(content, draft): draft.parts, **draft.translations}
    written = []
    for number, (language, parts) in enumerate(versions.items()):
        words = [p if isinstance(p, str) else p.get("caption") or "" for p in parts]
        body = "\n\n".join(words)
        written.append(body if number == 0 else f"[{language}]\n{body}")
    return "\n\n".join(written)


async def offer_edit(
    storage: Storage, content: Content, organizer: Organizer, broadcast_id: int, body: str
) -> Offer:
    """Store the broadcast's text with the organizer's corrections, to be confirmed; refused
    with the one sentence saying why it cannot be."""
    draft, _progress = await correctable(storage, broadcast_id)
    check_editable(draft)
    main = main_language(content, draft)
    previous = text_of(draft.parts, draft.translations)
    corrected = _corrected(draft, main, body)
    versions = {main: corrected["parts"], **corrected["translations"]}
    before = {main: previous["parts"], **previous["translations"]}
    readers: Counter[str] = Counter()
    for code, copies in (await storage.delivered_languages(broadcast_id)).items():
        readers[version_for(code, corrected["translations"]) or main] += copies
    changed = tuple(code for code, parts in versions.items() if parts != before.get(code))
    correction_id = await storage.create_correction(
        broadcast_id,
        "edit",
        organizer.id,
        previous=previous,
        corrected=corrected,
        report_language=i18n.interface_language(),
    )
    count = sum(readers[code] for code in changed)
    return Offer(correction_id, broadcast_id, "edit", count, versions, changed, readers)


def _corrected(draft: BroadcastDraft, main: str, body: str) -> dict[str, Any]:
    """Return the broadcast's text with the organizer's corrections; refused if they do not
    fit what was sent."""
    written = split_languages(body.strip(), main)
    versions: dict[str, list[Part]] = {main: list(draft.parts), **draft.translations}
    new = dict(versions)
    for language, text in written.items():
        if language not in versions:
            raise Refused(
                _(texts.EDIT_REFUSED_LANGUAGE).format(
                    id=draft.broadcast_id,
                    language=i18n.spoken_name(language),
                    languages=", ".join(i18n.spoken_name(code) for code in versions),
                ),
                alert=False,
            )
        packed = pack_messages(text.split("\n\n"))
        try:
            new[language] = corrected_parts(versions[language], packed)
        except ShapeError as error:
            reason = _refusal(error.reason, draft, versions[language], packed)
            raise Refused(reason, alert=False) from error
    if new == versions:
        raise Refused(_(texts.EDIT_REFUSED_SAME).format(id=draft.broadcast_id), alert=False)
    translations = {code: parts for code, parts in new.items() if code != main}
    return text_of(new[main], translations)


def _refusal(reason: str, draft: BroadcastDraft, old: Sequence[Part], packed: list[str]) -> str:
    """Return the one sentence saying why a correction does not fit what was sent."""
    broadcast_id = draft.broadcast_id
    if reason == "poll":
        return _(texts.EDIT_REFUSED_POLL).format(id=broadcast_id)
    if reason == "count":
        return _(texts.EDIT_REFUSED_COUNT).format(id=broadcast_id, new=len(packed), old=len(old))
    if reason == "caption_long":
        length = telegram_length("\n\n".join(packed))
        return _(texts.EDIT_REFUSED_CAPTION).format(length=length)
    return _(texts.EDIT_REFUSED_MIXED).format(id=broadcast_id)


def too_late(storage: Storage, progress: Progress) -> bool:
    """Tell whether a broadcast began more than Telegram's 48 hours ago (no deleting then)."""
    started = progress.started_at or progress.created_at
    return storage.clock() - started > DELETE_WINDOW


async def offer_delete(storage: Storage, organizer: Organizer, broadcast_id: int) -> Offer:
    """Store a retraction of every copy, to be confirmed; refused past Telegram's 48 hours."""
    _draft, progress = await correctable(storage, broadcast_id)
    if too_late(storage, progress):
        raise Refused(_(texts.DELETE_TOO_LATE).format(id=broadcast_id), alert=False)
    delivered = sum((await storage.delivered_languages(broadcast_id)).values())
    correction_id = await storage.create_correction(
        broadcast_id, "delete", organizer.id, report_language=i18n.interface_language()
    )
    sending = progress.state == "sending"
    return Offer(correction_id, broadcast_id, "delete", delivered, {}, (), Counter(), sending)


def delete_question(offer: Offer) -> str:
    """Return the question a retraction's confirmation asks."""
    question = _(texts.DELETE_CONFIRM).format(id=offer.broadcast_id, count=offer.count)
    return question + (_(texts.DELETE_CONFIRM_SENDING) if offer.sending else "")


async def cancel(storage: Storage, bot: Bot, organizer: Organizer, correction_id: int) -> None:
    """Drop a correction not confirmed yet (or one waiting for approval, by its author: the
    organizers asked are told)."""
    record = await storage.correction(correction_id)
    if record is None or not await storage.cancel_correction(correction_id):
        raise Refused(_(texts.CORRECTION_ALREADY))
    await storage.audit(organizer.id, "correction_cancel", f"correction {correction_id}")
    withdrawn = _(texts.CORRECTION_WITHDRAWN).format(id=record.broadcast_id, who=organizer.who)
    await settle_asks(storage, bot, "correction", correction_id, withdrawn)


async def confirm(
    storage: Storage,
    config: Config,
    bot: Bot,
    workers: Workers,
    organizer: Organizer,
    correction_id: int,
    kind: str,
    status: Where,
) -> str:
    """Confirm an offered correction of `kind` once: "started", its progress shown in the
    organizer's message that `status` gives; or "held" above APPROVAL_THRESHOLD copies, the
    other organizers asked. Refused if it is not waiting for this confirmation, or too late."""
    record = await storage.correction(correction_id)
    if record is None or record.state != "draft" or record.kind != kind:
        raise Refused(_(texts.CORRECTION_ALREADY))
    broadcast_id = record.broadcast_id
    if record.kind == "delete":
        progress = await storage.progress(broadcast_id)
        if progress is not None and too_late(storage, progress):
            raise Refused(_(texts.DELETE_TOO_LATE).format(id=broadcast_id), alert=False)
    copies = sum((await storage.delivered_languages(broadcast_id)).values())
    threshold = config.approval_threshold
    if threshold and copies > threshold:
        if not others(config, organizer):
            nobody = _(texts.CORRECTION_NOBODY).format(count=copies, threshold=threshold)
            raise Refused(nobody, alert=False)
        await _ask_approval(storage, config, bot, organizer, record, copies, await status())
        return "held"
    where = await status()
    started = await storage.start_correction(correction_id, *where)
    if started != "started":
        text = texts.CORRECTION_ALREADY if started == "already" else texts.CORRECTION_BUSY
        raise Refused(_(text).format(id=broadcast_id))
    title = texts.EDITING if record.kind == "edit" else texts.DELETING
    with contextlib.suppress(TelegramError):
        await bot.edit_message_text(_(title).format(id=broadcast_id), *where)
    await _started(storage, workers, organizer.id, record)
    return "started"


async def _ask_approval(
    storage: Storage,
    config: Config,
    bot: Bot,
    organizer: Organizer,
    record: CorrectionRecord,
    copies: int,
    where: tuple[int, int],
) -> None:
    """Hold a confirmed correction and ask the other organizers (once: a second
    confirmation finds it asked)."""
    cid, broadcast_id = record.correction_id, record.broadcast_id
    if not await storage.ask_correction_approval(cid, *where):
        return
    detail = f"correction {cid} of broadcast {broadcast_id}: {copies}"
    await storage.audit(organizer.id, "correction_approval_asked", detail)
    corrected = record.corrected or {"parts": [], "translations": {}}  # a retraction: none
    ask = texts.CORRECTION_ASK_EDIT if record.kind == "edit" else texts.CORRECTION_ASK_DELETE
    asked = await ask_others(
        bot,
        config,
        organizer,
        where,
        versions=[corrected["parts"], *corrected["translations"].values()],
        question=_(ask).format(who=organizer.who, id=broadcast_id, count=copies),
        buttons=f"ax:{{}}:{cid}",
        waiting=_(texts.CORRECTION_WAITING).format(id=broadcast_id, count=copies, hours=hours()),
        cancel=f"fx:cancel:{cid}",
    )
    await storage.record_asks("correction", cid, asked)


async def _started(
    storage: Storage, workers: Workers, organizer: int, record: CorrectionRecord
) -> None:
    """Audit a started correction, stop the broadcast first if it is a retraction, and wake
    the workers of this process (another process's notice it within a second)."""
    broadcast_id, correction_id = record.broadcast_id, record.correction_id
    action = "broadcast_edit" if record.kind == "edit" else "broadcast_delete"
    await storage.audit(
        organizer, action, f"broadcast {broadcast_id} (correction {correction_id})"
    )
    if record.kind == "delete" and await storage.stop_broadcast(broadcast_id) is not None:
        await storage.audit(organizer, "broadcast_stop", f"broadcast {broadcast_id}")
        if workers.sender is not None:
            workers.sender.wake(broadcast_id)
    if record.kind == "edit" and workers.sender is not None:
        workers.sender.forget(broadcast_id)
    if workers.corrector is not None:
        workers.corrector.wake()


async def decide(
    storage: Storage,
    bot: Bot,
    workers: Workers,
    organizer: Organizer,
    correction_id: int,
    *,
    approve: bool,
) -> str:
    """Approve or reject another organizer's edit or retraction held for approval, once; tell
    its author in their status message, and return the sentence for the one who decided."""
    record = await storage.correction(correction_id)
    if record is None or record.state != "awaiting":
        raise Refused(_(texts.CORRECTION_ALREADY))
    if record.created_by == organizer.id:
        raise Refused(_(texts.APPROVAL_OWN))
    assert record.status_chat_id is not None and record.status_message_id is not None
    where = (record.status_chat_id, record.status_message_id)
    broadcast_id = record.broadcast_id
    if not approve:
        if not await storage.reject_correction(correction_id):
            raise Refused(_(texts.CORRECTION_ALREADY))
        await storage.audit(organizer.id, "correction_reject", f"correction {correction_id}")
        rejected = _(texts.CORRECTION_REJECTED).format(id=broadcast_id, who=organizer.who)
        await settle_asks(storage, bot, "correction", correction_id, rejected)
        with contextlib.suppress(TelegramError):
            await bot.edit_message_text(rejected, *where)
        return rejected
    if not await storage.approve_correction(
        correction_id, organizer.id, storage.clock() - APPROVAL_TTL
    ):
        raise Refused(_(texts.APPROVAL_EXPIRED).format(hours=hours()))
    await storage.audit(organizer.id, "correction_approve", f"correction {correction_id}")
    approved = _(texts.CORRECTION_APPROVED).format(id=broadcast_id, who=organizer.who)
    await settle_asks(storage, bot, "correction", correction_id, approved)
    # The author's confirmation goes ahead, in the author's name and status message.
    started = await storage.start_correction(correction_id, *where)
    if started == "started":
        await _started(storage, workers, record.created_by or 0, record)
        title = texts.EDITING if record.kind == "edit" else texts.DELETING
    else:
        title = texts.CORRECTION_ALREADY if started == "already" else texts.CORRECTION_BUSY
    with contextlib.suppress(TelegramError):
        await bot.edit_message_text(f"{approved}\n{_(title).format(id=broadcast_id)}", *where)
    return approved
