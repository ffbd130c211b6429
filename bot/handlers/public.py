"""What subscribers and groups ask: commands, buttons, sign-ups, their data, its chats."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from telegram import (
    Chat,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.campaign import links
from bot.campaign.content import Campaign
from bot.campaign.markup import escape
from bot.handlers.context import BotContext
from bot.handlers.menus import (
    actions_markup,
    menu_keyboard,
    show_actions,
    show_archive,
    show_campaigns,
    show_slogans,
    show_statement,
)

# Re-exported: preferences.py ends its answers on the menu, and takes it from here.
from bot.handlers.menus import show_menu as show_menu
from bot.handlers.menus import to_menu as to_menu
from bot.i18n import gettext as _
from bot.schedule import describe_lead

logger = logging.getLogger(__name__)

ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


# Signing up: a chat for the campaign's updates, a person for an action


async def may_manage_chat(
    context: BotContext, chat: Chat, user: User | None, message: Message | None
) -> bool:
    """Tell whether this person may change this chat's subscription (any user, or group admins)."""
    if chat.type == ChatType.PRIVATE:
        return True
    # An anonymous admin writes as the group itself.
    if (
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        logger.warning("could not check admin rights in chat %d", chat.id)
        return False
    return member.status in ADMIN_STATUSES


async def change_subscription(
    update: Update, context: BotContext, campaign: Campaign, *, on: bool
) -> str:
    """Subscribe or unsubscribe the chat the update came from; return the reply.

    Callers check first that the person may (`may_manage_chat`).
    """
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    title = escape(campaign.title)
    storage = context.storage
    if not on:
        changed = await storage.unsubscribe(chat.id, campaign.id)
        return (_(texts.UNSUBSCRIBED) if changed else _(texts.NOT_SUBSCRIBED)).format(title=title)
    private = chat.type == ChatType.PRIVATE
    # The deep link counts only for the campaign it opened, not for one picked later.
    came_from = context.chat_data.get("source") if context.chat_data else None
    source = came_from[1] if came_from and came_from[0] == campaign.id else None
    changed = await storage.subscribe(
        chat.id,
        campaign.id,
        chat_type=chat.type,
        language_code=user.language_code if private and user else None,
        source=source,
    )
    if private:
        template = _(texts.SUBSCRIBED) if changed else _(texts.ALREADY_SUBSCRIBED)
    else:
        template = _(texts.GROUP_SUBSCRIBED) if changed else _(texts.GROUP_ALREADY_SUBSCRIBED)
    return template.format(title=title)


async def pledge_button(update: Update, context: BotContext) -> None:
    """Count the presser in for an action, or take it back; the buttons show it."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and query.data is not None and chat is not None
    _prefix, campaign_key, key = query.data.split(":")
    campaign = context.content.by_key(campaign_key)
    found = (
        None
        if campaign is None
        else next((a for a in campaign.actions if campaign.action_key(a) == key), None)
    )
    if campaign is None or found is None or user is None:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    # The presser pledges, in a group too (the answer is shown to them alone); their reminder
    # comes in their private chat with the bot.
    storage = context.storage
    if await storage.pledge(user.id, campaign.id, key):
        lead = describe_lead(context.services.config.pledge_reminder)
        if found.date is None:
            answer = _(texts.PLEDGED_UNDATED)
        elif chat.type == ChatType.PRIVATE:
            answer = _(texts.PLEDGED).format(lead=lead)
        else:
            answer = _(texts.PLEDGED_IN_GROUP).format(lead=lead)
        await query.answer(answer, show_alert=True)
    else:
        await storage.unpledge(user.id, campaign.id, key)
        await query.answer(_(texts.UNPLEDGED), show_alert=True)
    if query.message is not None:
        with contextlib.suppress(TelegramError):  # "not modified" if pressed twice at once
            await context.bot.edit_message_reply_markup(
                chat.id,
                query.message.message_id,
                reply_markup=await actions_markup(context, chat, campaign),
            )


# Their data


async def show_mydata(update: Update, context: BotContext) -> None:
    """Send everything stored about the person asking, with a button to erase it."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if chat.type != ChatType.PRIVATE:
        await chat.send_message(_(texts.PRIVATE_ONLY))
        return
    about = await context.storage.stored_about(user.id)
    if not (
        about.subscriptions
        or about.deliveries
        or about.audit_entries
        or about.broadcasts_created
        or about.pledges
        or about.feed_decisions
        or about.broadcasts_approved
        or about.corrections
        or about.language
    ):
        await chat.send_message(_(texts.MYDATA_NONE) + "\n" + _(texts.MYDATA_PRIVACY))
        return
    lines = [_(texts.MYDATA_TITLE).format(user_id=user.id)]
    for row in about.subscriptions:
        lines.append(
            _(texts.MYDATA_LINE).format(
                campaign=escape(row.campaign_id),
                status=row.status,
                chat_type=row.chat_type,
                language=escape(row.language_code or _(texts.MYDATA_NOT_STORED)),
                topics=escape(", ".join(sorted(row.topics)))
                if row.topics is not None
                else _(texts.MYDATA_ALL_TOPICS),
                source=escape(row.source) if row.source else _(texts.STATS_NO_SOURCE),
                subscribed=f"{row.subscribed_at:%Y-%m-%d %H:%M} UTC",
                updated=f"{row.updated_at:%Y-%m-%d %H:%M} UTC",
            )
        )
    if about.deliveries:
        lines.append(_(texts.MYDATA_DELIVERIES).format(count=about.deliveries))
    if about.audit_entries:
        lines.append(_(texts.MYDATA_AUDIT).format(count=about.audit_entries))
    if about.broadcasts_created:
        lines.append(_(texts.MYDATA_BROADCASTS).format(count=about.broadcasts_created))
    if about.broadcasts_approved:
        lines.append(_(texts.MYDATA_APPROVED).format(count=about.broadcasts_approved))
    if about.pledges:
        lines.append(_(texts.MYDATA_PLEDGES).format(count=about.pledges))
    if about.feed_decisions:
        lines.append(_(texts.MYDATA_FEED_DECISIONS).format(count=about.feed_decisions))
    if about.corrections:
        lines.append(_(texts.MYDATA_CORRECTIONS).format(count=about.corrections))
    if about.language:
        lines.append(_(texts.MYDATA_LANGUAGE).format(language=escape(about.language)))
    lines.append(_(texts.MYDATA_FOOTER))
    lines.append(_(texts.MYDATA_PRIVACY))
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(texts.BUTTON_FORGET), callback_data="forget")]]
    )
    await chat.send_message("\n".join(lines), reply_markup=markup)


