"""What organizers get: broadcasts with a confirmed preview, stats, exports and reloads."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType

from bot import i18n, texts
from bot.campaign import links, render
from bot.campaign.content import Campaign, ContentError
from bot.campaign.markup import escape, pack_messages
from bot.delivery.posts import (
    Part,
    Uncopyable,
    album,
    from_message,
    send_part,
    with_caption,
)
from bot.delivery.sender import progress_bar
from bot.handlers import reports
from bot.handlers.context import BotContext
from bot.handlers.presses import answer_refusal, organizer_of, organizer_press
from bot.i18n import gettext as _
from bot.organizing import broadcasts, campaigns, desk_menu, exports, sending
from bot.organizing.asking import Refused
from bot.organizing.broadcasts import correctable
from bot.storage import Audience, Progress

logger = logging.getLogger(__name__)

_COMMAND_PREFIX = re.compile(r"^/\w+(?:@\w+)?[ \t]*\n?[ \t]*")


def _pick_campaign(context: BotContext) -> tuple[Campaign | None, list[str]]:
    """Take an optional leading campaign id from the arguments; None if one is needed."""
    args = list(context.args or [])
    content = context.content
    named = content.get(args[0]) if args else None
    if named is not None:
        return named, args[1:]
    if len(content) == 1:
        return content.default, args
    return None, args


async def _ask_which(update: Update, context: BotContext, command: str) -> None:
    assert update.effective_chat is not None
    ids = ", ".join(c.id for c in context.content)
    await update.effective_chat.send_message(
        _(texts.WHICH_CAMPAIGN).format(
            command=command, example=context.content.default.id, campaigns=ids
        )
    )


def broadcast_text(html: str, campaign_id: str | None) -> str:
    """Return the organizer's formatted text with the command and campaign id taken off."""
    # text_html renders the leading bot_command entity as plain text, so the prefix is plain.
    body = _COMMAND_PREFIX.sub("", html, count=1)
    if campaign_id is not None:
        body = re.sub(rf"^{re.escape(campaign_id)}(?:[ \t]+|\n|$)", "", body, count=1)
    return body.strip()


async def _read_options(
    chat: Chat, context: BotContext, body: str, campaign: Campaign
) -> tuple[dt.datetime | None, Audience, str] | None:
    """Take a leading schedule and audience off a command's text; None (answered) if wrong."""
    try:
        return sending.read_options(
            body, campaign, context.storage.clock(), context.services.config.zone
        )
    except Refused as refused:
        await chat.send_message(refused.text)
        return None


