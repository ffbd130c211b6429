"""An in-process stand-in for the Telegram Bot API, for the offline preview and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

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
# https://core.telegram.org/bots/api#formatting-options: Telegram refuses any other HTML tag.
_HTML_TAGS = "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote"
_TAG = re.compile(r"<(/?)([^\s<>/]*)[^<>]*>?")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
MAX_INLINE_RESULTS, MAX_RESULT_ID = 50, 64
# What Telegram makes photos of: JPEG, PNG and WebP (RIFF....WEBP; RIFF stands for it here).
_PHOTO_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
DELETE_WINDOW = 48 * 3600  # seconds a bot may delete its messages for everyone
BOT_ID, BOT_USERNAME = 100, "solidarity_preview_bot"
GROUP_ANONYMOUS_BOT, TELEGRAM_SERVICE = 1087968824, 777000
# The rights Telegram always sends in a ChatMemberAdministrator, and a ChatMemberRestricted.
_ADMIN_RIGHTS = (
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members"
    " can_promote_members can_change_info can_invite_users can_post_stories can_edit_stories"
    " can_delete_stories"
)
_MEMBER_RIGHTS = (
    "can_send_messages can_send_audios can_send_documents can_send_photos can_send_videos"
    " can_send_video_notes can_send_voice_notes can_send_polls can_send_other_messages"
    " can_add_web_page_previews can_change_info can_invite_users can_pin_messages"
    " can_manage_topics can_edit_tag can_react_to_messages"
)


@dataclass(frozen=True)
class Call:
    """One Bot API call the bot made, with its decoded parameters and what it returned."""

    method: str
    params: dict[str, Any]
    result: Any = None
    error: int | None = None  # the error code, when the call was refused
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str
    content: bytes


class ApiError(Exception):
    """An error answer, shaped as Telegram sends it."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """Return Telegram's error body."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code}
        body["description"] = self.description
        if self.parameters:
            body["parameters"] = self.parameters
        return body


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


def user_dict(
    user_id: int, language_code: str | None = "en", *, is_bot: bool = False
) -> dict[str, Any]:
    """Return a Telegram User; Telegram always sends a first name, which the bot must not keep."""
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": f"Person{user_id}"}
    if language_code:
        user["language_code"] = language_code
    return user


