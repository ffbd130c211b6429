"""Telegram's users, chats and chat members, with the fields Telegram always sends."""

from __future__ import annotations

from typing import Any

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
