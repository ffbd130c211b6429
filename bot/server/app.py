"""The composition root: the one place where the Application is built and wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import i18n, texts
from bot.campaign.content import Content
from bot.config import Config
from bot.delivery import channels
from bot.delivery.corrections import Corrector
from bot.delivery.feed_watch import FeedWatch
from bot.delivery.http import AiohttpRequest
from bot.delivery.pacing import PacedRequest, Pacer
from bot.delivery.paid_answers import PaidAllowance
from bot.delivery.reminders import Reminders
from bot.delivery.sender import Sender
from bot.handlers import admin, approvals, corrections, drafts, inline, preferences, public
from bot.handlers.context import BotApplication, BotContext, Services
from bot.handlers.flood import FloodGuard
from bot.i18n import gettext as _
from bot.organizing.desk_menu import place_menu_buttons
from bot.server import updates
from bot.server.forgetter import Forgetter
from bot.server.intake import (
    IN_FLIGHT,
    PAID_IN_FLIGHT,
    Dispatcher,
    Intake,
    watch_backlog,
    watch_queues,
)
from bot.storage import Periods, Storage
from bot.storage.leader import sender_lock

logger = logging.getLogger(__name__)

PUBLIC = {
    "start": public.start,
    "help": public.help_command,
    "statement": public.statement,
    "statements": public.statements,
    "slogans": public.slogans,
    "actions": public.actions,
    "campaigns": public.campaigns,
    "subscribe": public.subscribe,
    "unsubscribe": public.unsubscribe,
    "language": preferences.language_command,
    "topics": preferences.topics_command,
    "mydata": public.show_mydata,
    "forget": public.ask_forget,
    "privacy": public.privacy,
}
ORGANIZER = {
    "broadcast": admin.broadcast,
    "announce": admin.announce,
    "broadcasts": admin.list_broadcasts,
    "stats": admin.stats,
    "export": admin.export,
    "link": admin.link,
    "reload": admin.reload,
    "dashboard": admin.dashboard,
}


class PacedApplication(BotApplication):
    """The Application, telling the pacer when it stops: retries and pauses end at once, so a
    Telegram outage cannot hold a shutdown (python-telegram-bot waits for every handler)."""

    async def start(self) -> None:
        """Start, with the pacer waiting and retrying as usual."""
        self.bot_data["services"].pacer.resume()
        await super().start()

    async def stop(self) -> None:
        """Stop, with no send waiting on a pause or a retry any more."""
        self.bot_data["services"].pacer.stop()
        await super().stop()


class PerChatOrder(BaseUpdateProcessor):
    """Process updates concurrently across chats, but one at a time, in order, within a chat."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates * 64)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        # Weak values: a chat's lock lives while an update of that chat holds or awaits it.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers after the earlier updates of its chat, in a free slot.

        The chat's turn comes first, a slot second: an update waiting behind its own chat's
        must not hold a slot another chat could use. (PTB's own limit, taken before this is
        called, is set far higher, so it never binds.)
        """
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.get(chat.id)
        if lock is None:
            lock = self._locks[chat.id] = asyncio.Lock()
        async with lock, self._slots:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def build_application(
    config: Config,
    content: Content,
    storage: Storage,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    sender_options: dict[str, Any] | None = None,
    flood_guard: FloodGuard | None = None,
    pacer: Pacer | None = None,
    feed_options: dict[str, Any] | None = None,
) -> BotApplication:
    """Build the bot: handlers, shared services, start-up and shutdown hooks.

    Everything the bot sends goes through one transport and one `pacer` (Telegram's limits).
    """
    builder = (
        ApplicationBuilder()
        .application_class(PacedApplication)
        .token(token or config.require_token())
        .base_url(f"{config.api_url}/bot")
        .base_file_url(f"{config.api_url}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(PerChatOrder(16))
        .post_init(start_services)
        .post_stop(stop_services)
    )
    options = {"paid": config.paid_broadcasts, **(sender_options or {})}
    pacer = pacer or Pacer()
    if config.paid_answers_after is not None:  # set only with PAID_BROADCASTS
        pacer.paid_after = config.paid_answers_after
        pacer.paid_budget = PaidAllowance(storage, config.paid_answers_per_day)
    builder = builder.request(PacedRequest(request or AiohttpRequest(256), pacer))
    builder = builder.get_updates_request(updates.SkipUnparsable(request or AiohttpRequest(1)))
    application: BotApplication = builder.build()
    application.bot_data["services"] = Services(
        config=config,
        content=content,
        storage=storage,
        flood_guard=flood_guard or FloodGuard(),
        sender_options=options,
        pacer=pacer,
        feed_options=feed_options or {},
    )
    _add_handlers(application, config)
    application.add_error_handler(_on_error)
    return application


def _add_handlers(application: BotApplication, config: Config) -> None:
    # Group -3 counts the update (and stops the empty stand-in of one that could not be
    # parsed), group -2 finds the language to answer in (from memory: no query), group -1
    # stops a flooding user's update (telling them in that language), and group 0 answers.
    application.add_handler(TypeHandler(Update, updates.count_update), group=-3)
    application.add_handler(TypeHandler(Update, preferences.speak_their_language), group=-2)
    application.add_handler(TypeHandler(Update, public.guard_flood), group=-1)

    # New messages only: editing an old /subscribe or /broadcast must not run it again.
    new = filters.UpdateType.MESSAGE
    organizer = filters.User(user_id=config.admins) & filters.ChatType.PRIVATE & new
    # Public commands first: they are most of the traffic, and handlers are tried in order.
    for name, callback in PUBLIC.items():
        application.add_handler(CommandHandler(name, callback, filters=new))
    for name, callback in ORGANIZER.items():
        application.add_handler(CommandHandler(name, callback, filters=organizer))
        application.add_handler(CommandHandler(name, admin.refuse, filters=new))

    application.add_handler(
        CallbackQueryHandler(admin.confirm_button, pattern=r"^bc:(send|cancel):\d{1,12}$")
    )
    application.add_handler(CallbackQueryHandler(admin.test_button, pattern=r"^bc:test:\d{1,12}$"))
    application.add_handler(
        CallbackQueryHandler(approvals.approval_button, pattern=r"^ap:(yes|no):\d{1,12}$")
    )
    application.add_handler(
        CallbackQueryHandler(
            corrections.correction_approval_button, pattern=r"^ax:(yes|no):\d{1,12}$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(admin.stop_button_pressed, pattern=r"^bc:(stop|halt|keep):\d{1,12}$")
    )
    # Edits and retractions of sent broadcasts: the presser is checked at every press, and the
    # corrected text comes as a reply to the bot's question (bot/handlers/corrections.py).
    application.add_handler(
        CallbackQueryHandler(
            corrections.correction_button, pattern=r"^fx:(edit|del|apply|cancel|yes|no):\d{1,12}$"
        )
    )
    application.add_handler(
        MessageHandler(
            organizer & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            corrections.correction_reply,
        )
    )
    # Organizers' drafts from campaign feeds. A CallbackQueryHandler takes no filters: the
    # handler checks the presser against BOT_ADMINS at every press, as confirm_button does.
    application.add_handler(
        CallbackQueryHandler(drafts.draft_button, pattern=r"^fd:(add|ann|ign):\d{1,12}$")
    )
    application.add_handler(
        CallbackQueryHandler(
            public.menu_button, pattern=r"^(st|sl|ac|ar|menu|pick|sub|uns):[0-9a-f]{10}$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(public.menu_button, pattern=r"^old:\d{1,3}:[0-9a-f]{10}$")
    )
    application.add_handler(
        CallbackQueryHandler(public.forget_button, pattern=r"^forget:(yes|no)$")
    )
    application.add_handler(
        CallbackQueryHandler(public.pledge_button, pattern=r"^pl:[0-9a-f]{10}:[0-9a-f]{10}$")
    )
    application.add_handler(
        CallbackQueryHandler(
            preferences.language_button, pattern=r"^lang:(auto|[a-z]{2,3}(-[a-z0-9]{2,8})*)$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(preferences.language_command, pattern=r"^language$")
    )
    application.add_handler(
        CallbackQueryHandler(
            preferences.topics_button, pattern=r"^tp:[0-9a-f]{10}:([a-z0-9_-]{0,32}|\*)$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(public.other_button, pattern=r"^(help|campaigns|mydata|forget)$")
    )
    application.add_handler(CallbackQueryHandler(public.expired_button))
    # An organizer's album arrives as one message per item: each is remembered (after the
    # answers of group 0), so that a /broadcast replying to one item sends them all.
    application.add_handler(
        MessageHandler(organizer & filters.ATTACHMENT, admin.remember_album_item), group=1
    )

    application.add_handler(InlineQueryHandler(inline.answer))
    application.add_handler(
        ChatMemberHandler(public.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, public.group_migrated))
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & new, public.unknown_command)
    )


async def start_services(application: BotApplication) -> None:
    """Publish the command menus and start sending broadcasts once this process may.

    The database's schema is already checked: by `run` before it builds the application, by
    `Storage.open` for the preview and the tests.
    """
    services: Services = application.bot_data["services"]
    published = await services.follower.start()  # newer than the folder: served instead
    services.content = published or services.content
    await channels.sync(application.bot, services.storage, services.content)
    await services.languages.load()
    if services.storage.engine.dialect.name == "postgresql":
        await _share_pace(services)
    services.languages_task = asyncio.create_task(
        services.languages.keep_loading(), name="languages"
    )

    def serve(content: Content) -> None:
        services.content = content

    services.content_task = asyncio.create_task(
        services.follower.watch(serve), name="published content"
    )
    await publish_commands(application, services.config)
    await place_menu_buttons(application.bot, services.storage, services.config)
    services.sender_task = asyncio.create_task(_send_while_elected(application), name="sender")
    services.sender_task.add_done_callback(_sender_stopped)
    _start_answering(application)


BACKLOG_WATCH_EVERY = 10.0  # seconds between readings of the backlogs for /metrics


def _start_answering(application: BotApplication) -> None:
    """Start answering the inbox's updates, and showing its queues in /metrics."""
    services: Services = application.bot_data["services"]
    shared = services.storage.dialect == "postgresql"  # other processes may fill the inbox
    paid = services.config.paid_answers_after is not None
    dispatcher = Dispatcher(
        application,
        services.storage,
        in_flight=PAID_IN_FLIGHT if paid else IN_FLIGHT,
        idle=0.5 if shared else 2.0,
        # SQLite, or polling (Telegram hands updates to one poller): no other process answers.
        alone=not shared or services.config.webhook is None,
    )
    application.bot_data["intake"] = Intake(
        services.storage, dispatcher, services.config.admins, services.config.update_backlog
    )
    watch_queues(services.pacer)
    application.bot_data["intake_tasks"] = [
        asyncio.create_task(dispatcher.run(), name="answering"),
        asyncio.create_task(
            watch_backlog(application, services.storage, BACKLOG_WATCH_EVERY), name="backlog"
        ),
    ]


def intake_of(application: BotApplication) -> Intake:
    """Return the running application's intake (where arriving updates are kept)."""
    intake: Intake = application.bot_data["intake"]
    return intake


async def _share_pace(services: Services) -> None:
    """Book Telegram's overall limit in PostgreSQL: several processes may serve this bot."""
    try:
        await services.pacer.share(services.storage.engine).start()
    except (OSError, SQLAlchemyError) as error:  # e.g. no right to create a table
        services.pacer.shared = None
        cause = getattr(error, "orig", None) or error
        logger.warning(
            "cannot set up the shared send pace (%s: %s); this process paces alone",
            type(cause).__name__,
            str(cause).splitlines()[0][:200],
        )


SENDER_RESTART_DELAY = 5.0


def _forgetter(services: Services) -> Forgetter:
    config = services.config
    periods = Periods(
        deliveries=config.delivery_retention,
        subscriptions=config.subscription_retention,
        audit=config.audit_retention,
    )
    return Forgetter(services.storage, lambda: services.content, periods, zone=config.zone)


async def _send_while_elected(application: BotApplication) -> None:
    """Hold the sender lock and send until cancelled; start again if either is lost."""
    services: Services = application.bot_data["services"]
    lock = sender_lock(services.storage.engine)
    while True:
        await lock.acquire()
        logger.info("this process sends the broadcasts")
        services.sender = Sender(
            application.bot,
            services.storage,
            pacer=services.pacer,
            organizers=services.config.admins,
            **services.sender_options,
        )
        sending = asyncio.create_task(services.sender.run(), name="sending")
        reminding = asyncio.create_task(
            Reminders(
                application.bot,
                services.storage,
                lambda: services.content,
                lead=services.config.pledge_reminder,
                zone=services.config.zone,
                pacer=services.pacer,
            ).run(),
            name="reminders",
        )
        services.corrector = Corrector(
            application.bot,
            services.storage,
            pacer=services.pacer,
            sender=services.sender,
            **_corrector_options(services.sender_options),
        )
        correcting = asyncio.create_task(services.corrector.run(), name="corrections")
        forgetting = asyncio.create_task(_forgetter(services).run(), name="retention")
        helpers = [reminding, correcting, forgetting]
        if services.config.feed_interval > 0:
            helpers.append(asyncio.create_task(_watch_feeds(application).run(), name="feeds"))
        lost = asyncio.create_task(lock.lost(), name="sender-lock")
        try:
            await asyncio.wait((sending, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            services.sender = services.corrector = None
            lost.cancel()
            for helper in helpers:
                helper.cancel()
            sending.cancel()
            await asyncio.wait((sending, *helpers))  # the sender stores what it knows
            await lock.release()
        if not sending.cancelled() and (error := sending.exception()) is not None:
            # The database went away mid-send, or a bug: either way broadcasts must not
            # wait for a restart. Start again shortly (another process may take over).
            if isinstance(error, SQLAlchemyError | OSError):
                logger.error("the sender lost its database (%s)", type(error).__name__)
            else:
                logger.error("the sender stopped on an unexpected error", exc_info=error)
            await asyncio.sleep(SENDER_RESTART_DELAY)
            continue
        logger.warning("lost the sender lock (database connection); another process may send")


def _corrector_options(sender_options: dict[str, Any]) -> dict[str, Any]:
    """Return the sender's options the correction worker shares (its pace, its reports)."""
    shared = ("progress_interval", "idle_poll", "max_in_flight")
    return {name: value for name, value in sender_options.items() if name in shared}


def _watch_feeds(application: BotApplication) -> FeedWatch:
    """Return the watcher of the campaigns' feeds, for the process that sends."""
    services: Services = application.bot_data["services"]
    return FeedWatch(
        application.bot,
        services.storage,
        lambda: services.content,
        organizers=services.config.admins,
        interval=services.config.feed_interval,
        language_of=services.languages.of,
        zone=services.config.zone,
        **services.feed_options,
    )


def _sender_stopped(task: asyncio.Task[None]) -> None:
    """Log loudly if the sender ended by itself: broadcasts wait until a restart."""
    if not task.cancelled() and task.exception() is not None:
        logger.critical(
            "the broadcast sender stopped; broadcasts resume after a restart",
            exc_info=task.exception(),
        )


async def stop_services(application: BotApplication) -> None:
    """Stop the sender, letting it store what it knows, and the language re-reading."""
    services: Services = application.bot_data["services"]
    tasks = application.bot_data.pop("intake_tasks", [])
    for task in (*tasks, services.sender_task, services.languages_task, services.content_task):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    services.sender_task = services.languages_task = services.content_task = None
    services.follower.close()
    await services.pacer.close()
    if isinstance(services.pacer.paid_budget, PaidAllowance):
        await services.pacer.paid_budget.close()


@contextlib.asynccontextmanager
async def running(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Run the application without polling (the preview and tests feed it updates)."""
    try:
        await application.initialize()
    except Exception:
        # PTB shuts down only an application that was initialized: close the HTTP sessions
        # of one that could not be (Telegram out of reach at start), or aiohttp complains.
        await application.bot.shutdown()
        raise
    async with application:
        await start_services(application)
        await application.start()
        try:
            yield application
        finally:
            await application.stop()
            await stop_services(application)


async def publish_commands(application: BotApplication, config: Config) -> None:
    """Set the command menu, in each interface language: public commands for all, organizer
    ones in each admin's chat."""
    bot = application.bot
    for language in i18n.interface_languages():
        # Telegram shows the menu set for the user's app language, else the one set without.
        code = None if language == i18n.SOURCE_LANGUAGE else language
        public = [BotCommand(n, i18n.translate(d, language)) for n, d in texts.PUBLIC_COMMANDS]
        organizer = public + [
            BotCommand(n, i18n.translate(d, language)) for n, d in texts.ADMIN_COMMANDS
        ]
        try:
            await bot.set_my_commands(public, scope=BotCommandScopeDefault(), language_code=code)
        except TelegramError as error:
            logger.warning("could not publish the command list: %s", error.message)
        for admin_id in sorted(config.admins):
            try:
                await bot.set_my_commands(
                    organizer, scope=BotCommandScopeChat(admin_id), language_code=code
                )
            except TelegramError as error:
                # Telegram refuses a chat scope until that admin has started the bot once.
                logger.warning(
                    "organizer commands not set for admin %d: %s", admin_id, error.message
                )


async def _on_error(update: object, context: BotContext) -> None:
    """Log an unexpected error by update id only, and tell the user something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, SQLAlchemyError | OSError):
        # The database is away (or refusing): one line, not a traceback per update, and a
        # reply saying that nothing was saved, so nobody believes they signed up.
        cause = getattr(error, "orig", None) or error
        logger.error("database unavailable for update %s: %s", update_id, type(cause).__name__)
        reply = _(texts.STORAGE_DOWN)
    else:
        logger.error("error while handling update %s", update_id, exc_info=error)
        reply = _(texts.ERROR)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(reply, show_alert=True)
        elif update.effective_chat is not None and update.effective_message is not None:
            await update.effective_chat.send_message(reply)
    except TelegramError:
        pass