async def _offer(
    update: Update,
    context: BotContext,
    campaign: Campaign,
    kind: str,
    versions: Mapping[str, Sequence[Part]],
    send_at: dt.datetime | None,
    audience: Audience,
) -> None:
    """Show the broadcast exactly as subscribers will see it, in each of its languages."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    try:
        prepared = await sending.prepare(
            context.storage, organizer_of(user), campaign, kind, versions, send_at, audience
        )
    except Refused as refused:
        await chat.send_message(refused.text)
        return
    broadcast_id = prepared.broadcast_id
    for language, version in prepared.versions.items():
        if len(versions) > 1:
            await chat.send_message(
                _(texts.BROADCAST_VERSION).format(
                    language=i18n.spoken_name(language), count=prepared.readers[language]
                )
            )
        for part in version:  # sent as subscribers will get it
            await send_part(context.bot, chat.id, part)
    send_label = _(texts.BUTTON_SEND) if send_at is None else _(texts.BUTTON_SCHEDULE)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(send_label, callback_data=f"bc:send:{broadcast_id}"),
                InlineKeyboardButton(
                    _(texts.BUTTON_CANCEL), callback_data=f"bc:cancel:{broadcast_id}"
                ),
            ],
            [InlineKeyboardButton(_(texts.BUTTON_TEST), callback_data=f"bc:test:{broadcast_id}")],
        ]
    )
    question = _(texts.BROADCAST_SEND_NOW)
    if send_at is not None:
        question = _(texts.BROADCAST_PREVIEW_WHEN).format(when=_describe(context, send_at))
    text = _(texts.BROADCAST_PREVIEW).format(
        campaign=escape(campaign.id),
        target=_target(campaign, audience),
        parts=prepared.messages,
        count=prepared.count,
        question=question,
    )
    await chat.send_message(text, reply_markup=markup)


def _target(campaign: Campaign, audience: Audience) -> str:
    """Return the words saying who a broadcast is for, when not for everyone."""
    target = ""
    if audience.topic is not None:
        topic = campaign.topic(audience.topic)
        title = topic.title if topic else audience.topic
        target += _(texts.TARGET_TOPIC).format(topic=escape(title))
    if audience.language is not None:
        target += _(texts.TARGET_LANGUAGE).format(language=i18n.spoken_name(audience.language))
    return target


def _describe(context: BotContext, when: dt.datetime) -> str:
    return sending.describe_when(context.storage, context.services.config, when)


async def broadcast(update: Update, context: BotContext) -> None:
    """Prepare a broadcast of the organizer's text, or of the message they reply to."""
    message = update.effective_message
    assert message is not None
    campaign, args = _pick_campaign(context)
    if campaign is None:
        await _ask_which(update, context, "broadcast")
        return
    explicit = context.args[0] if context.args and context.args[0] == campaign.id else None
    body = broadcast_text(message.text_html or "", explicit)
    options = await _read_options(message.chat, context, body, campaign)
    if options is None:
        return
    send_at, audience, body = options
    main = campaign.base.language
    reply = message.reply_to_message
    versions: Mapping[str, Sequence[Part]]
    if reply is not None and body:
        await message.chat.send_message(_(texts.REPLY_TAKES_OPTIONS_ONLY))
        return
    if reply is not None and not reply.text:
        try:
            versions = localized(_part_replied_to(reply, context), main)
        except Uncopyable as refused:
            await message.chat.send_message(str(refused))
            return
    else:
        written = sending.split_languages(reply.text_html if reply else body, main)
        if not (args or reply) or not written:
            ids = ", ".join(c.id for c in context.content)
            await message.chat.send_message(_(texts.BROADCAST_USAGE).format(campaigns=ids))
            return
        versions = {
            language: pack_messages(text.split("\n\n")) for language, text in written.items()
        }
    await _offer(update, context, campaign, "broadcast", versions, send_at, audience)


ALBUMS_KEPT = 20  # albums remembered per organizer chat, to broadcast one by a reply


async def remember_album_item(update: Update, context: BotContext) -> None:
    """Keep what is needed to send each item of an organizer's album (in memory): a reply
    to an album names one item, and the Bot API cannot fetch the others later."""
    message = update.effective_message
    if message is None or message.media_group_id is None or context.chat_data is None:
        return
    try:
        item: Part | None = from_message(message)
    except Uncopyable:
        item = None  # album() refuses an album holding it
    albums: dict[str, dict[int, Part | None]] = context.chat_data.setdefault("albums", {})
    albums.setdefault(message.media_group_id, {})[message.message_id] = item
    while len(albums) > ALBUMS_KEPT:
        del albums[next(iter(albums))]


def _part_replied_to(reply: Message, context: BotContext) -> Part:
    """Return the part to send for a message replied to: the whole album it is in, if any."""
    if reply.media_group_id is None:
        return from_message(reply)
    albums = (context.chat_data or {}).get("albums", {})
    items = albums.get(reply.media_group_id)
    if not items:
        raise Uncopyable(_(texts.ALBUM_FORGOTTEN))
    if any(item is None for item in items.values()):
        raise Uncopyable(_(texts.MEDIA_UNSUPPORTED).format(kind="album"))
    return album([item for _id, item in sorted(items.items()) if item is not None])


def localized(part: Part, main_language: str) -> dict[str, list[Part]]:
    """Return a file, album or poll in each language its captions are written in ("[ar]"
    lines, as in a text broadcast); an item without a caption in a language keeps its main one.
    """
    if isinstance(part, str) or part["type"] == "poll":
        return {main_language: [part]}
    files = part["items"] if part["type"] == "album" else [part]
    written = [sending.split_languages(f.get("caption") or "", main_language) for f in files]
    languages = list(dict.fromkeys([main_language, *(code for w in written for code in w)]))
    versions: dict[str, list[Part]] = {}
    for language in languages:
        items = [
            with_caption(f, w.get(language, w.get(main_language)))
            for f, w in zip(files, written, strict=True)
        ]
        versions[language] = [album(items) if part["type"] == "album" else items[0]]
    return versions


