"""A broadcast from its text to its Send: composed, prepared, tested, sent (or held for a
second organizer), cancelled, stopped. The chat's /broadcast and its buttons and the desk's
composer are two faces of these functions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot import i18n, texts
from bot.campaign.content import Campaign
from bot.campaign.markup import escape, pack_messages
from bot.config import Config
from bot.delivery.posts import Part, message_count, send_part
from bot.delivery.sender import Sender, duration, stop_button
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
from bot.schedule import ScheduleError, describe, split_schedule
from bot.storage import Audience, Storage, version_for

_OPTION = re.compile(r"^(topic|lang):(\S*)(?:[ \t]+|\n|$)")
# A line "[ar]" starts the text for readers of that language.
_SECTION = re.compile(r"^\[([a-z]{2,3}(?:-[a-z0-9]{2,8})*)\][ \t]*$", re.MULTILINE)
_TAG = re.compile(r"<(/?)([a-z-]+)[^>]*>")


@dataclass(frozen=True)
class Composed:
    """What an organizer wrote, read: when it goes, to whom, and its text per language."""

    send_at: dt.datetime | None
    audience: Audience
    versions: dict[str, list[Part]]  # the campaign's language first


@dataclass(frozen=True)
class Prepared:
    """A broadcast stored and waiting for Send, with who will read which version."""

    broadcast_id: int
    campaign_id: str
    count: int  # recipients now
    readers: Counter[str]  # recipients per version's language
    messages: int  # messages each recipient gets, at most
    versions: dict[str, list[Part]]
    send_at: dt.datetime | None
    audience: Audience


@dataclass(frozen=True)
class Sent:
    """What Send did: "queued" (going out now), "scheduled" or "held" for a second organizer."""

    outcome: str
    broadcast_id: int
    total: int  # recipients (for "held": who would get it)
    send_at: dt.datetime | None = None


def audience_for(campaign: Campaign, topic: str | None, language: str | None) -> Audience:
    """Return who a broadcast is for, or raise Refused if the topic or language is unknown."""
    if topic is not None and campaign.topic(topic) is None:
        listed = ", ".join(t.id for t in campaign.topics) or "—"
        raise Refused(
            _(texts.UNKNOWN_TOPIC).format(
                topic=escape(topic), campaign=escape(campaign.id), topics=escape(listed)
            ),
            alert=False,
        )
    tag = i18n.normalize(language)
    if language is not None and tag is None:
        raise Refused(_(texts.BAD_LANGUAGE).format(language=escape(language)), alert=False)
    return Audience(topic, tag, campaign.base.language)


def read_options(
    body: str, campaign: Campaign, now: dt.datetime, zone: ZoneInfo
) -> tuple[dt.datetime | None, Audience, str]:
    """Take a leading schedule ("at 18:00", "in 2h") and topic:NAME / lang:CODE options off a
    broadcast's text; raise Refused if one is wrong."""
    try:
        send_at, body = split_schedule(body, now, zone)
    except ScheduleError as error:
        problem = _(texts.SCHEDULE_PROBLEM).format(problem=escape(str(error)))
        raise Refused(problem, alert=False) from None
    options: dict[str, str] = {}
    while found := _OPTION.match(body):
        options[found.group(1)] = found.group(2)
        body = body[found.end() :]
    return send_at, audience_for(campaign, options.get("topic"), options.get("lang")), body


def split_languages(body: str, main_language: str) -> dict[str, str]:
    """Split a broadcast's text at "[xx]" lines into one text per language.

    The text before the first such line is in the main language; the main language comes
    first (else the first written does, for readers of languages not written). Two texts for
    one language are joined, not dropped.
    """
    pieces = _SECTION.split(body)
    texts_in_order = _close_tags([piece.strip() for piece in pieces[0::2]])
    found = list(zip([main_language, *pieces[1::2]], texts_in_order, strict=True))
    written: dict[str, str] = {}
    for language, text in sorted(found, key=lambda item: item[0] != main_language):
        if _TAG.sub("", text).strip():  # words, not only tags
            written[language] = f"{written[language]}\n\n{text}" if language in written else text
    return written


