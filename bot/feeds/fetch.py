"""Fetching a feed or web page over HTTP: conditional, time-boxed, size-capped."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
import lxml.etree
import lxml.html

# A statement page with all its theme chrome weighs 100-300 KB and a WordPress feed of ten full
# posts well under 1 MB; 2 MB leaves room and still bounds what a wrong link can make us hold.
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = 20.0  # seconds for the whole exchange, redirects and body included
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
USER_AGENT = "solidarity-bot (feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, */*;q=0.5"
)
FEED_TYPES = ("application/rss+xml", "application/atom+xml")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class FeedError(Exception):
    """A feed or page that could not be fetched or read; the message is one plain sentence."""


class UnsupportedUrl(FeedError):
    """An address that is not http:// or https://."""


class FetchTimeout(FeedError):
    """The server did not answer in full within the time allowed."""


class TooLarge(FeedError):
    """The answer is bigger than the size cap."""


class HttpStatus(FeedError):
    """The server answered with an error status."""

    def __init__(self, url: str, status: int, reason: str | None) -> None:
        super().__init__(f"{url} answered {status} {reason or ''}".rstrip())
        self.url = url
        self.status = status


class Unreachable(FeedError):
    """The server could not be reached, or broke off the exchange."""


class NotAFeed(FeedError):
    """What was fetched is neither an RSS/Atom feed nor a page that links to one."""


@dataclass(frozen=True)
class Fetched:
    """One answer: its body (empty when not modified) and what to send next time to skip it."""

    url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        """Return whether the server said nothing changed since the given ETag or date."""
        return self.status == 304

    def text(self) -> str:
        """Return the body decoded by the charset the server or the page declares, else UTF-8."""
        declared = self.charset or _meta_charset(self.body)
        if declared:
            try:
                return self.body.decode(declared, "replace")
            except LookupError:  # a charset name Python does not know
                pass
        return self.body.decode("utf-8", "replace")


def _meta_charset(body: bytes) -> str | None:
    match = _CHARSET.search(body[:4096])
    return match[1].decode("ascii") if match else None


def check_url(url: str) -> str:
    """Return url unchanged if it is an http(s) address, else raise UnsupportedUrl."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UnsupportedUrl(
            f"{url!r} is not a web address: it must start with http:// or https://"
        )
    return url.strip()


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    # Not left to the caller's asyncio.timeout: the error then names the URL and the limit.
    timeout: float = TIMEOUT,  # noqa: ASYNC109
    max_bytes: int = MAX_BYTES,
) -> Fetched:
    """Fetch url, conditionally on etag/last_modified, within timeout seconds and max_bytes."""
    url = check_url(url)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        # One deadline for everything: aiohttp's own read timeout restarts with every chunk, so
        # a server trickling a byte a second would never trip it.
        async with asyncio.timeout(timeout):
            async with session.get(
                url,
                headers=headers,
                allow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                raise_for_status=False,  # statuses are ours to read, whatever the session says
            ) as response:
                return await _answer(response, url, etag, last_modified, max_bytes)
    except TimeoutError:
        raise FetchTimeout(f"{url} did not answer within {timeout:g} seconds") from None
    except aiohttp.TooManyRedirects:
        raise Unreachable(f"{url} redirects {MAX_REDIRECTS} times or more") from None
    except aiohttp.InvalidURL as error:
        # Also a redirect to a non-web address (aiohttp's NonHttpUrlRedirectClientError).
        raise UnsupportedUrl(f"{url} led to {error.url!s}, which is not a web address") from None
    except aiohttp.ClientError as error:
        raise Unreachable(f"{url} could not be reached ({type(error).__name__})") from None


async def _answer(
    response: aiohttp.ClientResponse,
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> Fetched:
    final = str(response.url)
    if response.status == 304:
        # A 304 may omit the validators; the ones we sent are still the current ones.
        return Fetched(
            url=final,
            status=304,
            body=b"",
            content_type=None,
            charset=None,
            etag=response.headers.get("ETag", etag),
            last_modified=response.headers.get("Last-Modified", last_modified),
        )
    if not 200 <= response.status < 300:
        raise HttpStatus(final, response.status, response.reason)
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        response.close()
        raise TooLarge(f"{final} is {declared:,} bytes, over the {max_bytes:,}-byte limit")
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > max_bytes:
            # Closing drops the connection, so the rest is never read (nor sent, once the
            # server notices).
            response.close()
            raise TooLarge(f"{final} is over the {max_bytes:,}-byte limit")
    return Fetched(
        url=final,
        status=response.status,
        body=bytes(body),
        content_type=response.content_type if "Content-Type" in response.headers else None,
        charset=response.charset,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def parse_html(html: str | bytes) -> lxml.html.HtmlElement | None:
    """Parse a web page leniently; return None when there is no document to parse."""
    if isinstance(html, str):
        # lxml refuses text that still carries an XML encoding declaration.
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def discover_feed(html: str | bytes, base_url: str) -> str | None:
    """Return the absolute URL of the site feed a page links to, or None."""
    tree = parse_html(html)
    if tree is None:
        return None
    base: str = base_url
    for element in tree.iterfind(".//base[@href]"):
        base = urljoin(base_url, element.get("href", ""))
        break
    for link in tree.iterfind(".//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        href: str = link.get("href", "").strip()
        # WordPress lists the site feed first, then the comment feeds; those carry no posts.
        title = (link.get("title") or "").lower()
        if not href or "comments feed" in title or "/comments/feed" in href:
            continue
        found = urljoin(base, href)
        if urlsplit(found).scheme in ("http", "https"):
            return found
    return None


def looks_like_feed(body: bytes) -> bool:
    """Return whether body starts like an RSS, RDF or Atom document rather than a web page."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<!doctype html") or b"<html" in head[:512]:
        return False
    return any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf"))


def looks_like_page(body: bytes) -> bool:
    """Return whether body starts like an HTML document."""
    head = body[:4096].lower()
    return any(tag in head for tag in (b"<!doctype html", b"<html", b"<head", b"<body"))


async def fetch_feed(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = TIMEOUT,  # noqa: ASYNC109 (as in fetch)
    max_bytes: int = MAX_BYTES,
) -> Fetched:
    """Fetch a feed, or a web page and then the feed it links to; raise NotAFeed if neither."""
    fetched = await fetch(
        session,
        url,
        etag=etag,
        last_modified=last_modified,
        timeout=timeout,
        max_bytes=max_bytes,
    )
    if fetched.not_modified or looks_like_feed(fetched.body):
        return fetched
    if not looks_like_page(fetched.body):
        raise NotAFeed(f"{fetched.url} is neither a feed nor a web page")
    feed_url = discover_feed(fetched.text(), fetched.url)
    if feed_url is None:
        raise NotAFeed(f"{fetched.url} is a web page that links to no RSS or Atom feed")
    # The validators given were for the page's URL; the feed's are its own, kept by the caller.
    feed = await fetch(session, feed_url, timeout=timeout, max_bytes=max_bytes)
    if not looks_like_feed(feed.body):
        raise NotAFeed(f"{fetched.url} links to {feed_url}, which is not an RSS or Atom feed")
    return feed