async def announce(update: Update, context: BotContext) -> None:
    """Prepare a broadcast of the campaign's latest statement."""
    campaign, args = _pick_campaign(context)
    chat = update.effective_chat
    assert chat is not None
    if campaign is None:
        await _ask_which(update, context, "announce")
        return
    options = await _read_options(chat, context, " ".join(args), campaign)
    if options is None:
        return
    send_at, audience, rest = options
    if rest.strip():
        await chat.send_message(_(texts.ANNOUNCE_USAGE))
        return
    await offer_statement(update, context, campaign, send_at, audience)


async def offer_statement(
    update: Update,
    context: BotContext,
    campaign: Campaign,
    send_at: dt.datetime | None = None,
    audience: Audience | None = None,
) -> None:
    """Show the campaign's latest statement as a broadcast preview, with Send and Cancel."""
    # Each reader gets the statement, and the words around it, in their language.
    versions: dict[str, Sequence[Part]] = {}
    for language in campaign.languages:
        with i18n.speaking(language):
            version = campaign.in_language(language)
            versions[language] = render.statement(version, version.statement)
    # Its picture and files go by file id: uploaded now (once), so the parts stored hold ids.
    assert update.effective_chat is not None
    files = context.services.files
    before, after = await files.statement_parts(
        context.bot, update.effective_chat.id, campaign.base.statement
    )
    versions = {language: [*before, *parts, *after] for language, parts in versions.items()}
    audience = audience or Audience(None, None, campaign.base.language)
    await _offer(update, context, campaign, "statement", versions, send_at, audience)


async def confirm_button(update: Update, context: BotContext) -> None:
    """Send or cancel a prepared broadcast, once, and only for an organizer."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, broadcast_id = pressed
    services = context.services
    organizer = organizer_of(user)
    try:
        if action == "cancel":
            await sending.cancel(services.storage, context.bot, organizer, broadcast_id)
            sent = None
        else:

            async def here() -> tuple[int, int]:
                return message.chat.id, message.message_id

            sent = await sending.send(
                services.storage,
                services.config,
                context.bot,
                services.sender,
                organizer,
                broadcast_id,
                here,
            )
    except Refused as refused:
        # Leave the message alone: it may hold the final report of a sent broadcast.
        await answer_refusal(query, message, refused)
        return
    if sent is None:
        await query.answer()
        await context.bot.edit_message_text(
            _(texts.BROADCAST_CANCELLED), message.chat.id, message.message_id
        )
    elif sent.outcome == "queued":
        await query.answer(_(texts.BROADCAST_QUEUED).format(total=sent.total))
    elif sent.outcome == "scheduled":
        await query.answer(_(texts.BROADCAST_SCHEDULED_ALERT))
    else:
        await query.answer()


async def test_button(update: Update, context: BotContext) -> None:
    """Send a broadcast to the organizer who asks (and to TEST_CHAT) as a subscriber who reads
    their language gets it: not recorded as sent, and as often as asked."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, _action, broadcast_id = pressed
    services = context.services
    test_chat = services.config.test_chat
    try:
        failed = await sending.send_test(
            services.storage, services.config, context.bot, organizer_of(user), broadcast_id
        )
    except Refused as refused:
        await answer_refusal(query, message, refused)
        return
    await query.answer(_(texts.TEST_SENT_TO_CHAT) if test_chat else _(texts.TEST_SENT_ALERT))
    for sentence in failed:
        await context.bot.send_message(message.chat.id, sentence)