async def privacy(update: Update, context: BotContext) -> None:
    """Say, in plain words, what is kept, for how long, and who could see it."""
    chat = update.effective_chat
    assert chat is not None
    config = context.services.config
    await chat.send_message(
        _(texts.PRIVACY).format(
            deliveries=describe_lead(config.delivery_retention),
            ended=describe_lead(config.subscription_retention),
            sealed=_(texts.PRIVACY_SEALED) if config.id_key else "",
        )
    )


async def ask_forget(update: Update, context: BotContext) -> None:
    """Ask the person to confirm erasing their data."""
    chat = update.effective_chat
    assert chat is not None
    if chat.type != ChatType.PRIVATE:
        await chat.send_message(_(texts.PRIVATE_ONLY))
        return
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_(texts.BUTTON_FORGET_YES), callback_data="forget:yes")],
            [InlineKeyboardButton(_(texts.BUTTON_CANCEL), callback_data="forget:no")],
        ]
    )
    await chat.send_message(_(texts.FORGET_CONFIRM), reply_markup=markup)


# Commands


async def start(update: Update, context: BotContext) -> None:
    """Welcome, open the campaign named by the deep link, or offer a choice of campaigns."""
    chat = update.effective_chat
    assert chat is not None
    payload = context.args[0] if context.args else ""
    found = links.parse_payload(payload, context.content) if payload else None
    linked, source = found if found else (None, None)
    note = ""
    if payload and linked is None:
        note = _(texts.UNKNOWN_CAMPAIGN).format(
            payload=escape(payload[:64]), title=escape(context.campaign().title)
        )
    undecided = len(context.content) > 1 and not (
        context.chat_data and "campaign" in context.chat_data
    )
    campaign = linked or (None if undecided and not payload else context.campaign())
    # Starting the bot again after blocking it resumes what the block had stopped.
    subscribed = await context.storage.started(
        chat.id, campaign.id if campaign else None, unblock=chat.type == ChatType.PRIVATE
    )
    if campaign is None:
        await show_campaigns(update, context)
        return
    if linked is not None and context.chat_data is not None:
        context.chat_data["source"] = (linked.id, source)
    await show_menu(update, context, campaign, note, subscribed)


