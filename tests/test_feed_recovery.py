"""The feed watcher when things go wrong around a post: a draft that reached nobody, a site
that changed every post's address, and a post that links off its site."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import texts
from bot.storage import Storage

from .conftest import until
from .test_feed_watch import (
    ADMIN,
    ORGANIZERS,
    campaigns_with_feed,
    march_post,
    offered,
    polled,
    questions,
    watching,
)
from .wordpress import FEED, PAGE, WordPressSite, rss_item


@pytest.fixture
async def site() -> AsyncIterator[WordPressSite]:
    """A WordPress site on loopback."""
    async with WordPressSite() as served:
        yield served


def post(site: WordPressSite, number: int) -> str:
    """Return a short post the feed carries in full, with its own id."""
    return rss_item(
        site.base,
        title=f"Post number {number}",
        slug=f"post-{number}",
        post_id=2000 + number,
        content=f"<p>The text of post {number}, in full.</p>",
    )


async def test_a_draft_that_reached_nobody_is_offered_again(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """While Telegram refuses every organizer (they never started the bot), the claimed draft
    waits; once they can be reached, the next poll offers it, once each."""
    site.items = [march_post(site)]
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    async with watching(storage, folder) as bot:
        bot.api.blocked.update(ORGANIZERS)
        await polled(site, 3)
        assert [questions(bot, chat) for chat in ORGANIZERS] == [[], []]
        assert [p.item_id for p in await storage.unoffered_feed_posts("demo")] == [1]
        bot.api.blocked.clear()
        [question] = await offered(bot)
        await polled(site, polls_now(site) + 2)
        assert [len(questions(bot, chat)) for chat in ORGANIZERS] == [1, 1]
    assert question["chat"]["id"] == ADMIN
    assert await storage.unoffered_feed_posts("demo") == []


def polls_now(site: WordPressSite) -> int:
    """Return how many polls of the feed the site has been asked so far."""
    return sum(1 for path in site.asked if path.startswith(FEED))


async def test_a_site_that_changed_every_address_offers_nothing_and_says_so(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """After the first read, a feed whose every post is new at once (more than three) offers
    none and tells the organizers once; a post new after that is offered as usual."""
    site.items = [march_post(site)]
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    async with watching(storage, folder) as bot:
        await offered(bot)
        site.items = [post(site, number) for number in range(5, 0, -1)]
        told = texts.FEED_ALL_NEW.format(campaign="Demo campaign", count=5)
        await until(lambda: told in bot.texts(ADMIN), "the organizers told")
        await polled(site, polls_now(site) + 2)
        assert [len(questions(bot, chat)) for chat in ORGANIZERS] == [1, 1]
        assert [bot.texts(chat).count(told) for chat in ORGANIZERS] == [1, 1]
        site.items = [post(site, 6), *site.items]
        await offered(bot, 2)
        assert "Post number 6" in bot.texts(ADMIN)[-2]


async def test_a_post_linking_off_its_site_is_not_fetched(
    storage: Storage, tmp_path: Path, site: WordPressSite, caplog: pytest.LogCaptureFixture
) -> None:
    """A summary-only post whose link leaves the campaign's site (here the same server under
    another name) is drafted from the feed; its page is never asked for."""
    elsewhere = site.base.replace("127.0.0.1", "localhost")
    site.items = [
        rss_item(
            elsewhere,
            title="The Last Refuge is Resistance",
            slug="the-last-refuge-is-resistance",
            post_id=1234,
            description="All eyes are on Rafah, where over 1.5 million Palestinians seek "
            "refuge [&#8230;]",
        )
    ]
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    with caplog.at_level(logging.WARNING, logger="bot.delivery.feed_watch"):
        async with watching(storage, folder) as bot:
            await offered(bot)
            assert "All eyes are on Rafah" in "\n".join(bot.texts(ADMIN))
    assert not any(path == PAGE for path in site.asked)
    assert any("links off its site" in r.getMessage() for r in caplog.records)