async def stop_button_pressed(update: Update, context: BotContext) -> None:
    """Ask before stopping a scheduled or running broadcast; stop it on the second press."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, broadcast_id = pressed
    storage = context.storage
    if action == "stop":
        progress = await storage.progress(broadcast_id)
        if progress is None or progress.state not in ("scheduled", "sending"):
            await query.answer(_(texts.BROADCAST_ALREADY), show_alert=True)
            return
        await query.answer()
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _(texts.BUTTON_STOP_YES), callback_data=f"bc:halt:{broadcast_id}"
                    ),
                    InlineKeyboardButton(
                        _(texts.BUTTON_STOP_NO), callback_data=f"bc:keep:{broadcast_id}"
                    ),
                ]
            ]
        )
        left = progress.total - progress.done
        question = (
            _(texts.STOP_SCHEDULED_CONFIRM)
            if progress.state == "scheduled"
            else _(texts.STOP_SENDING_CONFIRM)
        )
        await message.chat.send_message(
            question.format(id=broadcast_id, left=f"{left:,}"), reply_markup=markup
        )
        return
    if action == "keep":
        await query.answer()
        await context.bot.edit_message_text(
            _(texts.STOP_KEPT).format(id=broadcast_id), message.chat.id, message.message_id
        )
        return
    try:
        text = await sending.stop(
            storage, context.bot, context.services.sender, organizer_of(user), broadcast_id
        )
    except Refused as refused:
        await answer_refusal(query, message, refused)
        return
    await query.answer()
    await context.bot.edit_message_text(text, message.chat.id, message.message_id)


async def list_broadcasts(update: Update, context: BotContext) -> None:
    """List scheduled and running broadcasts, with a button to stop each, then recent ones."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    await context.storage.audit(user.id, "broadcasts")
    found = await broadcasts.listing(context.storage)
    if not found:
        await chat.send_message(_(texts.BROADCASTS_NONE))
        return
    lines = [_(texts.BROADCASTS_TITLE)]
    buttons = []
    for progress in (entry.progress for entry in found):
        lines.append(_broadcast_line(context, progress))
        if progress.state in ("scheduled", "sending"):
            label = (
                _(texts.BUTTON_UNSCHEDULE)
                if progress.state == "scheduled"
                else _(texts.BUTTON_STOP)
            )
            buttons.append(
                [
                    InlineKeyboardButton(
                        f"{label} #{progress.broadcast_id}",
                        callback_data=f"bc:stop:{progress.broadcast_id}",
                    )
                ]
            )
        if corrections := correction_buttons(progress):
            buttons.append(corrections)
    await chat.send_message(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons) if buttons else None
    )


def correction_buttons(progress: Progress) -> list[InlineKeyboardButton]:
    """Return Edit and Delete (bot/handlers/corrections.py) for a broadcast that reached
    someone, else nothing."""
    if not correctable(progress):
        return []
    number = progress.broadcast_id
    return [
        InlineKeyboardButton(
            f"{_(texts.BUTTON_EDIT)} #{number}", callback_data=f"fx:edit:{number}"
        ),
        InlineKeyboardButton(
            f"{_(texts.BUTTON_DELETE)} #{number}", callback_data=f"fx:del:{number}"
        ),
    ]


def _broadcast_line(context: BotContext, p: Progress) -> str:
    head = f"#{p.broadcast_id} <b>{escape(p.campaign_id)}</b>"
    if p.state == "awaiting":
        return f"⏳ {head}: {_(texts.BROADCAST_AWAITING)}"
    if p.state == "scheduled" and p.send_at is not None:
        return f"📅 {head}: {_describe(context, p.send_at)}"
    counts = _(texts.BROADCAST_COUNTS).format(sent=p.sent, blocked=p.blocked, failed=p.failed)
    if p.state == "sending":
        return f"📤 {head}: {progress_bar(p.done, p.total)} · {counts}"
    zone = context.services.config.zone
    when = (p.started_at or p.created_at).astimezone(zone)
    mark = "⏹" if p.state == "cancelled" else "✅"
    not_sent = _(texts.BROADCAST_NOT_SENT).format(cancelled=p.cancelled) if p.cancelled else ""
    total = _(texts.BROADCASTS_TOTAL).format(total=p.total)
    return f"{mark} {head} {when:%Y-%m-%d %H:%M}: {total}, {counts}{not_sent}"


