"""An in-process stand-in for the Telegram Bot API, for the offline preview and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

_SEND_METHODS = {"sendmessage", "senddocument", "editmessagetext"}


@dataclass(frozen=True)
class Call:
    """One Bot API call the bot made, with its decoded parameters and what it returned."""

    method: str
    params: dict[str, Any]
    result: Any = None


class ApiError(Exception):
    """An error answer, shaped as Telegram sends it."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """Return Telegram's error body."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _decode(value: Any) -> Any:
    """Decode a form value the way Telegram does: numbers, booleans and JSON objects."""
    if not isinstance(value, str):
        return value
    if value.lstrip("-").isdigit():
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def user_dict(
    user_id: int, language_code: str | None = "en", *, is_bot: bool = False
) -> dict[str, Any]:
    """Return a Telegram User; Telegram always sends a first name, which the bot must not keep."""
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": f"Person{user_id}"}
    if language_code:
        user["language_code"] = language_code
    return user


def chat_dict(chat_id: int, chat_type: str) -> dict[str, Any]:
    """Return a Telegram Chat."""
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": f"Person{chat_id}"}
    return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}


class LocalBotAPI:
    """The Bot API methods the bot calls, answered in memory, with faults to inject."""

    def __init__(self, bot_id: int = 100, bot_username: str = "solidarity_preview_bot") -> None:
        self.bot = {**user_dict(bot_id, None, is_bot=True), "username": bot_username}
        self.bot["first_name"] = "Solidarity"
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.member_status: dict[tuple[int, int], str] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.bad_request: dict[int, str] = {}
        self._failures: list[tuple[int | None, ApiError]] = []
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._new_updates = asyncio.Event()

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
        self._failures.extend(
            (chat_id, ApiError(code, description, parameters)) for _ in range(times)
        )

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the messages sent to a chat, in order."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        """Return the texts (or captions) sent to a chat, in order."""
        return [m.get("text", m.get("caption", "")) for m in self.sent_to(chat_id)]

    def calls_to(self, method: str) -> list[Call]:
        """Return the calls of one method, in order."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    # Updates

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an incoming update for getUpdates; return its id."""
        update_id = next(self._update_ids)
        self._updates.append({**update, "update_id": update_id})
        self._new_updates.set()
        return update_id

    async def wait_for_updates(self, seconds: float) -> None:
        """Return when an update is queued, or after `seconds`."""
        if self._updates:
            return
        self._new_updates.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._new_updates.wait(), seconds)

    # Calls

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one Bot API method as Telegram would, or raise ApiError."""
        name = method.lower()
        decoded = {key: _decode(value) for key, value in params.items()}
        handler = getattr(self, f"_{name}", None)
        if handler is None:
            self.calls.append(Call(method, decoded))
            raise ApiError(404, "Not Found: method not found")
        try:
            if name in _SEND_METHODS:
                self._check_faults(int(decoded["chat_id"]))
            result = handler(decoded)
        except ApiError:
            self.calls.append(Call(method, decoded))
            raise
        self.calls.append(Call(method, decoded, result))
        return result

    def _check_faults(self, chat_id: int) -> None:
        for index, (target, error) in enumerate(self._failures):
            if target is None or target == chat_id:
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

    def _new_message(self, chat_id: int, extra: dict[str, Any]) -> dict[str, Any]:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = {
            "message_id": next(counter),
            "date": int(time.time()),
            "chat": chat_dict(chat_id, "private" if chat_id > 0 else "supergroup"),
            "from": self.bot,
            **extra,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    def _true(self, params: dict[str, Any]) -> bool:
        return True

    _deletewebhook = _logout = _close = _sendchataction = _deletemessage = _leavechat = _true

    def _setmycommands(self, params: dict[str, Any]) -> bool:
        scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        self.commands[scope] = list(params.get("commands") or [])
        return True

    def _deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(
            json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True), None
        )
        return True

    def _getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(
            json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True), []
        )

    def _sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {"text": str(params["text"])}
        if params.get("reply_markup"):
            extra["reply_markup"] = params["reply_markup"]
        return self._new_message(int(params["chat_id"]), extra)

    def _senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        upload = params.get("document")
        name, content = upload if isinstance(upload, tuple) else ("file", b"")
        extra = {
            "document": {
                "file_id": f"doc{len(self.messages)}",
                "file_unique_id": "u",
                "file_name": name,
                "file_size": len(content),
            },
            "caption": str(params.get("caption", "")),
            "content": content,
        }
        return self._new_message(int(params["chat_id"]), extra)

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = params.get("reply_markup")
        if message.get("text") == params["text"] and message.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same",
            )
        message["text"] = str(params["text"])
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    def _editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _answercallbackquery(self, params: dict[str, Any]) -> bool:
        return True

    def _getchat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        return chat_dict(chat_id, "private" if chat_id > 0 else "supergroup")

    def _getchatmember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.member_status.get((chat_id, user_id), "member")
        member: dict[str, Any] = {"status": status, "user": user_dict(user_id)}
        if status == "administrator":
            member |= {key: True for key in _ADMIN_RIGHTS} | {"can_be_edited": False}
        if status == "creator":
            member["is_anonymous"] = False
        return member

    def _getchatadministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = int(params["chat_id"])
        return [
            self._getchatmember({"chat_id": chat_id, "user_id": user})
            for (chat, user), status in self.member_status.items()
            if chat == chat_id and status in ("administrator", "creator")
        ]


