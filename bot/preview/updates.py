"""Incoming updates, shaped as Telegram sends them (LocalBotAPI.push_update adds the
update_id), for the preview's console, the tests and the benchmarks."""

from __future__ import annotations

import itertools
import time
from typing import Any

from bot.preview.telegram_objects import (
    BOT_ID,
    GROUP_ANONYMOUS_BOT,
    TELEGRAM_SERVICE,
    bot_dict,
    chat_dict,
    member_dict,
    user_dict,
)

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