def _close_tags(pieces: list[str]) -> list[str]:
    """Return HTML pieces cut from one text, each closing the tags it leaves open and opening
    the ones it starts inside (bold across an "[ar]" line), so Telegram can read each."""
    balanced = []
    still_open: list[tuple[str, str]] = []  # (name, opening tag as written)
    for piece in pieces:
        opening = "".join(tag for _name, tag in still_open)
        for found in _TAG.finditer(piece):
            if found.group(1):
                for index in range(len(still_open) - 1, -1, -1):
                    if still_open[index][0] == found.group(2):
                        del still_open[index]
                        break
            else:
                still_open.append((found.group(2), found.group(0)))
        closing = "".join(f"</{name}>" for name, _tag in reversed(still_open))
        balanced.append(opening + piece + closing)
    return balanced


def text_versions(body: str, main_language: str) -> dict[str, list[Part]]:
    """Return a text broadcast's messages per language (empty if it has no words)."""
    written = split_languages(body, main_language)
    return {
        language: list[Part](pack_messages(text.split("\n\n")))
        for language, text in written.items()
    }


def compose(
    campaign: Campaign,
    body: str,
    now: dt.datetime,
    zone: ZoneInfo,
    *,
    schedule: str = "",
    topic: str | None = None,
    language: str | None = None,
) -> Composed:
    """Read a text broadcast as the desk's composer gives it: the text (Telegram's HTML, "[xx]"
    lines for other languages), and when ("at 18:00", "in 2h") and for whom, apart."""
    send_at, _audience, rest = read_options(schedule.strip(), campaign, now, zone)
    if rest.strip():  # the schedule field held more than a time
        problem = _(texts.SCHEDULE_PROBLEM).format(problem=escape(schedule))
        raise Refused(problem, alert=False)
    versions = text_versions(body, campaign.base.language)
    if not versions:
        raise Refused(_(texts.DESK_EMPTY), alert=False)
    return Composed(send_at, audience_for(campaign, topic or None, language or None), versions)


def readers(
    counts: Mapping[str | None, int], versions: Mapping[str, Sequence[Part]]
) -> Counter[str]:
    """Return how many recipients read each version, from how many read each language."""
    main, *rest = versions
    found: Counter[str] = Counter()
    for code, count in counts.items():
        found[version_for(code, rest) or main] += count
    return found


async def prepare(
    storage: Storage,
    organizer: Organizer,
    campaign: Campaign,
    kind: str,
    versions: Mapping[str, Sequence[Part]],
    send_at: dt.datetime | None,
    audience: Audience,
) -> Prepared:
    """Store a broadcast waiting for Send, and say who will read it; Refused if nobody would."""
    languages = await storage.recipient_languages(campaign.id, audience)
    count = sum(languages.values())
    if count == 0:
        raise Refused(
            _(texts.BROADCAST_NO_RECIPIENTS).format(campaign=escape(campaign.id)), alert=False
        )
    (_main, parts), *translated = versions.items()
    broadcast_id = await storage.create_broadcast(
        campaign.id,
        kind,
        parts,
        organizer.id,
        send_at,
        audience=audience,
        translations=dict(translated),
        report_language=i18n.interface_language(),
    )
    detail = f"broadcast {broadcast_id} to {campaign.id}"
    await storage.audit(organizer.id, f"{kind}_preview", detail)
    return Prepared(
        broadcast_id,
        campaign.id,
        count,
        readers(languages, versions),
        max(sum(map(message_count, version)) for version in versions.values()),
        {language: list(version) for language, version in versions.items()},
        send_at,
        audience,
    )


def describe_when(storage: Storage, config: Config, when: dt.datetime) -> str:
    """Return when a scheduled broadcast goes, and how long until then."""
    left = (when - storage.clock()).total_seconds()
    return _(texts.SCHEDULED_FOR).format(when=describe(when, config.zone), left=duration(left))


Where = Callable[[], Awaitable[tuple[int, int]]]  # the organizer's status message (chat, id)


