"""An in-process stand-in for the Telegram Bot API, for the offline preview and the tests.

LocalBotAPI answers in memory: its chats, faults, updates and settings here, its messages in
bot/preview/messages.py; Telegram's refusals are in refusals.py, the updates it delivers are
built by updates.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.preview.messages import MessageMethods, Upload
from bot.preview.refusals import ApiError
from bot.preview.telegram_objects import BOT_ID, BOT_USERNAME, bot_dict, member_dict, user_dict

# Free-text parameters: over HTTP every value is a string, and "007" or "[1]" must stay text.
_TEXT_PARAMS = frozenset(
    {"text", "caption", "callback_query_id", "parse_mode", "action", "url"}
    | {"question", "explanation"}
)
_SEND_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendvideo",
        "sendanimation",
        "sendaudio",
        "sendvoice",
        "sendmediagroup",
        "sendpoll",
        "editmessagetext",
    }
)


@dataclass(frozen=True)
class Call:
    """One Bot API call the bot made, with its decoded parameters and what it returned."""

    method: str
    params: dict[str, Any]
    result: Any = None
    error: int | None = None  # the error code, when the call was refused
    at: float = field(default_factory=time.monotonic)


def decode_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Decode form values as Telegram does: numbers, booleans and JSON objects; text stays text."""
    decoded = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and key not in _TEXT_PARAMS:
            with contextlib.suppress(ValueError):
                parsed = json.loads(value)
                if not isinstance(parsed, str):
                    decoded[key] = parsed
    return decoded