async def help_command(update: Update, context: BotContext) -> None:
    """Explain the commands and what is stored."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    text = _(texts.HELP)
    if (
        user is not None
        and user.id in context.services.config.admins
        and chat.type == ChatType.PRIVATE
    ):
        text += _(texts.HELP_ADMIN)
    await chat.send_message(text)


async def statement(update: Update, context: BotContext) -> None:
    """Send the latest statement."""
    await show_statement(update, context, context.campaign())


async def statements(update: Update, context: BotContext) -> None:
    """Send the list of statements."""
    await show_archive(update, context, context.campaign())


async def slogans(update: Update, context: BotContext) -> None:
    """Send the slogans."""
    await show_slogans(update, context, context.campaign())


async def actions(update: Update, context: BotContext) -> None:
    """Send the action items."""
    await show_actions(update, context, context.campaign())


async def campaigns(update: Update, context: BotContext) -> None:
    """Send the list of campaigns."""
    await show_campaigns(update, context)


async def _subscription_command(update: Update, context: BotContext, *, on: bool) -> None:
    chat = update.effective_chat
    assert chat is not None
    if await may_manage_chat(context, chat, update.effective_user, update.message):
        reply = await change_subscription(update, context, context.campaign(), on=on)
    else:
        reply = _(texts.GROUP_ADMINS_ONLY)
    await chat.send_message(reply)


async def subscribe(update: Update, context: BotContext) -> None:
    """Sign the chat up for updates."""
    await _subscription_command(update, context, on=True)


async def unsubscribe(update: Update, context: BotContext) -> None:
    """Stop the chat's updates."""
    await _subscription_command(update, context, on=False)


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer a command the bot does not know."""
    assert update.effective_chat is not None
    await update.effective_chat.send_message(_(texts.UNKNOWN_COMMAND))


# Buttons

_SHOW: dict[str, Callable[[Update, BotContext, Campaign], Awaitable[None]]] = {
    "st": show_statement,
    "sl": show_slogans,
    "ac": show_actions,
    "ar": show_archive,
    "menu": show_menu,
    "pick": show_menu,
}


async def menu_button(update: Update, context: BotContext) -> None:
    """Answer a press on a campaign menu button."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    action, _sep, key = query.data.partition(":")
    index = 0
    if action == "old":
        number, _sep, key = key.partition(":")
        index = int(number)
    campaign = context.content.by_key(key)
    chat = update.effective_chat
    if campaign is None or chat is None:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    if action in ("sub", "uns"):
        await subscription_button(update, context, campaign, on=action == "sub")
        return
    await query.answer()
    context.choose(campaign)
    if action == "old":
        await show_statement(update, context, campaign, index)
    else:
        await _SHOW[action](update, context, campaign)


async def subscription_button(
    update: Update, context: BotContext, campaign: Campaign, *, on: bool
) -> None:
    """Subscribe or unsubscribe from the menu, and turn the button over."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None
    assert chat is not None
    if not await may_manage_chat(context, chat, update.effective_user, None):
        # An alert for the presser alone: the group is not told each time someone tries.
        await query.answer(_(texts.GROUP_ADMINS_ONLY), show_alert=True)
        return
    await query.answer()
    context.choose(campaign)
    await chat.send_message(await change_subscription(update, context, campaign, on=on))
    subscribed = await context.storage.is_subscribed(chat.id, campaign.id)
    markup = menu_keyboard(context, campaign, subscribed=subscribed, chat_type=chat.type)
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(markup)
        except TelegramError:
            logger.debug("menu keyboard in chat %d not updated", chat.id)


async def other_button(update: Update, context: BotContext) -> None:
    """Answer the help, campaigns, my-data and erase buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    if query.data == "help":
        await help_command(update, context)
    elif query.data == "campaigns":
        await show_campaigns(update, context)
    elif query.data == "mydata":
        await show_mydata(update, context)
    elif query.data == "forget":
        await ask_forget(update, context)


