"""One statement from a link or a saved file: an article page, or a feed's newest post."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.feeds.extract import SUMMARY_ONLY, Draft, draft_from_entry, draft_from_page, read_feed
from bot.feeds.fetch import (
    MAX_BYTES,
    FeedError,
    Fetched,
    NotAFeed,
    TooLarge,
    fetch,
    looks_like_feed,
    looks_like_page,
    parse_html,
)


async def read_statement(source: str) -> Draft:
    """Return a draft from a web address or a saved file (a page, or a feed: its newest post).

    Raise FeedError, with the source named, when it cannot be read or holds no statement.
    """
    if urlsplit(source).scheme.lower() in ("http", "https"):
        async with aiohttp.ClientSession() as session:
            return await _draft_of(await fetch(session, source), session)
    return await _draft_of(_read_file(source), None)


def _read_file(source: str) -> Fetched:
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise TooLarge(f"{source} is {size:,} bytes, over the {MAX_BYTES:,}-byte limit")
        body = path.read_bytes()
    except IsADirectoryError:
        raise FeedError(f"{source} is a folder, not a saved page or feed") from None
    except FileNotFoundError:
        raise FeedError(f"{source}: no such file (a web address starts with https://)") from None
    except OSError as error:
        raise FeedError(f"cannot read {source}: {error.strerror}") from None
    url = _declared_address(body) or path.resolve().as_uri()
    return Fetched(url, 200, body, None, None, None, None)


def _declared_address(body: bytes) -> str | None:
    """Return the address a saved page says it was published at (canonical or og:url)."""
    if not looks_like_page(body):
        return None
    tree = parse_html(body)
    if tree is None:
        return None
    for element in tree.iterfind(".//link[@rel='canonical']"):
        return _web_address(element.get("href"))
    for element in tree.iterfind(".//meta[@property='og:url']"):
        return _web_address(element.get("content"))
    return None


def _web_address(value: str | None) -> str | None:
    text = (value or "").strip()
    return text if urlsplit(text).scheme.lower() in ("http", "https") else None


async def _draft_of(fetched: Fetched, session: aiohttp.ClientSession | None) -> Draft:
    if looks_like_feed(fetched.body):
        entries = read_feed(fetched.body, fetched.url)
        if not entries:
            raise NotAFeed(f"{fetched.url} is a feed with no posts")
        entry = entries[0]
        draft = draft_from_entry(entry)
        if SUMMARY_ONLY in draft.missing and entry.link and session is not None:
            page = await fetch(session, urljoin(fetched.url, entry.link))
            draft = draft_from_page(page.text(), page.url, entry=entry)
    elif looks_like_page(fetched.body):
        draft = draft_from_page(fetched.text(), fetched.url)
    else:
        raise NotAFeed(f"{fetched.url} is neither a web page nor an RSS or Atom feed")
    if draft.source is not None and _web_address(draft.source) is None:
        # A saved file that does not say where it was published: no link to give readers.
        missing = draft.missing if "source" in draft.missing else (*draft.missing, "source")
        draft = dataclasses.replace(draft, source=None, missing=missing)
    return draft
