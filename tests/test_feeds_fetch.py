"""Fetching feeds and pages: conditional requests, redirects, time and size limits, discovery."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.feeds.fetch import (
    Fetched,
    FetchTimeout,
    HttpStatus,
    NotAFeed,
    TooLarge,
    Unreachable,
    UnsupportedUrl,
    discover_feed,
    fetch,
    fetch_feed,
)

from .wordpress import ETAG, FEED, HUGE, LAST_MODIFIED, PAGE, WordPressSite, article_html

CAP = 2 * 1024 * 1024


@pytest.fixture
async def site() -> AsyncIterator[WordPressSite]:
    async with WordPressSite() as served:
        yield served


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def _headers_of(site: WordPressSite, path: str) -> dict[str, str]:
    return next(headers for seen, headers in site.requests if seen == path)


async def test_a_feed_comes_with_its_validators(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A first fetch returns the feed's body, type, charset, ETag and Last-Modified."""
    fetched = await fetch(session, site.url(FEED))
    assert fetched.status == 200
    assert not fetched.not_modified
    assert fetched.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><rss')
    assert (fetched.content_type, fetched.charset) == ("application/rss+xml", "UTF-8")
    assert (fetched.etag, fetched.last_modified) == (ETAG, LAST_MODIFIED)
    assert fetched.url == site.url(FEED)