def _public(value: Any) -> Any:
    """Return a copy fit for JSON: without the uploaded bytes kept for inspection."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not isinstance(v, bytes)}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


class LocalBotAPI(MessageMethods):
    """The Bot API methods the bot calls, answered in memory, with faults to inject.

    Sent texts are stored as the bot sent them, HTML tags included, so tests can assert on them.
    """

    def __init__(self, bot_id: int = BOT_ID, bot_username: str = BOT_USERNAME) -> None:
        self.bot = bot_dict(bot_id, bot_username)
        self.calls: list[Call] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # by scope_key(scope)
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}  # by chat (None: default)
        self.member_status: dict[tuple[int, int], str] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.bad_request: dict[int, str] = {}
        self.usernames: dict[str, int] = {}  # "@name" of public chats getChat can find
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set
        self.inline_answers: dict[str, dict[str, Any]] = {}  # by inline query id
        # The file ids handed out for uploads, with what each is; and ids Telegram lost.
        self.files: dict[str, dict[str, Any]] = {}
        self.lost_files: set[str] = set()
        # A long poll answers after at most this many seconds, so a stopping bot is not kept.
        self.poll_cap = 1.0
        self._failures: list[tuple[int | None, ApiError]] = []
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._arrived = asyncio.Event()

    # Faults and inspection

    def fail_next(
        self,
        code: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` send calls (to `chat_id`, or to any chat) fail this way."""
        error = ApiError(code, description, parameters)
        self._failures.extend((chat_id, error) for _ in range(times))

    def lose_files(self) -> None:
        """Make every file id handed out so far refused, as Telegram refuses one it dropped."""
        self.lost_files.update(self.files)
        self.files.clear()

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the messages (documents included) sent to a chat, in order, edits applied."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        """Return the texts (or captions) sent to a chat, in order."""
        return [m.get("text", m.get("caption", "")) for m in self.sent_to(chat_id)]

    def calls_to(self, method: str) -> list[Call]:
        """Return the calls of one method, in order."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    # Updates

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an incoming update for getUpdates and remember its chats; return its id."""
        update_id = next(self._update_ids)
        self.register_chats(update)
        self._updates.append({**update, "update_id": update_id})
        self._arrived.set()
        return update_id

    def register_chats(self, value: Any) -> None:
        """Remember every chat an update mentions, so replies carry its type and title."""
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("chat", "sender_chat") and isinstance(item, dict):
                    self.chats[item["id"]] = item
                self.register_chats(item)

    async def wait_for_updates(self, seconds: float, offset: int = 0) -> None:
        """Return when an update with an id >= `offset` is queued, or after `seconds`."""
        while not any(u["update_id"] >= offset for u in self._updates):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), seconds)
            except TimeoutError:
                return

    # Calls

    async def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """Answer one Bot API method as Telegram would, or raise ApiError."""
        name, decoded = method.lower(), decode_params(params)
        handler = getattr(self, f"_{name}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if name == "getupdates":
                timeout = min(float(decoded.get("timeout", 0)), self.poll_cap)
                await self.wait_for_updates(timeout, int(decoded.get("offset", 0)))
            if name in _SEND_METHODS:
                self._check_faults(int(decoded["chat_id"]))
            result = _public(handler(decoded))
        except ApiError as error:
            self.calls.append(Call(method, decoded, error=error.code))
            raise
        self.calls.append(Call(method, decoded, result))
        return result

    def _check_faults(self, chat_id: int) -> None:
        for index, (target, error) in enumerate(self._failures):
            if target in (None, chat_id):
                del self._failures[index]
                raise error
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.bad_request:
            raise ApiError(400, f"Bad Request: {self.bad_request[chat_id]}")

    def _getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        # Telegram forgets the updates below the offset; a negative offset counts from the end.
        offset = int(params.get("offset", 0))
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[: int(params.get("limit", 100))]

    def _deletewebhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    def _setwebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = params
        return True

    def _getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        # Updates waiting here, not yet confirmed (by a getUpdates offset past them).
        webhook = self.webhook or {}
        return {
            "url": str(webhook.get("url", "")),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            "max_connections": int(webhook.get("max_connections", 40)),
        }

    def _true(self, params: dict[str, Any]) -> bool:
        return True

    _logout = _close = _sendchataction = _leavechat = _answercallbackquery = _true

    def _setmycommands(self, params: dict[str, Any]) -> bool:
        self.commands[scope_key(params.get("scope"))] = list(params["commands"])
        return True

    def _deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(scope_key(params.get("scope")), None)
        return True

    def _getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(scope_key(params.get("scope")), [])

    def _setchatmenubutton(self, params: dict[str, Any]) -> bool:
        chat = params.get("chat_id")
        self.menu_buttons[None if chat is None else int(chat)] = params.get(
            "menu_button", {"type": "default"}
        )
        return True

    def _getchatmenubutton(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = params.get("chat_id")
        found = self.menu_buttons.get(None if chat is None else int(chat))
        return found or self.menu_buttons.get(None) or {"type": "commands"}

    def _getchat(self, params: dict[str, Any]) -> dict[str, Any]:
        # getChat answers a ChatFullInfo, whose few required fields PTB insists on.
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        accepted = dict.fromkeys((*gifts, "gifts_from_channels"), False)
        extra = {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": accepted}
        wanted = str(params["chat_id"])
        if wanted.startswith("@"):
            if wanted not in self.usernames:
                raise ApiError(400, "Bad Request: chat not found")
            return self._chat(self.usernames[wanted]) | {"username": wanted[1:]} | extra
        return self._chat(int(wanted)) | extra

    def _getchatmember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.member_status.get((chat_id, user_id), "member")
        return member_dict(self.bot if user_id == self.bot["id"] else user_dict(user_id), status)

    def _getchatadministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = int(params["chat_id"])
        return [
            self._getchatmember({"chat_id": chat_id, "user_id": user})
            for (chat, user), status in self.member_status.items()
            if chat == chat_id and status in ("administrator", "creator")
        ]


def scope_key(scope: Any) -> str:
    """Return the key of `LocalBotAPI.commands` for a BotCommandScope (None: the default)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class LocalRequest(BaseRequest):
    """Routes python-telegram-bot's requests to a LocalBotAPI, in process, with no network."""

    def __init__(self, api: LocalBotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        """Answers are immediate: no timeout applies."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer a request with Telegram's JSON envelope and HTTP status; PTB raises from it."""
        params: dict[str, Any] = {}
        if request_data is not None:
            params.update(request_data.parameters)
            # An uploaded file is not among the parameters, only in the multipart data.
            for name, (filename, content, *_) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                params[name] = Upload(filename or name, data)
        try:
            result = await self.api.call(url.rsplit("/", 1)[-1], params)
        except ApiError as error:
            return error.code, json.dumps(error.to_json()).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()
