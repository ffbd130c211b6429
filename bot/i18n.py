"""Languages: the interface's message catalogs and the reader's language for this update."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton
from babel.lists import format_list
from babel.messages.pofile import read_po
from babel.units import format_unit

LOCALES = Path(__file__).with_name("locales")
SOURCE_LANGUAGE = "en"  # texts.py is written in it; the catalogs translate from it
# Telegram sends IETF tags (en, pt-br, zh-hans); campaigns and catalogs use the same form.
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ku", "yi", "dv"})
RLM = "\u200f"  # RIGHT-TO-LEFT MARK: a strong RTL character that sets a paragraph's direction

# The reader's language as they asked for it (their choice, else Telegram's language_code):
# set once per update, read by content and catalogs. Each update runs in its own context.
_requested: contextvars.ContextVar[str | None] = contextvars.ContextVar("language", default=None)
_interface: contextvars.ContextVar[str] = contextvars.ContextVar(
    "interface", default=SOURCE_LANGUAGE
)


def N_(message: str) -> str:
    """Mark a message for extraction into the catalogs; translated later by gettext()."""
    return message


def normalize(code: str | None) -> str | None:
    """Return a language tag in lower case with hyphens, or None when it is not one."""
    if not code:
        return None
    tag = code.strip().replace("_", "-").lower()
    # 16 characters: what the database keeps, and what fits in button data.
    return tag if len(tag) <= 16 and LANGUAGE_TAG.match(tag) else None


def match(
    code: str | None, available: Iterator[str] | tuple[str, ...] | frozenset[str]
) -> str | None:
    """Return the available language serving this tag: itself, else its base language."""
    tag = normalize(code)
    if tag is None:
        return None
    options = set(available)
    if tag in options:
        return tag
    base = tag.split("-")[0]
    return base if base in options else None


@cache
def _catalog(language: str) -> dict[str, str]:
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


@cache
def interface_languages() -> tuple[str, ...]:
    """Return the languages the interface is translated into, the source language first."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


def is_rtl(language: str) -> bool:
    """Return whether a language is written right to left."""
    return language.split("-")[0] in RTL_LANGUAGES


def starts_rtl(line: str) -> bool:
    """Return whether a line's first strong character is right-to-left (Unicode bidi P2)."""
    for char in line:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def _right_to_left(text: str) -> str:
    # Telegram sets each paragraph's direction from its first strong character, so a line
    # starting with /help, a number or a Latin name would read left to right: mark it.
    return "\n".join(
        line if not line or starts_rtl(line) else RLM + line for line in text.split("\n")
    )


def translate(message: str, language: str) -> str:
    """Return a message of texts.py in a language, or as written when it has no translation."""
    if language == SOURCE_LANGUAGE:
        return message
    translated = _catalog(language).get(message, message)
    return _right_to_left(translated) if is_rtl(language) else translated


def gettext(message: str) -> str:
    """Return a message of texts.py in the interface language of this update."""
    return translate(message, _interface.get())


def requested() -> str | None:
    """Return the language the reader asked for in this update, if any."""
    return _requested.get()


def interface_language() -> str:
    """Return the language the interface speaks in this update."""
    return _interface.get()


def interface_for(code: str | None, fallback: str | None = None) -> str:
    """Return the interface language for a reader: theirs, else the fallback's, else English."""
    available = interface_languages()
    return match(code, available) or match(fallback, available) or SOURCE_LANGUAGE


def activate(code: str | None, fallback: str | None = None) -> None:
    """Speak the reader's language for the rest of this update (or task)."""
    _requested.set(normalize(code))
    _interface.set(interface_for(code, fallback))


@contextlib.contextmanager
def speaking(code: str | None, fallback: str | None = None) -> Iterator[None]:
    """Speak a language inside the block: for messages to one recipient among many."""
    requested_token = _requested.set(normalize(code))
    interface_token = _interface.set(interface_for(code, fallback))
    try:
        yield
    finally:
        _interface.reset(interface_token)
        _requested.reset(requested_token)


def format_day(day: dt.date, precise: bool = True) -> str:
    """Return a date as words in the interface language: "9 March 2027", or "March 2027"."""
    language = interface_language()
    if not precise:
        return format_skeleton("yMMMM", day, locale=language)
    # English keeps the day-first order the campaigns are written in; others use their own.
    return format_date(day, "d MMMM y" if language == "en" else "long", locale=language)


def format_units(parts: list[tuple[int, str]], *, short: bool) -> str | None:
    """Return amounts of days, hours, minutes, seconds in the interface language ("2 horas
    30 minutos"), or None in English, whose own wording the callers keep."""
    language = interface_language()
    if language == SOURCE_LANGUAGE:
        return None
    length: Literal["short", "long"] = "short" if short else "long"
    amounts = [
        format_unit(count, f"duration-{unit}", length=length, locale=language)
        for count, unit in parts
    ]
    # "3 min 20 s" reads well in any language; words join as the language joins a list.
    return " ".join(amounts) if short else format_list(amounts, locale=language)


def format_moment(moment: dt.datetime) -> str:
    """Return a date and time as organizers read it: "Tue 1 Dec 2026, 18:00"."""
    return format_datetime(moment, "EEE d MMM y, HH:mm", locale=interface_language())


def language_name(code: str, in_language: str | None = None) -> str:
    """Return a language's name: in itself, capitalized, for buttons ("Español", "العربية"),
    or in another language, for sentences ("inglés" in Spanish); the tag if unknown."""
    parts = code.split("-")
    tag = "_".join([parts[0], *(p.upper() if len(p) == 2 else p.title() for p in parts[1:])])
    try:
        name = Locale.parse(tag).get_display_name(in_language or tag)
    except (ValueError, UnknownLocaleError):
        return code
    if not name:
        return code
    return name if in_language else name[:1].upper() + name[1:]


def spoken_name(code: str) -> str:
    """Return a language's name in the interface language, for use inside a sentence."""
    return language_name(code, interface_language())