async def send(
    storage: Storage,
    config: Config,
    bot: Bot,
    sender: Sender | None,
    organizer: Organizer,
    broadcast_id: int,
    status: Where,
) -> Sent:
    """Send (or schedule) a prepared broadcast once, its progress shown in the organizer's
    message that `status` gives (asked only if it goes ahead); above APPROVAL_THRESHOLD
    recipients, ask the other organizers first. Refused if it is not waiting for Send, or
    nobody could approve it."""
    threshold = config.approval_threshold
    draft = await storage.broadcast(broadcast_id)
    if draft is None or draft.state != "draft":
        raise Refused(_(texts.BROADCAST_ALREADY))
    count = await storage.count_recipients(draft.campaign_id, draft.audience)
    if threshold and count > threshold and not others(config, organizer):
        nobody = _(texts.APPROVAL_NOBODY).format(count=count, threshold=threshold)
        raise Refused(nobody, alert=False)
    where = await status()
    if threshold and count > threshold:
        if await storage.ask_approval(broadcast_id, *where):  # else a second press: asked
            await storage.audit(
                organizer.id, "broadcast_approval_asked", f"broadcast {broadcast_id}: {count}"
            )
            campaign = escape(draft.campaign_id)
            asked = await ask_others(
                bot,
                config,
                organizer,
                where,
                versions=[draft.parts, *draft.translations.values()],
                question=_(texts.APPROVAL_ASK).format(
                    who=organizer.who, id=broadcast_id, count=count, campaign=campaign
                ),
                buttons=f"ap:{{}}:{broadcast_id}",
                waiting=_(texts.APPROVAL_WAITING).format(
                    id=broadcast_id, campaign=campaign, count=count, hours=hours()
                ),
                cancel=f"bc:cancel:{broadcast_id}",
            )
            await storage.record_asks("broadcast", broadcast_id, asked)
        return Sent("held", broadcast_id, count)
    total = await storage.start_broadcast(broadcast_id, *where)
    if total is None:
        raise Refused(_(texts.BROADCAST_ALREADY))
    if draft.send_at is not None:
        await storage.audit(organizer.id, "broadcast_schedule", f"broadcast {broadcast_id}")
        with contextlib.suppress(TelegramError):
            await bot.edit_message_text(
                _(texts.BROADCAST_SCHEDULED).format(
                    id=broadcast_id,
                    campaign=escape(draft.campaign_id),
                    when=describe_when(storage, config, draft.send_at),
                    total=total,
                ),
                *where,
                reply_markup=stop_button(broadcast_id, texts.BUTTON_UNSCHEDULE),
            )
        return Sent("scheduled", broadcast_id, total, draft.send_at)
    detail = f"broadcast {broadcast_id}: {total} recipients"
    await storage.audit(organizer.id, "broadcast_send", detail)
    # From here the sender alone edits the status message: an edit from here could land
    # after the sender's final report and hide it.
    if sender is not None:
        sender.wake(broadcast_id)
    return Sent("queued", broadcast_id, total)


async def cancel(storage: Storage, bot: Bot, organizer: Organizer, broadcast_id: int) -> None:
    """Drop a broadcast not sent yet (waiting for Send or for approval; the organizers asked
    are told); Refused if it went."""
    if not await storage.cancel_draft(broadcast_id):
        raise Refused(_(texts.BROADCAST_ALREADY))
    await storage.audit(organizer.id, "broadcast_cancel", f"broadcast {broadcast_id}")
    withdrawn = _(texts.APPROVAL_WITHDRAWN).format(id=broadcast_id, who=organizer.who)
    await settle_asks(storage, bot, "broadcast", broadcast_id, withdrawn)


async def send_test(
    storage: Storage, config: Config, bot: Bot, organizer: Organizer, broadcast_id: int
) -> list[str]:
    """Send a prepared broadcast to the organizer (and TEST_CHAT) as a subscriber reading
    their language gets it, not counted as sent; return the sentences for what failed."""
    draft = await storage.broadcast(broadcast_id)
    if draft is None:
        raise Refused(_(texts.BROADCAST_ALREADY))
    await storage.audit(organizer.id, "broadcast_test", f"broadcast {broadcast_id}")
    parts = draft.parts_for(i18n.interface_language())
    failed = []
    test_chat = [config.test_chat] if config.test_chat else []
    for chat_id in dict.fromkeys([organizer.id, *test_chat]):
        try:
            await bot.send_message(chat_id, _(texts.TEST_SENT).format(id=broadcast_id))
            for part in parts:
                await send_part(bot, chat_id, part)
        except TelegramError as error:
            failed.append(_(texts.TEST_FAILED).format(chat=chat_id, error=escape(error.message)))
    return failed


