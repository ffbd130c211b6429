"""A broadcast's messages as stored, and how each goes out: text, media, an album or a poll.

A broadcast is a list of parts, each one send (an album is one send of several messages):
- a str: an HTML text message;
- {"type": "photo" | "video" | "animation" | "document" | "audio" | "voice", "file_id": ...,
  "caption": HTML or None, "spoiler": bool, "caption_above": bool}: one file, by Telegram's
  file id, so it still goes out when the organizer deletes the message it came from;
- {"type": "album", "items": [such a file (photo, video, document or audio), ...]}: 2 to 10
  files sent together, each with its own caption;
- {"type": "poll", "question": str, "options": [str, ...], "anonymous": bool,
  "multiple": bool, "quiz": bool, "correct": [int] or None, "explanation": HTML or None}: each
  recipient gets a poll of their own (Telegram has no poll shared across chats).
Parts hold only what the organizer wrote and Telegram's file ids: nothing of a recipient's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import (
    Bot,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    LinkPreviewOptions,
    Message,
    Poll,
)
from telegram.constants import ParseMode

from bot import texts
from bot.campaign.markup import escape, telegram_length
from bot.i18n import gettext as _

Part = str | dict[str, Any]

FILE_TYPES = ("photo", "video", "animation", "document", "audio", "voice")
ALBUM_TYPES = ("photo", "video", "document", "audio")


def message_count(part: Part) -> int:
    """Return how many messages a part is in a chat (and against Telegram's limits)."""
    if isinstance(part, dict) and part["type"] == "album":
        return len(part["items"])
    return 1


def caption_of(part: Part) -> str | None:
    """Return a part's text, or its caption (an album's first), or None (a poll, no caption)."""
    if isinstance(part, str):
        return part
    if part["type"] == "album":
        return next((item["caption"] for item in part["items"] if item.get("caption")), None)
    return part.get("caption")


async def send_part(bot: Bot, chat_id: int, part: Part, *, paid: bool = False) -> list[int]:
    """Send one part to a chat; return the ids of the messages it became there."""
    common: dict[str, Any] = {"allow_paid_broadcast": True if paid else None}
    if isinstance(part, str):
        message = await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            **common,
        )
        return [message.message_id]
    kind = part["type"]
    if kind == "album":
        media = [_input_media(item) for item in part["items"]]
        messages: Sequence[Message] = await bot.send_media_group(chat_id, media, **common)
        return [m.message_id for m in messages]
    if kind == "poll":
        message = await bot.send_poll(
            chat_id,
            part["question"],
            part["options"],
            is_anonymous=part.get("anonymous", True),
            type="quiz" if part.get("quiz") else "regular",
            allows_multiple_answers=part.get("multiple", False),
            correct_option_ids=part.get("correct"),
            explanation=part.get("explanation"),
            explanation_parse_mode=ParseMode.HTML if part.get("explanation") else None,
            **common,
        )
        return [message.message_id]
    send = getattr(bot, f"send_{kind}")
    options: dict[str, Any] = {"caption": part.get("caption"), "parse_mode": ParseMode.HTML}
    if kind in ("photo", "video", "animation"):
        options["has_spoiler"] = part.get("spoiler") or None
        options["show_caption_above_media"] = part.get("caption_above") or None
    message = await send(chat_id, part["file_id"], **options, **common)
    return [message.message_id]


_INPUT_MEDIA = {
    "photo": InputMediaPhoto,
    "video": InputMediaVideo,
    "document": InputMediaDocument,
    "audio": InputMediaAudio,
}


def _input_media(item: dict[str, Any]) -> Any:
    options: dict[str, Any] = {"caption": item.get("caption"), "parse_mode": ParseMode.HTML}
    if item["type"] in ("photo", "video"):
        options["has_spoiler"] = item.get("spoiler") or None
        options["show_caption_above_media"] = item.get("caption_above") or None
    return _INPUT_MEDIA[item["type"]](item["file_id"], **options)


class Uncopyable(ValueError):
    """A message that cannot go out again as it is; the text says why, to the organizer."""


def from_message(message: Message) -> Part:
    """Return what is needed to send a message again, by file id: never the message itself,
    so it still goes out after its author deletes it. Texts are taken by the caller."""
    if message.has_protected_content:
        raise Uncopyable(_(texts.MEDIA_PROTECTED))
    if message.paid_media is not None:
        raise Uncopyable(_(texts.MEDIA_PAID))
    if message.poll is not None:
        return _poll(message.poll)
    for kind in FILE_TYPES:  # animation before document: an animation is both
        media = getattr(message, kind)
        if media:
            file_id = media[-1].file_id if kind == "photo" else media.file_id  # largest size
            return {
                "type": kind,
                "file_id": file_id,
                "caption": message.caption_html or None,
                "spoiler": bool(message.has_media_spoiler),
                "caption_above": bool(message.show_caption_above_media),
            }
    attachment = message.effective_attachment
    name = type(attachment).__name__ if attachment is not None else "text"
    raise Uncopyable(_(texts.MEDIA_UNSUPPORTED).format(kind=name))