def bot_dict(bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> dict[str, Any]:
    """Return the bot as a Telegram User."""
    return user_dict(bot_id, None, is_bot=True) | {
        "first_name": "Solidarity",
        "username": username,
    }


def chat_dict(chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
    """Return a Telegram Chat; by default a private chat for a positive id, else a supergroup."""
    chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": f"Person{chat_id}"}
    return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}


def member_dict(user: dict[str, Any], status: str) -> dict[str, Any]:
    """Return a ChatMember with the fields Telegram always sends for that status."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status in ("creator", "administrator"):
        member["is_anonymous"] = False
    if status == "administrator":
        member |= dict.fromkeys(_ADMIN_RIGHTS.split(), True) | {"can_be_edited": False}
    if status == "restricted":
        member |= dict.fromkeys(_MEMBER_RIGHTS.split(), False) | {"is_member": True}
    if status in ("restricted", "kicked"):
        member["until_date"] = 0  # 0 means "forever"
    return member


def check_html(text: str) -> None:
    """Raise ApiError for HTML that Telegram cannot parse (an unknown or unclosed tag)."""
    open_tags: list[str] = []
    for tag in _TAG.finditer(text):
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        offset = len(text[: tag.start()].encode())
        if not closing and (name not in _HTML_TAGS.split() or not tag.group(0).endswith(">")):
            raise _parse_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if not closing:
            open_tags.append(name)
        elif not open_tags:
            raise _parse_error(f"Unexpected end tag at byte offset {offset}")
        elif open_tags[-1] != name:
            expected = open_tags[-1]
            raise _parse_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", '
                f'found "</{name}>"'
            )
        else:
            open_tags.pop()
    if open_tags:
        raise _parse_error(f"Can't find end tag corresponding to start tag {open_tags[-1]}")


def _parse_error(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {reason}")


def _visible_length(text: str, parse_mode: Any) -> int:
    """Return the length Telegram limits: UTF-16 units of the text once its HTML is parsed."""
    if str(parse_mode).upper() == "HTML":
        check_html(text)
        text = _ENTITY.sub("&", _TAG.sub("", text))  # every entity is one character
    return len(text.encode("utf-16-le")) // 2


def _public(value: Any) -> Any:
    """Return a copy fit for JSON: without the uploaded bytes kept for inspection."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not isinstance(v, bytes)}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


class LocalBotAPI:
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

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return self.chats.get(chat_id) or chat_dict(chat_id)

    def _store(self, params: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        _check_markup(params.get("reply_markup"))
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message: dict[str, Any] = {"message_id": next(counter), "from": self.bot}
        message["chat"] = self._chat(chat_id)
        message |= {"date": int(time.time()), **fields}
        markup = params.get("reply_markup")
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        elif markup:  # Telegram answers only an inline keyboard; the rest is kept for tests
            message["keyboard"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _find(self, params: dict[str, Any], missing: str) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, f"Bad Request: message to {missing} not found")
        return self.messages[key]

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

    def _sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        _check_length(text, params.get("parse_mode"), MAX_TEXT, "message is too long")
        return self._store(params, {"text": text})

    def _senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = str(params.get("caption", ""))
        if caption:
            _check_length(
                caption, params.get("parse_mode"), MAX_CAPTION, "message caption is too long"
            )
        upload, file_id = self._file("document", params.get("document"))
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": upload.filename,
        }
        document["file_size"] = len(upload.content)
        fields: dict[str, Any] = {"document": document, "content": upload.content}
        if caption:
            fields["caption"] = caption
        return self._store(params, fields)

    def _answerinlinequery(self, params: dict[str, Any]) -> bool:
        results = params.get("results") or []
        if len(results) > MAX_INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if any(not 1 <= len(i.encode()) <= MAX_RESULT_ID for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for result in results:
            _check_markup(result.get("reply_markup"))
            if result.get("type") == "photo":
                self._check_cached_photo(result)
                continue
            content = result.get("input_message_content") or {}
            _check_length(
                str(content.get("message_text", "")),
                content.get("parse_mode"),
                MAX_TEXT,
                "MESSAGE_TOO_LONG",
            )
        self.inline_answers[str(params["inline_query_id"])] = params
        return True

    def _check_cached_photo(self, result: dict[str, Any]) -> None:
        """Refuse a cached photo result of a photo Telegram lost, or too long a caption."""
        file_id = str(result.get("photo_file_id", ""))
        if file_id in self.lost_files or not file_id:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = str(result.get("caption", ""))
        if caption:
            _check_length(caption, result.get("parse_mode"), MAX_CAPTION, "MEDIA_CAPTION_TOO_LONG")

    def _sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, self._file_fields("photo", params))

    def _sendvideo(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, self._file_fields("video", params))

    def _sendanimation(self, params: dict[str, Any]) -> dict[str, Any]:
        # Telegram shows an animation as both: clients that know animations use that field.
        fields = self._file_fields("animation", params)
        return self._store(params, fields | {"document": fields["animation"]})

    def _sendaudio(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, self._file_fields("audio", params))

    def _sendvoice(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, self._file_fields("voice", params))

    def _sendmediagroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album")
        group = f"album{len(self.calls) + 1}"
        messages = []
        for item in media:
            kind = str(item.get("type"))
            if kind not in ("photo", "video", "document", "audio"):
                raise ApiError(400, f"Bad Request: can't send {kind} in an album")
            media_of = item.get("media")
            if isinstance(media_of, str) and media_of.startswith("attach://"):
                media_of = params.get(media_of.removeprefix("attach://"))
            fields = self._file_fields(kind, {**item, kind: media_of})
            messages.append(self._store(params, fields | {"media_group_id": group}))
        return messages

    def _sendpoll(self, params: dict[str, Any]) -> dict[str, Any]:
        options = params.get("options") or []
        if not 2 <= len(options) <= 12:
            raise ApiError(400, "Bad Request: poll must have 2-12 options")
        kind = str(params.get("type") or "regular")
        if kind == "quiz" and not params.get("correct_option_ids"):
            raise ApiError(400, "Bad Request: quiz poll must have correct_option_ids")
        poll = {
            "id": f"poll{len(self.calls) + 1}",
            "question": str(params["question"]),
            "options": [
                {
                    "text": o if isinstance(o, str) else o["text"],
                    "voter_count": 0,
                    "persistent_id": str(index),
                }
                for index, o in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": params.get("is_anonymous", True) not in (False, "false"),
            "type": kind,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers")),
            "allows_revoting": False,
            "members_only": False,
        }
        if kind == "quiz":
            poll["correct_option_ids"] = [int(i) for i in params["correct_option_ids"]]
        return self._store(params, {"poll": poll})

    def _file_fields(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """Return a sent file's fields: a new file id for an upload, the same one when it is
        sent again by id (as Telegram does for a file it holds)."""
        caption = str(params.get("caption") or "")
        if caption:
            _check_length(
                caption, params.get("parse_mode"), MAX_CAPTION, "message caption is too long"
            )
        if params.get(kind) in (None, ""):
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        upload, file_id = self._file(kind, params[kind])
        if kind == "photo" and upload.content and not upload.content.startswith(_PHOTO_SIGNATURES):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        content = upload.content
        file: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id}
        if kind == "photo":
            sized: Any = [file | {"width": 1, "height": 1}]
        else:
            timed = ("video", "animation", "audio", "voice")
            sized = file | ({"duration": 1} if kind in timed else {})
            if kind in ("video", "animation"):
                sized |= {"width": 1, "height": 1}
        fields: dict[str, Any] = {kind: sized, "content": content}
        if caption:
            fields["caption"] = caption
        if params.get("has_spoiler"):
            fields["has_media_spoiler"] = True
        return fields

    def _file(self, kind: str, sent: Any) -> tuple[Upload, str]:
        """Return a sent file and its file id: a new id for an upload or a URL; for a file id,
        itself, unless it is one Telegram lost. Ids it never gave are taken as they come."""
        if isinstance(sent, Upload):
            file_id = f"{kind}{len(self.calls) + 1}"
            self.files[file_id] = {"kind": kind, "file_name": sent.filename}
            return sent, file_id
        text = str(sent)  # a number-like file id arrives as a number
        if text in self.lost_files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if text in self.files:
            return Upload(self.files[text]["file_name"], b""), text
        if not text.startswith(("http://", "https://")):
            return Upload(text, b""), text  # an id from elsewhere (a user's upload): kept
        # A URL Telegram fetched: a new file, with no bytes here.
        file_id = f"{kind}{len(self.calls) + 1}"
        self.files[file_id] = {"kind": kind, "file_name": text.rsplit("/", 1)[-1], "url": text}
        return Upload(text, b""), file_id

    def _getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id in self.lost_files or not file_id:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return {"file_id": file_id, "file_unique_id": file_id, "file_path": f"files/{file_id}"}

    def _editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params, "edit")
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        _check_length(text, params.get("parse_mode"), MAX_TEXT, "message is too long")
        _check_markup(markup)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        return self._edited(message, markup)

    def _editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_markup(params.get("reply_markup"))
        return self._edited(self._find(params, "edit"), params.get("reply_markup"))

    def _edited(self, message: dict[str, Any], markup: Any) -> dict[str, Any]:
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    def _deletemessage(self, params: dict[str, Any]) -> bool:
        self._find(params, "delete")
        del self.messages[(int(params["chat_id"]), int(params["message_id"]))]
        return True

    def _editmessagecaption(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_faults(int(params["chat_id"]))
        message = self._find(params, "edit")
        caption, markup = str(params.get("caption", "")), params.get("reply_markup")
        if caption:
            _check_length(
                caption, params.get("parse_mode"), MAX_CAPTION, "message caption is too long"
            )
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        if message.get("caption", "") == caption and message.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.pop("caption", None)
        if caption:
            message["caption"] = caption
        return self._edited(message, markup)

    def _deletemessages(self, params: dict[str, Any]) -> bool:
        # Telegram skips the ids it cannot find, and refuses when it finds none; a bot may
        # delete its messages for everyone for 48 hours.
        chat_id = int(params["chat_id"])
        self._check_faults(chat_id)
        ids = [int(i) for i in params["message_ids"]]
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: too many messages to delete")
        found = [(chat_id, i) for i in ids if (chat_id, i) in self.messages]
        if not found:
            raise ApiError(400, "Bad Request: message to delete not found")
        if any(time.time() - self.messages[key]["date"] > DELETE_WINDOW for key in found):
            raise ApiError(400, "Bad Request: message can't be deleted for everyone")
        for key in found:
            del self.messages[key]
        return True

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


def _check_length(text: str, parse_mode: Any, limit: int, too_long: str) -> None:
    length = _visible_length(text, parse_mode)
    if length == 0:
        raise ApiError(400, "Bad Request: message text is empty")
    if length > limit:
        raise ApiError(400, f"Bad Request: {too_long}")


def _check_markup(markup: Any) -> None:
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for button in itertools.chain.from_iterable(rows):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


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


# Incoming updates, shaped as Telegram sends them (push_update adds the update_id).

_ids = itertools.count(1)


def with_id(update: dict[str, Any], update_id: int) -> dict[str, Any]:
    """Return the update with an update_id, for feeding it to Update.de_json directly."""
    return {**update, "update_id": update_id}


def _message(chat: dict[str, Any], sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender}
    return message | fields


def message_update(
    text: str,
    *,
    user_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    language_code: str | None = "en",
    message_id: int | None = None,
    sender_chat_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return an update carrying a text message (a command gets its bot_command entity),
    replying to `reply_to` (a message, as `media_update` and `poll_update` make) if given."""
    chat = chat_dict(user_id if chat_id is None else chat_id, chat_type)
    message = _message(chat, user_dict(user_id, language_code), text=text, **fields)
    if message_id is not None:
        message["message_id"] = message_id
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]  # "/start@bot_name" included
        length = len(command.encode("utf-16-le")) // 2  # Telegram counts UTF-16 units
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    if sender_chat_id is not None:
        # An anonymous admin writes as the group itself; a linked channel's posts come via
        # Telegram's service account.
        own = sender_chat_id == chat["id"]
        message["sender_chat"] = chat if own else chat_dict(sender_chat_id, "channel")
        sender = GROUP_ANONYMOUS_BOT if own else TELEGRAM_SERVICE
        message["from"] = user_dict(sender, None, is_bot=sender == GROUP_ANONYMOUS_BOT)
    return {"message": message}


def media_update(
    kind: str,
    file_id: str,
    *,
    user_id: int,
    caption: str | None = None,
    media_group_id: str | None = None,
    message_id: int | None = None,
    language_code: str | None = "en",
    **fields: Any,
) -> dict[str, Any]:
    """Return an update carrying a user's photo, video, document, … (by a file id the fake
    Telegram holds), with a caption as plain text, in an album if `media_group_id`."""
    file: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id}
    if kind == "photo":
        media: Any = [file | {"width": 1, "height": 1}]
    else:
        timed = ("video", "animation", "audio", "voice", "video_note")
        media = file | ({"duration": 1} if kind in timed else {})
        if kind in ("video", "animation", "sticker"):
            media |= {"width": 1, "height": 1}
        if kind == "video_note":
            media |= {"length": 1}
        if kind == "sticker":
            media |= {"type": "regular", "is_animated": False, "is_video": False}
    chat = chat_dict(user_id, "private")
    message = _message(chat, user_dict(user_id, language_code), **{kind: media}, **fields)
    if kind == "animation":
        message["document"] = file
    if caption is not None:
        message["caption"] = caption
    if media_group_id is not None:
        message["media_group_id"] = media_group_id
    if message_id is not None:
        message["message_id"] = message_id
    return {"message": message}


def poll_update(
    question: str,
    options: list[str],
    *,
    user_id: int,
    correct_option_ids: list[int] | None = None,
    quiz: bool = False,
    message_id: int | None = None,
) -> dict[str, Any]:
    """Return an update carrying a poll a user made (a quiz tells its answer in a private
    chat with the bot; a forwarded one does not)."""
    poll: dict[str, Any] = {
        "id": f"p{next(_ids)}",
        "question": question,
        "options": [
            {"text": option, "voter_count": 0, "persistent_id": str(index)}
            for index, option in enumerate(options)
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "quiz" if quiz else "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
    if correct_option_ids is not None:
        poll["correct_option_ids"] = correct_option_ids
    message = _message(chat_dict(user_id, "private"), user_dict(user_id, "en"), poll=poll)
    if message_id is not None:
        message["message_id"] = message_id
    return {"message": message}


def callback_update(
    data: str,
    *,
    user_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    message_id: int = 1,
    message_text: str = "menu",
    message_date: int | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """Return an update for a press on an inline button of a message the bot sent.

    `message_date` is when that message was sent (Unix time; default now).
    """
    chat = chat_dict(user_id if chat_id is None else chat_id, chat_type)
    message = _message(chat, bot_dict(), text=message_text) | {"message_id": message_id}
    if message_date is not None:
        message["date"] = message_date
    query = {"id": str(next(_ids)), "from": user_dict(user_id, language_code), "message": message}
    return {"callback_query": query | {"chat_instance": str(chat["id"]), "data": data}}


def inline_query_update(
    query: str,
    *,
    user_id: int,
    offset: str = "",
    chat_type: str = "private",
    language_code: str | None = "en",
) -> dict[str, Any]:
    """Return an update for someone typing `@bot <query>` in a chat."""
    inline = {
        "id": str(next(_ids)),
        "from": user_dict(user_id, language_code),
        "query": query,
        "offset": offset,
        "chat_type": chat_type,
    }
    return {"inline_query": inline}


def my_chat_member_update(
    *,
    chat_id: int,
    chat_type: str,
    user_id: int,
    old_status: str,
    new_status: str,
    bot_id: int = BOT_ID,
) -> dict[str, Any]:
    """Return an update saying the bot's own membership in a chat changed."""
    bot = bot_dict(bot_id)
    change = {
        "chat": chat_dict(chat_id, chat_type),
        "from": user_dict(user_id),
        "date": int(time.time()),
        "old_chat_member": member_dict(bot, old_status),
        "new_chat_member": member_dict(bot, new_status),
    }
    return {"my_chat_member": change}


def migrate_update(*, old_chat_id: int, new_chat_id: int, user_id: int) -> dict[str, Any]:
    """Return the service message in an old group saying it became a supergroup."""
    chat = chat_dict(old_chat_id, "group")
    return {"message": _message(chat, user_dict(user_id), migrate_to_chat_id=new_chat_id)}
