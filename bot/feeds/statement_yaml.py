"""A draft written out as one statement of a campaign file, for organizers to check and add."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import yaml
from pydantic import ValidationError

from bot.campaign.content import Statement
from bot.feeds.extract import SUMMARY_ONLY, Draft, unsigned

# What to ask organizers for when a post lacks a field the Statement model requires.
_ASK = {
    "title": "the post has no title",
    "date": "the post gives no date: write YYYY-MM-DD, or YYYY-MM",
    "author": "the post names no author: who signed it?",
    "body": "the post has no text",
}


class _Dumper(yaml.SafeDumper):
    """Writes multi-line text as a literal block, so the body reads as organizers wrote it."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_Dumper.add_representer(str, _text)


def _field(key: str, value: Any) -> str:
    # Wide lines: a long title stays on one line instead of being folded.
    text: str = yaml.dump({key: value}, Dumper=_Dumper, allow_unicode=True, width=1_000_000)
    return text


def _one_line(text: str) -> str:
    # A line break in a comment would turn the rest of the line into YAML.
    return " ".join(text.split())


def statement_yaml(
    draft: Draft,
    campaign_id: str | None = None,
    *,
    now: dt.datetime | None = None,
    filled: dict[str, str] | None = None,
) -> str:
    """Return a draft as one statement's YAML, with comments on its origin and its gaps.

    `filled` names the fields a completed draft (see `complete`) got from elsewhere, and where.
    """
    read_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f" for campaign {campaign_id}" if campaign_id else ""
    source = _one_line(draft.source or "an unknown address")
    lines = [
        f"# Draft statement{where}, read {read_at}",
        f"# from {source} (post {_one_line(draft.guid)}).",
    ]
    gaps = [field for field in draft.missing if field in _ASK]
    if gaps:
        lines.append(f"# Missing from the post: {', '.join(gaps)}; fill them in before adding it.")
    for key, where in (filled or {}).items():
        lines.append(f"# {key}: {_one_line(where)}")
    if SUMMARY_ONLY in draft.missing:
        lines.append("# The body is only the feed's summary of the post, not the whole post.")
    if draft.signed:
        lines.append("# author and role are the signature lines that closed the post, moved from")
        lines.append("# the end of the body into author and role so that it is signed once.")
    # The dumper quotes the date: an unquoted 2024-03-01 loads as a date; the model wants text.
    for key, value in _fields(draft).items():
        if value is not None:
            lines.append(_field(key, value).rstrip("\n"))
        elif key in _ASK:
            lines.append(f"{key}:  # {_ASK[key]}")
    return "\n".join(lines) + "\n"


# The fields `complete` fills, and what the YAML comment says of each.
FILLED_DATE = "the post gives no date: this is the day it was read"
FILLED_AUTHOR = "the post names no author: this is the campaign's organization"
# What a statement's `source:` accepts (bot/campaign/content.py): another address is left out.
_WEB_ADDRESS = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# What only the organizers can supply: a draft lacking one cannot become a statement.
REQUIRED = ("title", "body")


def complete(draft: Draft, organization: str, read_on: dt.date) -> tuple[Draft, dict[str, str]]:
    """Return the draft with a missing date and author filled in, and a note on each filled.

    No date: the day it was read. No author: the campaign's organization, which issued it.
    """
    filled: dict[str, str] = {}
    date, author = draft.date, draft.author
    if not date:
        date, filled["date"] = read_on.isoformat(), FILLED_DATE
    if not author:
        author, filled["author"] = organization, FILLED_AUTHOR
    missing = tuple(field for field in draft.missing if field not in filled)
    source = draft.source if _WEB_ADDRESS.match(draft.source or "") else None
    completed = dataclasses.replace(draft, date=date, author=author, source=source)
    return dataclasses.replace(completed, missing=missing), filled


def lacking(draft: Draft) -> tuple[str, ...]:
    """Return the fields a draft lacks that nothing can fill in for it (title, body)."""
    values = {"title": draft.title, "body": draft.body}
    return tuple(field for field in REQUIRED if not (values[field] or "").strip())


def as_statement(draft: Draft) -> Statement | None:
    """Return a completed draft as the Statement its YAML loads as, or None if it is not one."""
    fields = _fields(draft)
    try:
        return Statement.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError:
        return None


def _fields(draft: Draft) -> dict[str, str | None]:
    """Return a draft's values under the keys of a statement, in the order they are written."""
    # A draft's body is the post's word for word, signature included; a statement's body with
    # it would be signed twice, by those lines and by the renderer's signature line.
    body = unsigned(draft.body) if draft.signed else draft.body
    return {
        "title": draft.title,
        "date": draft.date,
        "author": draft.author,
        "role": draft.role,
        "source": draft.source,
        "body": body + "\n" if body else None,
    }