async def stats(update: Update, context: BotContext) -> None:
    """Send subscriber numbers, sign-ups by source, the last broadcasts, and the chart."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    await context.storage.audit(user.id, "stats")
    config = context.services.config
    paid = config.paid_answers_per_day if config.paid_answers_after is not None else None
    await chat.send_message(await reports.stats_html(context.storage, context.content, paid))
    chart = await reports.signups_chart(context.storage)
    if chart is not None:
        await chat.send_photo(InputFile(chart, filename="signups.png"))


async def link(update: Update, context: BotContext) -> None:
    """Give an organizer a sign-up link, and its QR code, that records where people came from."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    args = list(context.args or [])
    named = context.content.get(args[0]) if len(args) == 2 else None
    if named is not None:
        campaign, source = named, args[1]
    elif len(args) == 1 and len(context.content) > 1:
        await _ask_which(update, context, "link")
        return
    else:  # one campaign; or a wrong number of words, answered with the usage below
        campaign, source = context.content.default, args[0] if len(args) == 1 else ""
    limit = 63 - len(campaign.id)
    if not links.SOURCE.fullmatch(source) or len(source) > limit:
        names = ", ".join(c.id for c in context.content)
        await chat.send_message(_(texts.LINK_USAGE).format(limit=limit, campaigns=escape(names)))
        return
    url = links.start_link(context.bot.username, campaign.id, source)
    await context.storage.audit(user.id, "link", f"{campaign.id}-{source}")
    await chat.send_message(
        _(texts.LINK_REPLY).format(
            campaign=escape(campaign.title), source=escape(source), link=url
        )
    )
    await chat.send_photo(
        InputFile(links.qr_png(url), filename=f"{campaign.id}-{source}.png"),
        caption=_(texts.LINK_CAPTION).format(campaign=escape(campaign.id), source=escape(source)),
    )


async def export(update: Update, context: BotContext) -> None:
    """Send the subscriber list as a CSV document."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    campaign_id = context.args[0] if context.args else None
    if campaign_id is not None and context.content.get(campaign_id) is None:
        await _ask_which(update, context, "export")
        return
    written = await exports.export(context.storage, user.id, campaign_id)
    await chat.send_document(
        InputFile(written.data, filename=written.file_name),
        caption=_(texts.EXPORT_CAPTION).format(count=written.rows),
    )


async def dashboard(update: Update, context: BotContext) -> None:
    """Answer with a button that opens the desk inside Telegram (an inline web_app button:
    a reply-keyboard one would open it without the initData that says who is asking)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    url = context.services.config.desk_url
    if url is None:
        await chat.send_message(_(texts.DASHBOARD_OFF))
        return
    await context.storage.audit(user.id, "dashboard")
    # The menu button too, in the language this came in (placed at start in the one chosen
    # with /language, if any: the bot keeps no other).
    config = context.services.config
    await desk_menu.give_menu_button(context.bot, context.storage, config, user.id)
    button = InlineKeyboardButton(_(texts.DASHBOARD_BUTTON), web_app=WebAppInfo(url))
    await chat.send_message(_(texts.DASHBOARD_OPEN), reply_markup=InlineKeyboardMarkup([[button]]))


async def reload(update: Update, context: BotContext) -> None:
    """Re-read the campaign files; on any problem keep the previous content."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    services = context.services
    try:
        services.content = await campaigns.reload(
            services.storage, context.bot, services.config, user.id, services.follower
        )
    except ContentError as error:
        problems = campaigns.problem_list(error)
        await chat.send_message(_(texts.RELOAD_FAILED).format(problems=problems))
        return
    except Refused as refused:
        await chat.send_message(refused.text)
        return
    summary = render.summary(context.content)
    await chat.send_message(_(texts.RELOADED).format(summary=escape(summary)))


async def refuse(update: Update, context: BotContext) -> None:
    """Refuse an organizer command to someone who may not use it here."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    is_admin = user is not None and user.id in context.services.config.admins
    text = (
        _(texts.ADMIN_PRIVATE_ONLY)
        if is_admin and chat.type != ChatType.PRIVATE
        else _(texts.NOT_ADMIN)
    )
    await chat.send_message(text)
