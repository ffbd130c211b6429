"""The offline console: try the bot in a terminal through the real handlers, with no token."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from telegram import Update

from bot.campaign.content import Content, load_campaigns
from bot.config import Config
from bot.delivery.feed_watch import FeedWatch
from bot.feeds.extract import read_feed
from bot.feeds.fetch import FeedError, looks_like_feed
from bot.handlers.context import BotApplication, Services
from bot.handlers.flood import FloodGuard
from bot.preview.console import to_terminal
from bot.preview.desk import PreviewDesk, listening_socket, serving_desk, url_of
from bot.preview.local_api import LocalBotAPI, LocalRequest
from bot.preview.messages import Upload
from bot.preview.updates import (
    callback_update,
    inline_query_update,
    media_update,
    message_update,
    poll_update,
)
from bot.server.app import build_application, running
from bot.storage import Storage

PREVIEW_USER = 10001
PREVIEW_GROUP = -1001000000001
# Seconds between looks, while nobody types, for what the bot sends on its own: a broadcast
# sent from the desk, a scheduled one going out.
IDLE_LOOK = 0.25

BANNER = """\
solidarity-bot preview: the real bot, offline (no token, no network).
You are Telegram user {user}, an organizer here, in a private chat with the bot.
Type a command (/start, /statement, /subscribe, /broadcast hello, ...), a button's number
to press it, @bot words to see what inline mode offers, :group or :private to switch chats,
:lang ar (or es, en, ...) to set your Telegram app's language, :feed FILE to read a saved RSS
or Atom feed as if it were the first campaign's `feed:`, :quit to leave.
Send the bot a file as you would in Telegram: :photo PATH [caption] (or :video, :animation,
:document, :audio, :voice), :album PATH PATH ... [| caption], :poll Question | A | B; then
:reply /broadcast to answer your last message with a command (to broadcast it); :reply TEXT
also answers a question of the bot's (the corrected text, after Edit in /broadcasts).
A \\n in what you type is a line break (for a broadcast with [ar] or [es] lines).
"""
DESK_BANNER = """\
The organizers' desk (the Mini App a "Dashboard" button opens in Telegram) is served too;
open this address in a browser on this computer (:desk gives a fresh one, to sign in again):
{address}
What you send from it arrives here, once you have subscribed (/subscribe).
"""


@dataclasses.dataclass(frozen=True)
class _Button:
    chat_id: int
    message_id: int
    label: str
    data: str | None
    url: str | None
    web_app: bool = False  # opens a Mini App (the desk), as /dashboard's button does


class Console:
    """Feeds typed lines to the application as updates and prints what the bot sends."""

    def __init__(
        self,
        application: BotApplication,
        api: LocalBotAPI,
        out: TextIO,
        *,
        color: bool,
        desk: PreviewDesk | None = None,
    ) -> None:
        self.application = application
        self.api = api
        self.out = out
        self.color = color
        self.desk = desk
        self.at_prompt = False  # the "> " prompt is shown, waiting for a line
        self.chat_id = PREVIEW_USER
        self.chat_type = "private"
        self.buttons: list[_Button] = []
        self.seen = len(api.calls)
        self.next_message_id = 1
        self.language_code = "en"  # what Telegram says the user's app speaks
        # What :reply answers: the user's last message, or a later question of the bot's.
        self.reply_target: dict[str, Any] | None = None

    async def handle(self, line: str) -> bool:
        """Act on one typed line; return False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        if line == ":group":
            self.chat_id, self.chat_type = PREVIEW_GROUP, "supergroup"
            self.api.member_status[(PREVIEW_GROUP, PREVIEW_USER)] = "administrator"
            self.say("(now in a group chat where you are an admin)")
            return True
        if line == ":private":
            self.chat_id, self.chat_type = PREVIEW_USER, "private"
            self.say("(now in your private chat with the bot)")
            return True
        if line.startswith(":lang"):
            self.language_code = line.partition(" ")[2].strip() or "en"
            self.say(f"(your Telegram app now speaks {self.language_code!r})")
            return True
        if line.startswith(":feed"):
            await self.read_feed(Path(line.partition(" ")[2].strip()))
            return True
        if line == ":desk":
            self.open_desk()
            return True
        if line.startswith(OWN_MESSAGES):
            await self.send_own(line)
            return True
        if line.startswith("@"):  # inline mode: what typing @bot in any chat offers
            query = line.partition(" ")[2]
            await self.feed(
                inline_query_update(query, user_id=PREVIEW_USER, language_code=self.language_code)
            )
        elif line.isdigit():
            await self.press(int(line))
        else:
            self.next_message_id += 1
            update = message_update(
                line.replace("\\n", "\n"),
                user_id=PREVIEW_USER,
                chat_id=self.chat_id,
                chat_type=self.chat_type,
                message_id=self.next_message_id,
                language_code=self.language_code,
            )
            self.reply_target = update["message"]
            await self.feed(update)
            if not line.startswith("/"):
                self.say("(the bot answers commands and buttons, not plain messages)")
        return True

    async def send_own(self, line: str) -> None:
        """Send the bot a file, an album, a poll, or a reply to the last of these, as Telegram
        delivers them (the files are read from disk, as an upload would be)."""
        command, _, rest = line.partition(" ")
        rest = rest.strip().replace("\\n", "\n")
        if command == ":reply":
            if self.reply_target is None:
                self.say("(nothing to reply to yet: send something first)")
                return
            self.next_message_id += 1
            update = message_update(
                rest,
                user_id=PREVIEW_USER,
                message_id=self.next_message_id,
                language_code=self.language_code,
                reply_to=self.reply_target,
            )
            await self.feed(update)
            return
        if self.chat_type != "private":
            self.say("(files and polls go to the bot in your private chat: type :private)")
            return
        if command == ":poll":
            question, *options = [item.strip() for item in rest.split("|")]
            if not question or len(options) < 2:
                self.say("(write :poll Question | first answer | second answer)")
                return
            updates = [poll_update(question, options, user_id=PREVIEW_USER)]
        elif command == ":album":
            paths, _, caption = rest.partition("|")
            updates = self._files(paths.split(), caption.strip(), album=True)
        else:
            path, _, caption = rest.partition(" ")
            updates = self._files([path], caption.strip(), kind=command[1:])
        for update in updates:
            self.next_message_id += 1
            update["message"]["message_id"] = self.next_message_id
            await self.feed(update)
        if updates:
            self.reply_target = updates[0]["message"]
            self.say(f"(sent; now :reply /broadcast to broadcast {command[1:]})")

    def _files(
        self, paths: list[str], caption: str, *, kind: str = "", album: bool = False
    ) -> list[dict[str, Any]]:
        """Return the updates of a user sending these files (an album's items together)."""
        missing = [path for path in paths if not Path(path).is_file()]
        if not paths or missing or (album and not 2 <= len(paths) <= 10):
            self.say(f"(no such file: {', '.join(missing)})" if missing else "(which files?)")
            return []
        group = f"preview-album-{self.next_message_id}" if album else None
        updates = []
        for index, path in enumerate(paths):
            item_kind = kind or ("video" if Path(path).suffix.lower() == ".mp4" else "photo")
            updates.append(
                media_update(
                    item_kind,
                    f"{_OWN_FILE}{Path(path).name}",
                    user_id=PREVIEW_USER,
                    caption=(caption or None) if index == 0 else None,
                    media_group_id=group,
                    language_code=self.language_code,
                )
            )
        return updates

    async def press(self, number: int) -> None:
        """Press the button shown with this number."""
        if not 1 <= number <= len(self.buttons):
            self.say(f"(no button {number})")
            return
        button = self.buttons[number - 1]
        if button.web_app:
            self.open_desk()
            return
        if button.data is None:
            self.say(f"(a link button: it opens {button.url})")
            return
        chat_type = "private" if button.chat_id > 0 else "supergroup"
        update = callback_update(
            button.data,
            user_id=PREVIEW_USER,
            chat_id=button.chat_id,
            chat_type=chat_type,
            message_id=button.message_id,
            language_code=self.language_code,
        )
        await self.feed(update)

    async def read_feed(self, path: Path) -> None:
        """Offer the new posts of a saved feed to the preview organizer, as the watcher would."""
        services: Services = self.application.bot_data["services"]
        campaign = services.content.campaigns[0]
        try:
            data = await asyncio.to_thread(path.read_bytes)
            if not looks_like_feed(data):
                raise FeedError(f"{path} is not an RSS or Atom feed (a page? try `import`)")
            where = await asyncio.to_thread(path.resolve)
            entries = read_feed(data, where.as_uri())
        except (OSError, FeedError) as error:
            self.say(f"(cannot read the feed: {getattr(error, 'strerror', None) or error})")
            return
        watch = FeedWatch(
            self.application.bot,
            services.storage,
            lambda: services.content,
            organizers=frozenset({PREVIEW_USER}),
            interval=0,
            fetch_pages=False,
            zone=services.config.zone,
        )
        first = await services.storage.feed_poll(campaign.id) is None
        # Offline: a post the feed cuts short is drafted from the feed alone (fetch_pages).
        async with aiohttp.ClientSession() as session:
            offered = await watch.take(session, campaign, entries, first=first)
        await services.storage.record_feed_read(campaign.id, str(path), str(path), None, None)
        self.show_new_calls()
        if not offered:
            self.say(f"(no new post in {path} for {campaign.id}: each is offered once)")

    async def feed(self, update: dict[str, Any]) -> None:
        """Process one update through the application, then show what the bot did."""
        self.next_message_id += 1
        update = {"update_id": self.next_message_id, **update}
        await self.application.process_update(Update.de_json(update, self.application.bot))
        await self.settle()
        self.show_new_calls()

    async def settle(self) -> None:
        """Wait for a broadcast (or an edit of one) the last update started to be done."""
        services: Services = self.application.bot_data["services"]
        storage = services.storage
        for _ in range(200):
            if not await storage.sending_broadcasts() and not await storage.running_corrections():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)

    def open_desk(self) -> None:
        """Print the desk's address, signed now for the preview user in the app's language."""
        if self.desk is None:
            self.say("(no desk in this preview: it is served when you type at a terminal)")
            return
        address = self.desk.address(PREVIEW_USER, self.language_code)
        self.say(f"(open the desk in a browser on this computer: {address})")

    def say(self, text: str) -> None:
        """Print a line of the console's own."""
        if self.at_prompt:  # the bot spoke while the prompt waited: below it, not after it
            print(file=self.out)
            self.at_prompt = False
        print(text, file=self.out)

    def show_new_calls(self) -> bool:
        """Print every Bot API call the bot made since the last look; return whether there
        was any."""
        new = self.api.calls[self.seen :]
        for call in new:
            self.show(call.method.lower(), call.params, call.result)
        self.seen += len(new)
        return bool(new)

    def show(self, method: str, params: dict[str, Any], result: Any) -> None:
        """Print one call the way a Telegram user would see its effect."""
        chat = params.get("chat_id")
        where = "" if chat == self.chat_id else f" [to chat {chat}]"
        if method == "sendmessage":
            self.say(f"\n🤖{where}")
            self.say(self.indent(to_terminal(str(params.get("text", "")), color=self.color)))
            self.show_buttons(params, result)
            if "force_reply" in (params.get("reply_markup") or {}) and isinstance(result, dict):
                self.reply_target = result
                self.say("   (it asks for a reply: type :reply and your answer)")
        elif method == "editmessagetext":
            self.say(f"\n🤖 (edited message {params.get('message_id')}){where}")
            self.say(self.indent(to_terminal(str(params.get("text", "")), color=self.color)))
            self.show_buttons(params, result)
        elif method == "editmessagereplymarkup":
            self.say(f"(buttons of message {params.get('message_id')} updated)")
            self.show_buttons(params, result)
        elif method == "answercallbackquery" and params.get("text"):
            self.say(f"💬 {params['text']}")
        elif method == "answerinlinequery":
            results = params.get("results") or []
            self.say(f"\n📋 {len(results)} result(s) to post, as typing @bot shows them:")
            for result in results:
                line = f"   • {result.get('title', '')} — {result.get('description', '')}"
                # A cached photo result is posted as the picture, its words in the caption.
                self.say(
                    line[:110] + (" [with its picture]" if result.get("type") == "photo" else "")
                )
        elif method in _FILES:
            self.say(self.file_line(_FILES[method], params.get(method[4:]), params) + where)
            self.show_buttons(params, result)
        elif method == "sendmediagroup":
            media = params.get("media") or []
            self.say(f"\n🗂 an album of {len(media)}{where}:")
            for item in media:
                label = _FILES.get(f"send{item.get('type')}", "")
                self.say("   " + self.file_line(label, item.get("media"), item).strip())
        elif method == "sendpoll":
            kind = "a quiz" if params.get("type") == "quiz" else "a poll"
            self.say(f"\n📊 {kind}{where}: {params.get('question', '')}")
            for option in params.get("options") or []:
                self.say(f"   ○ {option if isinstance(option, str) else option.get('text')}")
        elif method == "deletemessage":
            self.say(f"(message {params.get('message_id')} deleted){where}")
        elif method == "deletemessages":
            self.say(f"(messages {params.get('message_ids')} deleted for everyone){where}")
        elif method == "editmessagecaption":
            self.say(f"\n🤖 (caption of message {params.get('message_id')} edited){where}")
            self.say(self.indent(to_terminal(str(params.get("caption", "")), color=self.color)))

    def file_line(self, label: str, sent: Any, params: dict[str, Any]) -> str:
        """Return how a file sent shows: "🖼 an image (poster.png): its caption"."""
        caption = to_terminal(str(params.get("caption") or ""), color=self.color)
        return f"\n{label}{self.file_name(sent)}" + (f": {caption}" if caption else "")

    def file_name(self, sent: Any) -> str:
        """Return " (name)" of a file sent, uploaded or by its file id."""
        if isinstance(sent, Upload):
            return f" ({sent.filename})"
        known = self.api.files.get(str(sent)) if sent is not None else None
        if known:
            return f" ({known['file_name']})"
        if isinstance(sent, str) and sent.startswith(_OWN_FILE):  # one the preview user sent
            return f" ({sent.removeprefix(_OWN_FILE)})"
        return ""

    def show_buttons(self, params: dict[str, Any], message: Any) -> None:
        """Number the inline buttons of a message so they can be pressed by typing the number."""
        markup = params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        if not isinstance(message, dict):
            return
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        for row in rows:
            labels = []
            for button in row:
                data, url = button.get("callback_data"), button.get("url")
                web_app = "web_app" in button
                self.buttons.append(
                    _Button(chat_id, message_id, button["text"], data, url, web_app)
                )
                labels.append(f"[{len(self.buttons)}] {button['text']}")
            self.say("   " + "   ".join(labels))

    @staticmethod
    def indent(text: str) -> str:
        """Indent the bot's words under its marker."""
        return "\n".join(f"   {line}" for line in text.splitlines())