_ADMIN_RIGHTS = (
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


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
        """Answer a request with Telegram's JSON envelope and HTTP status."""
        params: dict[str, Any] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            if request_data.contains_files and request_data.multipart_data:
                for name, part in request_data.multipart_data.items():
                    if isinstance(part, tuple):
                        params[name] = (part[0], part[1])
        try:
            result = await self.api.call(url.rsplit("/", 1)[-1], params)
        except ApiError as error:
            return error.code, json.dumps(error.to_json()).encode()
        return 200, json.dumps({"ok": True, "result": jsonable(result)}).encode()


def jsonable(value: Any) -> Any:
    """Return a result without the raw bytes kept for inspection (uploaded files)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if not isinstance(v, bytes)}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


# Incoming updates, shaped as Telegram sends them (push_update adds the update_id).

_ids = itertools.count(1)


def message_update(
    text: str,
    *,
    user_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    language_code: str | None = "en",
    message_id: int | None = None,
    sender_chat_id: int | None = None,
) -> dict[str, Any]:
    """Return an update carrying a text message (a command gets its bot_command entity)."""
    chat = chat_dict(user_id if chat_id is None else chat_id, chat_type)
    message: dict[str, Any] = {
        "message_id": next(_ids) if message_id is None else message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": user_dict(user_id, language_code),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if sender_chat_id is not None:
        message["sender_chat"] = chat_dict(sender_chat_id, chat_type)
        message["from"] = {
            **user_dict(1087968824, None, is_bot=True),
            "username": "GroupAnonymousBot",
        }
    return {"message": message}


def callback_update(
    data: str,
    *,
    user_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    message_id: int = 1,
    message_text: str = "menu",
) -> dict[str, Any]:
    """Return an update for a press on an inline button of a message the bot sent."""
    chat = chat_dict(user_id if chat_id is None else chat_id, chat_type)
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "text": message_text,
    }
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user_dict(user_id),
            "chat_instance": str(chat["id"]),
            "message": message,
            "data": data,
        }
    }


def my_chat_member_update(
    *,
    chat_id: int,
    chat_type: str,
    user_id: int,
    old_status: str,
    new_status: str,
    bot_id: int = 100,
) -> dict[str, Any]:
    """Return an update saying the bot's own membership in a chat changed."""
    bot = {**user_dict(bot_id, None, is_bot=True), "username": "solidarity_preview_bot"}

    def member(status: str) -> dict[str, Any]:
        found: dict[str, Any] = {"status": status, "user": bot}
        if status == "kicked":
            found["until_date"] = 0
        if status == "administrator":
            found |= {key: False for key in _ADMIN_RIGHTS} | {"can_be_edited": False}
        return found

    return {
        "my_chat_member": {
            "chat": chat_dict(chat_id, chat_type),
            "from": user_dict(user_id),
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(new_status),
        }
    }


def migrate_update(*, old_chat_id: int, new_chat_id: int, user_id: int) -> dict[str, Any]:
    """Return the service message in an old group saying it became a supergroup."""
    return {
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": chat_dict(old_chat_id, "group"),
            "from": user_dict(user_id),
            "migrate_to_chat_id": new_chat_id,
        }
    }
