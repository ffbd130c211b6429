"""The Bot API methods that send, edit and delete messages (files, albums, polls and inline
answers included), answered in memory as part of LocalBotAPI."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.preview.refusals import (
    MAX_CAPTION,
    MAX_INLINE_RESULTS,
    MAX_RESULT_ID,
    MAX_TEXT,
    ApiError,
    check_length,
    check_markup,
)
from bot.preview.telegram_objects import chat_dict

if TYPE_CHECKING:
    from bot.preview.local_api import Call

# What Telegram makes photos of: JPEG, PNG and WebP (RIFF....WEBP; RIFF stands for it here).
_PHOTO_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
DELETE_WINDOW = 48 * 3600  # seconds a bot may delete its messages for everyone


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str
    content: bytes


class MessageMethods:
    """Telegram's messages in a chat: sent, edited, deleted, and the files they carry."""

    # LocalBotAPI keeps these; the methods here read and change them.
    bot: dict[str, Any]
    calls: list[Call]
    chats: dict[int, dict[str, Any]]
    messages: dict[tuple[int, int], dict[str, Any]]
    files: dict[str, dict[str, Any]]
    lost_files: set[str]
    inline_answers: dict[str, dict[str, Any]]
    _message_ids: dict[int, itertools.count[int]]

    if TYPE_CHECKING:

        def _check_faults(self, chat_id: int) -> None: ...

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return self.chats.get(chat_id) or chat_dict(chat_id)

    def _store(self, params: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        check_markup(params.get("reply_markup"))
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

    def _sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        check_length(text, params.get("parse_mode"), MAX_TEXT, "message is too long")
        return self._store(params, {"text": text})

    def _senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = str(params.get("caption", ""))
        if caption:
            check_length(
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
            check_markup(result.get("reply_markup"))
            if result.get("type") == "photo":
                self._check_cached_photo(result)
                continue
            content = result.get("input_message_content") or {}
            check_length(
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
            check_length(caption, result.get("parse_mode"), MAX_CAPTION, "MEDIA_CAPTION_TOO_LONG")

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
            check_length(
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
        check_length(text, params.get("parse_mode"), MAX_TEXT, "message is too long")
        check_markup(markup)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        return self._edited(message, markup)

    def _editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        check_markup(params.get("reply_markup"))
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
            check_length(
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