async def test_an_unchanged_feed_by_etag_is_not_modified(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """With the ETag sent back as If-None-Match, a 304 comes back as not_modified, no body."""
    fetched = await fetch(session, site.url(FEED), etag=ETAG)
    assert _headers_of(site, FEED)["If-None-Match"] == ETAG
    assert fetched.not_modified
    assert fetched.body == b""
    assert fetched.etag == ETAG


async def test_an_unchanged_feed_by_date_keeps_the_date_sent(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """With If-Modified-Since, a 304 that omits Last-Modified keeps the date that was sent."""
    fetched = await fetch(session, site.url(FEED), last_modified=LAST_MODIFIED)
    assert _headers_of(site, FEED)["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in _headers_of(site, FEED)
    assert fetched.not_modified
    assert fetched.last_modified == LAST_MODIFIED


async def test_a_stale_etag_gets_the_new_feed(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """An ETag the server no longer has brings the whole feed and the new ETag."""
    fetched = await fetch(session, site.url(FEED), etag='"old"')
    assert fetched.status == 200
    assert fetched.etag == ETAG
    assert b"<item>" in fetched.body


async def test_redirects_are_followed_to_the_final_address(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A moved feed is fetched from where it moved, and that address is reported."""
    fetched = await fetch(session, site.url("/en/moved"))
    assert fetched.url == site.url(FEED)
    assert b"<rss" in fetched.body


async def test_a_redirect_loop_is_an_error(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A page redirecting to itself fails after a few hops, naming the address."""
    with pytest.raises(Unreachable, match=r"/en/loop redirects 5 times or more"):
        await fetch(session, site.url("/en/loop"))
    assert 2 <= len(site.requests) <= 6


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)", "feed.xml"]
)
async def test_only_web_addresses_are_fetched(session: aiohttp.ClientSession, url: str) -> None:
    """Anything but http(s) is refused before any request, with the address in the message."""
    with pytest.raises(UnsupportedUrl, match="is not a web address") as error:
        await fetch(session, url)
    assert url in str(error.value)


async def test_an_error_status_is_a_feed_error(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A 404 raises HttpStatus carrying the status and naming the address."""
    with pytest.raises(HttpStatus, match=r"/en/gone answered 404 Not Found") as error:
        await fetch(session, site.url("/en/gone"))
    assert error.value.status == 404


async def test_a_server_that_never_answers_times_out(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A server that keeps the request waiting raises FetchTimeout once the time is up."""
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"/en/slow did not answer within 0.3 seconds"):
        await fetch(session, site.url("/en/slow"), timeout=0.3)
    assert time.monotonic() - started < 2


async def test_a_trickling_server_times_out_in_total(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A body dripping a byte at a time still ends at the total time limit."""
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        await fetch(session, site.url("/en/trickle"), timeout=0.4)
    assert time.monotonic() - started < 2


async def test_a_huge_page_is_cut_off_at_the_cap(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A 5 MB page with no declared length raises TooLarge at 2 MB and is never read whole."""
    with pytest.raises(TooLarge, match="over the 2,097,152-byte limit"):
        await fetch(session, site.url("/en/huge"), max_bytes=CAP)
    # Unstopped, the server would finish its paced 5 MB within 0.2 s of the cut.
    await asyncio.sleep(0.5)
    assert "/en/huge" not in site.finished
    assert CAP <= site.sent["/en/huge"] < HUGE


async def test_a_page_under_the_cap_is_read_whole(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """The same 5 MB page under a 6 MB cap arrives whole: the cap, not the server, cut it above."""
    fetched = await fetch(session, site.url("/en/huge"), max_bytes=6 * 1024 * 1024)
    assert len(fetched.body) == site.sent["/en/huge"] >= HUGE
    assert "/en/huge" in site.finished


async def test_a_declared_huge_page_is_refused_unread(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A Content-Length over the cap is refused from the headers, before reading the body."""
    with pytest.raises(TooLarge, match=r"is 5,242,880 bytes, over the 2,097,152-byte limit"):
        await fetch(session, site.url("/en/huge-declared"), max_bytes=CAP)
    await asyncio.sleep(0.3)
    assert site.sent["/en/huge-declared"] < CAP


async def test_an_unreachable_server_is_a_feed_error(session: aiohttp.ClientSession) -> None:
    """Nothing listening on the port raises Unreachable, naming the address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable, match=rf"127\.0\.0\.1:{port}/feed could not be reached"):
        await fetch(session, f"http://127.0.0.1:{port}/feed")


def test_discovery_finds_the_site_feed_not_the_comments_feed() -> None:
    """A WordPress page's first feed link, made absolute, is the feed; comment feeds are not."""
    page = article_html("Title", "<p>Text.</p>").replace(
        '<link rel="alternate" type="application/rss+xml" title="ILPS &raquo; Feed"',
        '<link rel="alternate" type="application/rss+xml" title="ILPS &raquo; Comments Feed" '
        'href="/en/the-post/feed/">\n'
        '<link rel="alternate" type="application/rss+xml" title="ILPS &raquo; Feed"',
    )
    assert discover_feed(page, "https://peoplesstruggle.org/en/the-post/") == (
        "https://peoplesstruggle.org/en/feed/"
    )


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (
            '<link rel="alternate" type="application/atom+xml" href="atom.xml">',
            "https://example.org/blog/atom.xml",
        ),
        (
            '<base href="https://cdn.example.org/site/">'
            '<link rel="Alternate" type="application/rss+xml; charset=UTF-8" href="rss">',
            "https://cdn.example.org/site/rss",
        ),
        ('<link rel="stylesheet" type="text/css" href="style.css">', None),
        ('<link rel="alternate" type="application/json" href="/wp-json/">', None),
        ('<link rel="alternate" hreflang="es" href="/es/">', None),
    ],
)
def test_discovery_reads_only_rss_and_atom_links(head: str, found: str | None) -> None:
    """Atom and RSS alternates count, relative to the page or its <base>; other links do not."""
    page = f"<!DOCTYPE html><html><head>{head}</head><body><p>x</p></body></html>"
    assert discover_feed(page, "https://example.org/blog/post.html") == found


@pytest.mark.parametrize("page", ["", "   ", "not html at all", "<?xml version='1.0'?><x/>"])
def test_discovery_in_a_page_without_links_finds_nothing(page: str) -> None:
    """Empty or odd input has no feed, and raises nothing."""
    assert discover_feed(page, "https://example.org/") is None


async def test_a_page_leads_to_its_feed(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """Given an article page, fetch_feed fetches the feed that page links to."""
    fetched = await fetch_feed(session, site.url(PAGE))
    assert fetched.url == site.url(FEED)
    assert b"<rss" in fetched.body
    assert [path for path, _ in site.requests] == [PAGE, FEED]


async def test_a_feed_address_is_fetched_once(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """Given the feed itself, fetch_feed makes one request."""
    fetched = await fetch_feed(session, site.url(FEED))
    assert fetched.url == site.url(FEED)
    assert len(site.requests) == 1


async def test_a_page_without_a_feed_link_is_not_a_feed(
    site: WordPressSite, session: aiohttp.ClientSession
) -> None:
    """A web page linking to no feed raises NotAFeed saying so."""
    with pytest.raises(NotAFeed, match=r"/en/no-feed/ is a web page that links to no RSS or Atom"):
        await fetch_feed(session, site.url("/en/no-feed/"))


async def test_garbage_is_not_a_feed(site: WordPressSite, session: aiohttp.ClientSession) -> None:
    """Bytes that are neither a feed nor a page raise NotAFeed."""
    with pytest.raises(NotAFeed, match=r"/en/garbage is neither a feed nor a web page"):
        await fetch_feed(session, site.url("/en/garbage"))


def _fetched(body: bytes, charset: str | None) -> Fetched:
    return Fetched("https://example.org/", 200, body, "text/html", charset, None, None)


@pytest.mark.parametrize(
    ("body", "charset"),
    [
        ("<p>Solidarité</p>".encode("latin-1"), "iso-8859-1"),
        ('<meta charset="iso-8859-1"><p>Solidarité</p>'.encode("latin-1"), None),
        ("<p>Solidarité</p>".encode(), None),
        ("<p>Solidarité</p>".encode(), "no-such-charset"),
    ],
)
def test_text_is_decoded_by_the_declared_charset(body: bytes, charset: str | None) -> None:
    """The header's charset wins, then the page's <meta>, then UTF-8."""
    assert "Solidarité" in _fetched(body, charset).text()