OWN_MESSAGES = (
    ":photo",
    ":video",
    ":animation",
    ":document",
    ":audio",
    ":voice",
    ":album",
    ":poll",
    ":reply",
)
_OWN_FILE = "preview-file:"  # the file ids of what the preview user sends, before its name
_FILES = {
    "sendphoto": "🖼 an image",
    "senddocument": "📎 a document",
    "sendvideo": "🎬 a video",
    "sendanimation": "🎞 an animation",
    "sendaudio": "🎵 an audio",
    "sendvoice": "🎤 a voice message",
}


def _read_lines(stdin: TextIO) -> asyncio.Queue[str]:
    """Read input lines in a daemon thread, so Ctrl-C never waits for a line to be typed."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        while True:
            line = stdin.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line)
            if not line:
                return

    threading.Thread(target=read, name="preview-input", daemon=True).start()
    return queue


async def _next_line(lines: asyncio.Queue[str], console: Console, *, prompt: bool) -> str:
    """Return the next input line; while it is awaited, print what the bot sends on its own
    (a broadcast sent from the desk), prompting again after it."""
    while True:
        if prompt and not console.at_prompt:
            print("> ", end="", file=console.out, flush=True)
            console.at_prompt = True
        try:
            async with asyncio.timeout(IDLE_LOOK):
                line = await lines.get()
        except TimeoutError:
            if console.show_new_calls():
                console.out.flush()
            continue
        console.at_prompt = False  # the line typed ended with its own newline
        return line


def _desk_socket(wanted: bool, port: int, out: TextIO) -> socket.socket | None:
    """Return a socket for the desk to listen on, or None (not wanted, or the port is taken:
    the chat works without it)."""
    if not wanted:
        return None
    try:
        return listening_socket(port)
    except (OSError, OverflowError) as error:  # taken, not allowed, or no such port
        number = getattr(error, "errno", None)  # socket words it "... (while attempting ...)"
        reason = os.strerror(number) if number else str(error).rstrip(".")
        print(f"(the desk cannot listen on 127.0.0.1:{port}: {reason}; it is left out)", file=out)
        return None


async def run_preview(
    config: Config,
    content: Content,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    desk: bool | None = None,
    desk_port: int = 0,
) -> None:
    """Run the console until the input ends or the user types :quit; serve the organizers'
    desk on 127.0.0.1:`desk_port` (0: a free port) if `desk`, by default when the input is a
    terminal (piped input is a script: no port, the same output every time)."""
    interactive = stdin.isatty()
    color = stdout.isatty() and "NO_COLOR" not in os.environ
    # A token of this run's own: the desk's initData is signed with it, so only who sees the
    # address printed here can sign in, not anyone on this computer who read this file.
    token = f"0:preview-{secrets.token_urlsafe(24)}"
    listening = _desk_socket(interactive if desk is None else desk, desk_port, stdout)
    desk_url = None if listening is None else url_of(listening)
    # The socket is closed however the preview ends, even before the desk serves on it.
    held = contextlib.nullcontext() if listening is None else contextlib.closing(listening)
    with held, tempfile.TemporaryDirectory(prefix="solidarity-preview-") as scratch:
        # Always a throwaway database: the preview's sender "delivers" to the stand-in, so
        # pointed at a real database it would mark real broadcasts sent.
        storage = await Storage.open(f"sqlite:///{scratch}/preview.db")
        api = LocalBotAPI()
        # A copy of the campaigns: a draft added in the preview is written there, not into
        # the organizer's files. Feeds are read with :feed only: the preview stays offline.
        campaigns = Path(scratch) / "campaigns"
        shutil.copytree(config.campaigns_dir, campaigns)
        content = load_campaigns(campaigns)
        preview_config = dataclasses.replace(
            config,
            admins=config.admins | {PREVIEW_USER},
            campaigns_dir=campaigns,
            feed_interval=0,
            # /dashboard and the menu button open this desk, never one DESK_URL names.
            desk_url=desk_url,
        )
        application = build_application(
            preview_config,
            content,
            storage,
            token=token,
            request=LocalRequest(api),
            sender_options={"flush_interval": 0.05, "idle_poll": 0.2, "progress_interval": 0.0},
            # Piped input arrives faster than any person types: let the one preview user through.
            flood_guard=FloodGuard(burst=10_000),
        )
        try:
            async with running(application), contextlib.AsyncExitStack() as stack:
                served = None
                if listening is not None:
                    await stack.enter_async_context(serving_desk(application, listening))
                    served = PreviewDesk(url_of(listening), token)
                console = Console(application, api, stdout, color=color, desk=served)
                console.say(BANNER.format(user=PREVIEW_USER))
                if served is not None:
                    console.say(DESK_BANNER.format(address=served.address(PREVIEW_USER)))
                lines = _read_lines(stdin)
                while True:
                    line = await _next_line(lines, console, prompt=interactive)
                    if not line:
                        break
                    if not interactive:
                        console.say(f"\n> {line.rstrip()}")
                    if not await console.handle(line):
                        break
        finally:
            await storage.close()
