"""What the stand-in Telegram refuses, in Telegram's words: HTML it cannot parse, texts over
its limits, buttons it cannot carry."""

from __future__ import annotations

import itertools
import re
from typing import Any

# https://core.telegram.org/bots/api#formatting-options: Telegram refuses any other HTML tag.
_HTML_TAGS = "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote"
_TAG = re.compile(r"<(/?)([^\s<>/]*)[^<>]*>?")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
MAX_INLINE_RESULTS, MAX_RESULT_ID = 50, 64


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


def check_length(text: str, parse_mode: Any, limit: int, too_long: str) -> None:
    """Raise ApiError for an empty text, or one over `limit` once its HTML is parsed."""
    length = _visible_length(text, parse_mode)
    if length == 0:
        raise ApiError(400, "Bad Request: message text is empty")
    if length > limit:
        raise ApiError(400, f"Bad Request: {too_long}")


def check_markup(markup: Any) -> None:
    """Raise ApiError for an inline button whose callback data Telegram refuses."""
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for button in itertools.chain.from_iterable(rows):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