async def forget_button(update: Update, context: BotContext) -> None:
    """Erase the presser's data after they confirmed, in their private chat only."""
    query = update.callback_query
    chat, user = update.effective_chat, update.effective_user
    assert query is not None and chat is not None and user is not None
    await query.answer()
    # The confirmation acts only for the person whose private chat it is.
    if chat.type != ChatType.PRIVATE or chat.id != user.id:
        await chat.send_message(_(texts.PRIVATE_ONLY))
        return
    if query.data == "forget:yes":
        count = await context.storage.forget(user.id)
        context.services.languages.forget(user.id)
        if context.chat_data is not None:
            context.chat_data.clear()
        text = _(texts.FORGOTTEN).format(count=count)
    else:
        text = _(texts.FORGET_CANCELLED)
    if isinstance(query.message, Message):
        await query.message.edit_text(text)
    else:
        await chat.send_message(text)


async def expired_button(update: Update, context: BotContext) -> None:
    """Answer a press whose data this bot does not recognise (old or forged)."""
    query = update.callback_query
    assert query is not None
    await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)


# Membership and groups


async def membership_changed(update: Update, context: BotContext) -> None:
    """Stop sending where the bot was blocked or removed; resume where it was unblocked."""
    change = update.my_chat_member
    assert change is not None
    chat = change.chat
    status = change.new_chat_member.status
    storage = context.storage
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        if chat.type == ChatType.PRIVATE:
            await storage.mark_blocked(chat.id)
        else:
            await storage.mark_left(chat.id)
        # A person's id stays out of the logs (docs/privacy.md); a group's may be needed.
        where = "a private chat" if chat.type == ChatType.PRIVATE else f"chat {chat.id}"
        logger.info("bot membership in %s is now %s", where, status)
    elif chat.type == ChatType.PRIVATE and status == ChatMember.MEMBER:
        await storage.unblock(chat.id)
    elif _added_by_outsider(change, context):
        # GROUP_POLICY=organizers: say why (where the bot may write), then leave.
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat.id, _(texts.GROUP_NOT_ALLOWED))
        await context.bot.leave_chat(chat.id)
        await storage.mark_left(chat.id)
        logger.warning("left chat %d: a non-organizer added the bot (GROUP_POLICY)", chat.id)


def _added_by_outsider(change: ChatMemberUpdated, context: BotContext) -> bool:
    """Tell whether the bot was just added to a group or channel by someone not allowed to."""
    if context.services.config.group_policy != "organizers":
        return False
    joined = change.old_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED) and (
        change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR)
    )
    return joined and change.from_user.id not in context.services.config.admins


async def group_migrated(update: Update, context: BotContext) -> None:
    """Move a group's subscription to its new supergroup id."""
    message = update.effective_message
    assert message is not None
    # Telegram sends both halves (to, in the old group; from, in the new): either suffices.
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await context.storage.migrate_chat(old, new)
    context.services.languages.moved(old, new)
    logger.info("chat %d migrated to %d", old, new)


# Flood control


async def guard_flood(update: Update, context: BotContext) -> None:
    """Drop updates from a user sending too fast, warning them once."""
    # Ids and kinds only: the update's text and the sender's names stay out of logs.
    chat_id = update.effective_chat.id if update.effective_chat else None
    logger.debug("update %d in chat %s", update.update_id, chat_id)
    message = update.message
    is_command = message is not None and (message.text or "").startswith("/")
    if not (is_command or update.callback_query is not None):
        return  # people talking in a group are not talking to the bot
    # Anonymous admins all write as one shared user id; their group is who they are.
    sender = message.sender_chat if message is not None and message.sender_chat else None
    who = sender.id if sender else (update.effective_user.id if update.effective_user else None)
    if who is None:
        return
    allowed, warn = context.services.flood_guard.allow(who, time.monotonic())
    if allowed:
        return
    if update.callback_query is not None:
        await update.callback_query.answer(_(texts.SLOW_DOWN))
    elif warn and update.effective_chat is not None:
        await update.effective_chat.send_message(_(texts.SLOW_DOWN))
    raise ApplicationHandlerStop