async def stop(
    storage: Storage, bot: Bot, sender: Sender | None, organizer: Organizer, broadcast_id: int
) -> str:
    """Stop a scheduled or running broadcast; return the sentence saying what happens now.
    Refused if it is neither."""
    before = await storage.stop_broadcast(broadcast_id)
    if before is None:
        raise Refused(_(texts.BROADCAST_ALREADY))
    await storage.audit(organizer.id, "broadcast_stop", f"broadcast {broadcast_id} ({before})")
    if before != "scheduled":
        if sender is not None:
            sender.wake(broadcast_id)  # its final report says what went out
        return _(texts.STOPPING).format(id=broadcast_id)
    text = _(texts.UNSCHEDULED).format(id=broadcast_id)
    progress = await storage.progress(broadcast_id)
    if progress is not None and progress.status_message_id is not None:
        # Nothing was sent, so the sender never reports on it: say so in its status too.
        assert progress.status_chat_id is not None
        with contextlib.suppress(TelegramError):
            await bot.edit_message_text(text, progress.status_chat_id, progress.status_message_id)
    return text


async def decide(
    storage: Storage,
    bot: Bot,
    sender: Sender | None,
    organizer: Organizer,
    broadcast_id: int,
    *,
    approve: bool,
) -> str:
    """Approve or reject another organizer's broadcast held for approval, once; tell its
    author in their status message, and return the sentence for the one who decided."""
    draft = await storage.broadcast(broadcast_id)
    if draft is None or draft.state != "awaiting":
        raise Refused(_(texts.BROADCAST_ALREADY))
    if draft.created_by == organizer.id:
        raise Refused(_(texts.APPROVAL_OWN))
    if not approve:
        if not await storage.reject(broadcast_id, organizer.id):
            raise Refused(_(texts.BROADCAST_ALREADY))
        await storage.audit(organizer.id, "broadcast_reject", f"broadcast {broadcast_id}")
        notice = _(texts.REJECTED_NOTICE).format(id=broadcast_id, who=organizer.who)
        await settle_asks(storage, bot, "broadcast", broadcast_id, notice)
        await _tell_author(storage, bot, broadcast_id, notice)
        return _(texts.REJECTED_BY_YOU).format(id=broadcast_id)
    total = await storage.approve(broadcast_id, organizer.id, storage.clock() - APPROVAL_TTL)
    if total is None:
        raise Refused(_(texts.APPROVAL_EXPIRED).format(hours=hours()))
    await storage.audit(organizer.id, "broadcast_approve", f"broadcast {broadcast_id}: {total}")
    notice = _(texts.APPROVED_NOTICE).format(id=broadcast_id, who=organizer.who, total=total)
    await settle_asks(storage, bot, "broadcast", broadcast_id, notice)
    if draft.send_at is not None:
        await _tell_author(storage, bot, broadcast_id, notice, stop_button(broadcast_id))
    else:
        await _tell_author(storage, bot, broadcast_id, notice)
        if sender is not None:
            sender.wake(broadcast_id)  # it edits the author's message now
    return _(texts.APPROVED_BY_YOU).format(id=broadcast_id, total=total)


async def _tell_author(
    storage: Storage,
    bot: Bot,
    broadcast_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Put a decision in the author's status message (where the progress will show)."""
    progress = await storage.progress(broadcast_id)
    if progress is None or progress.status_message_id is None:
        return
    assert progress.status_chat_id is not None
    with contextlib.suppress(TelegramError):
        await bot.edit_message_text(
            text, progress.status_chat_id, progress.status_message_id, reply_markup=markup
        )