def _poll(poll: Poll) -> dict[str, Any]:
    quiz = poll.type == Poll.QUIZ
    if quiz and not poll.correct_option_ids:
        raise Uncopyable(_(texts.MEDIA_QUIZ_ANSWER))
    return {
        "type": "poll",
        "question": poll.question,
        "options": [option.text for option in poll.options],
        "anonymous": poll.is_anonymous,
        "multiple": poll.allows_multiple_answers,
        "quiz": quiz,
        "correct": list(poll.correct_option_ids or ()) if quiz else None,
        "explanation": escape(poll.explanation) if quiz and poll.explanation else None,
    }


def album(items: Sequence[Part]) -> Part:
    """Return the album of these files (sent together), or the one file alone."""
    files = [item for item in items if isinstance(item, dict)]
    if len(files) == 1:
        return files[0]
    if len(files) != len(items) or any(f["type"] not in ALBUM_TYPES for f in files):
        raise Uncopyable(_(texts.MEDIA_UNSUPPORTED).format(kind="album"))
    return {"type": "album", "items": files}


def file_part(kind: str, file_id: str, caption: str | None = None) -> Part:
    """Return a part sending one file by its file id, with an HTML caption or none."""
    return {"type": kind, "file_id": file_id, "caption": caption}


# Editing and deleting what was sent (issue 13, items 4 and 5).

CAPTION_LIMIT = 1024  # Telegram's, for a file's caption (HTML measured with its tags: safe)
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids in one chat


class ShapeError(ValueError):
    """A correction that cannot become the same messages as what was sent.

    `reason` is one of "poll", "mixed", "count", "caption_long", "no_caption".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def with_caption(part: Part, html: str | None) -> Part:
    """Return a file or album part with `html` as its caption, or none (an album's captioned
    item, else its first)."""
    if isinstance(part, str) or part["type"] == "poll":
        raise ShapeError("poll" if isinstance(part, dict) else "mixed")
    if part["type"] != "album":
        return {**part, "caption": html or None}
    items = list(part["items"])
    index = next((i for i, item in enumerate(items) if item.get("caption")), 0)
    items[index] = {**items[index], "caption": html or None}
    return {**part, "items": items}


def corrected_parts(parts: Sequence[Part], packed: Sequence[str]) -> list[Part]:
    """Return a broadcast's parts with a corrected text (`packed`: the text cut as a
    broadcast's messages are); ShapeError if they would not be the same messages.

    A text broadcast must pack into as many messages as were sent; a broadcast of one file or
    album takes the text as its caption. Polls cannot be edited, nor a text and files mixed.
    """
    if any(isinstance(part, dict) and part["type"] == "poll" for part in parts):
        raise ShapeError("poll")
    if all(isinstance(part, str) for part in parts):
        if len(packed) != len(parts):
            raise ShapeError("count")
        return list(packed)
    if len(parts) != 1:
        raise ShapeError("mixed")
    caption = "\n\n".join(packed)
    if telegram_length(caption) > CAPTION_LIMIT:
        raise ShapeError("caption_long")
    return [with_caption(parts[0], caption)]


def planned_edits(
    old: Sequence[Part], new: Sequence[Part], message_ids: Sequence[int]
) -> list[tuple[int, Part]]:
    """Return (message id, new content) for each message of a copy whose text changed.

    `message_ids` are the copy's messages in order (fewer if sending it stopped midway); a
    content is a text part or one file (an album's item).
    """
    ids = iter(message_ids)
    edits: list[tuple[int, Part]] = []
    for before, after in zip(old, new, strict=True):
        pairs: list[tuple[Part, Part]] = [(before, after)]
        if isinstance(before, dict) and isinstance(after, dict) and before["type"] == "album":
            pairs = list(zip(before["items"], after["items"], strict=True))
        for was, now in pairs:
            message_id = next(ids, None)
            if message_id is None:
                return edits
            if caption_of(was) != caption_of(now):
                edits.append((message_id, now))
    return edits


async def edit_message(bot: Bot, chat_id: int, message_id: int, content: Part) -> None:
    """Edit one message sent as `content` (text, or a file's caption) to read as it now does."""
    if isinstance(content, str):
        await bot.edit_message_text(
            content,
            chat_id,
            message_id,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return
    above = content.get("caption_above") if content["type"] in ("photo", "video") else None
    await bot.edit_message_caption(
        chat_id,
        message_id,
        caption=content.get("caption") or "",
        parse_mode=ParseMode.HTML,
        show_caption_above_media=above or None,
    )


async def edit_part(
    bot: Bot, chat_id: int, message_ids: Sequence[int], old_part: Part, new_part: Part
) -> int:
    """Edit one sent part's messages to read as `new_part`; return how many were edited."""
    edits = planned_edits([old_part], [new_part], message_ids)
    for message_id, content in edits:
        await edit_message(bot, chat_id, message_id, content)
    return len(edits)


async def delete_messages(bot: Bot, chat_id: int, message_ids: Sequence[int]) -> None:
    """Delete a copy's messages for everyone, up to 100 in one call."""
    for start in range(0, len(message_ids), DELETE_BATCH):
        await bot.delete_messages(chat_id, list(message_ids[start : start + DELETE_BATCH]))
