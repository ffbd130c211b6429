"""The feed watcher (issue 15): new posts on a campaign's feed reach the organizers as drafts,
once, from the one process that sends, and a failing feed is reported once per failure run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.campaign import render
from bot.campaign.content import Statement, load_campaigns
from bot.storage import Storage

from .conftest import (
    ADMIN,
    ANA,
    POSTGRES_URL,
    Harness,
    campaign_folder,
    open_storage,
    serving,
    until,
)
from .fake_telegram import FakeTelegram
from .wordpress import (
    CHROME_WORDS,
    ETAG,
    FEED,
    MARCH,
    PAGE,
    WordPressSite,
    expected_body,
    rss_item,
)

ORGANIZER = 43  # a second organizer, beside ADMIN
ORGANIZERS = (ADMIN, ORGANIZER)
CAMPAIGN = """\
id: demo
title: Demo campaign
organization: Demo League
feed: {feed}
statements:
  - title: An older statement
    date: 2024-01-10
    author: Ana Example
    body: |
      The first words.
"""


def campaigns_with_feed(tmp_path: Path, feed: str) -> Path:
    """Return a campaigns folder of one campaign, `demo`, whose feed is at `feed`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return campaign_folder(tmp_path, CAMPAIGN.format(feed=feed))


@contextlib.asynccontextmanager
async def watching(
    storage: Storage,
    folder: Path,
    *,
    telegram: FakeTelegram | None = None,
    interval: float = 0.1,
    fetch_timeout: float = 5.0,
) -> AsyncIterator[Harness]:
    """Run the bot with two organizers, polling the campaigns' feeds every `interval` s."""
    async with serving(
        storage,
        folder,
        telegram=telegram,
        admins=frozenset(ORGANIZERS),
        feed_interval=interval,
        feed_options={"timeout": fetch_timeout},
    ) as bot:
        yield bot


def rafah_summary(site: WordPressSite) -> str:
    """Return the Rafah post as a feed gives it when it carries summaries only."""
    return rss_item(
        site.base,
        title="The Last Refuge is Resistance",
        slug="the-last-refuge-is-resistance",
        post_id=1234,
        description="All eyes are on Rafah, where over 1.5 million Palestinians seek "
        "refuge [&#8230;]",
    )


def march_post(site: WordPressSite, *, title: str = "Join the march on Saturday") -> str:
    """Return a short post the feed carries in full."""
    return rss_item(site.base, title=title, slug="join-the-march", post_id=1236, content=MARCH)


def feed_answers(site: WordPressSite, feed: str = FEED) -> list[int]:
    """Return the statuses the site answered to polls of its feed, in order."""
    return [status for path, status in site.answers if path.startswith(feed)]


def polls(site: WordPressSite, feed: str = FEED) -> int:
    """Return how many polls of its feed the site was asked."""
    return sum(1 for path in site.asked if path.startswith(feed))


async def polled(site: WordPressSite, times: int, feed: str = FEED) -> None:
    """Wait until the site has been asked `times` polls of its feed."""
    await until(lambda: polls(site, feed) >= times, f"{times} polls of the feed")


def questions(bot: Harness, chat: int) -> list[dict[str, Any]]:
    """Return the draft questions a chat got (the messages carrying draft buttons)."""
    return [
        message
        for message in bot.sent_to(chat)
        if any(
            str(button.get("callback_data", "")).startswith("fd:")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        )
    ]


def buttons_of(message: dict[str, Any]) -> dict[str, str]:
    """Return a message's buttons, label to callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


async def offered(bot: Harness, count: int = 1) -> list[dict[str, Any]]:
    """Wait until every organizer has `count` draft questions; return ADMIN's."""
    await until(
        lambda: all(len(questions(bot, chat)) >= count for chat in ORGANIZERS),
        f"{count} drafts offered to every organizer",
    )
    return questions(bot, ADMIN)


@pytest.fixture
async def site() -> AsyncIterator[WordPressSite]:
    """A WordPress site on loopback."""
    async with WordPressSite() as served:
        yield served


async def test_a_new_post_reaches_every_organizer_as_a_draft_with_three_buttons(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """Over HTTP: a summary-only post is drafted from its page, chrome left out, and each
    organizer gets the header, the statement as subscribers would get it, and three buttons."""
    site.items = [rafah_summary(site)]
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    async with FakeTelegram() as telegram, watching(storage, folder, telegram=telegram) as bot:
        [question] = await offered(bot)
        campaign = load_campaigns(folder).default
        expected = Statement.model_validate(
            {
                "title": "The Last Refuge is Resistance",
                "date": "2024-03-01",
                "author": "Len Cooper",
                "role": "ILPS Chairperson",
                "source": site.url(PAGE),
                "body": "\n\n".join(expected_body()[:-2]) + "\n",
            }
        )
        for chat in ORGANIZERS:
            sent = bot.texts(chat)
            assert sent[0] == texts.DRAFT_HEADER.format(site="127.0.0.1", campaign="Demo campaign")
            assert sent[1:-1] == render.statement(campaign, expected)
            assert sent[-1] == texts.DRAFT_QUESTION.format(campaign="demo")
            for word in CHROME_WORDS:
                assert all(word not in text for text in sent[1:-1]), word
            # Signed once: the renderer's "— Len Cooper, ILPS Chairperson", not the body's too.
            assert sum(text.count("Len Cooper") for text in sent[1:-1]) == 1
            assert sum(text.count("ILPS Chairperson") for text in sent[1:-1]) == 1
            assert buttons_of(questions(bot, chat)[0]) == {
                texts.BUTTON_DRAFT_ADD: "fd:add:1",
                texts.BUTTON_DRAFT_ANNOUNCE: "fd:ann:1",
                texts.BUTTON_DRAFT_IGNORE: "fd:ign:1",
            }
        assert question["chat"]["id"] == ADMIN
    assert (PAGE, 200) in site.answers  # the page was read for the whole text


async def test_the_first_poll_drafts_the_newest_post_and_the_next_is_a_304(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """Of a feed's three posts only the newest is offered; the next polls send the ETag, are
    answered 304, and draft nothing."""
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    async with watching(storage, folder) as bot:
        await offered(bot)
        await polled(site, 3)
        assert [len(questions(bot, chat)) for chat in ORGANIZERS] == [1, 1]
        assert bot.texts(ADMIN)[0].startswith(
            texts.DRAFT_HEADER.format(site="127.0.0.1", campaign="Demo campaign")
        )
    statuses = feed_answers(site)
    assert statuses[0] == 200
    assert set(statuses[1:]) == {304}
    asked = [headers for path, headers in site.requests if path == FEED]
    assert "If-None-Match" not in asked[0]
    assert asked[1]["If-None-Match"] == ETAG
    guids = [f"{site.base}/en/?p={number}" for number in (1240, 1236, 1234)]
    assert set(await storage.seen_feed_posts("demo", guids)) == set(guids)  # none again


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/en/slow", "did not answer within 0.5 seconds"),
        ("/en/huge", "over the 2,097,152-byte limit"),
        ("/en/no-feed/", "links to no RSS or Atom feed"),
    ],
)
async def test_a_failing_feed_is_logged_and_told_once_per_run_of_failures(
    storage: Storage,
    tmp_path: Path,
    site: WordPressSite,
    caplog: pytest.LogCaptureFixture,
    path: str,
    error: str,
) -> None:
    """A feed that times out, is 5 MB, or is no feed: a located warning at each poll, one
    message to each organizer, no draft, and the bot goes on answering."""
    url = site.url(path)
    folder = campaigns_with_feed(tmp_path, url)
    with caplog.at_level(logging.WARNING, logger="bot.delivery.feed_watch"):
        async with watching(storage, folder, fetch_timeout=0.5) as bot:
            await polled(site, 3, path)
            # The third poll's failure handled too (logged), however slow the machine.
            await until(
                lambda: (
                    sum(
                        r.getMessage().startswith(f"feed of campaign demo ({url}) failed")
                        for r in caplog.records
                    )
                    >= 3
                ),
                "three failures logged",
            )
            for chat in ORGANIZERS:
                told = bot.texts(chat)
                assert len(told) == 1, told
                assert told[0].startswith(
                    texts.FEED_FAILING.split("{campaign}")[0] + "Demo campaign"
                )
                assert error in told[0]
                assert questions(bot, chat) == []
            await bot.command("/start", user=ANA)
            assert bot.texts(ANA), "the bot still answers"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    located = [w for w in warnings if w.startswith(f"feed of campaign demo ({url}) failed")]
    assert len(located) >= 3, warnings
    assert all(error in w for w in located), located


async def test_a_feed_that_works_again_is_told_once(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """After a run of failures the organizers hear once that it works again, and its new
    post is drafted."""
    site.items, site.down = [march_post(site)], True
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    async with watching(storage, folder) as bot:
        await polled(site, 3)
        site.down = False
        await offered(bot)
        await polled(site, polls(site) + 2)
        for chat in ORGANIZERS:
            told = bot.texts(chat)
            failing = [t for t in told if t.startswith("⚠️")]
            again = [t for t in told if t.startswith("✅ The feed of")]
            assert len(failing) == 1
            assert "503" in failing[0]
            assert len(again) == 1
            failures = feed_answers(site).count(503)
            assert again == [
                texts.FEED_WORKS_AGAIN.format(campaign="Demo campaign", failures=failures)
            ]
            assert len(questions(bot, chat)) == 1


async def test_a_post_edited_after_it_was_drafted_is_not_drafted_again(
    storage: Storage, tmp_path: Path, site: WordPressSite, caplog: pytest.LogCaptureFixture
) -> None:
    """The same guid with a new title and text: logged at INFO, no second draft."""
    site.items = [march_post(site)]
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    with caplog.at_level(logging.INFO, logger="bot.delivery.feed_watch"):
        async with watching(storage, folder) as bot:
            await offered(bot)
            site.items = [march_post(site, title="Join the march on Sunday")]
            done = len(feed_answers(site))
            await polled(site, polls(site) + 3)
            assert 200 in feed_answers(site)[done:]  # the edited feed was read in full
            assert [len(questions(bot, chat)) for chat in ORGANIZERS] == [1, 1]
    edited = [r.getMessage() for r in caplog.records if "changed since" in r.getMessage()]
    assert edited == [
        f"post {site.base}/en/?p=1236 of campaign demo changed since it was first seen; "
        "not drafted again"
    ]


async def test_a_restart_between_polls_drafts_nothing_twice(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """A new Application on the same database offers only the post that is new since."""
    site.items = [march_post(site)]
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    async with watching(storage, folder) as bot:
        await offered(bot)
    site.items = [rafah_summary(site), march_post(site)]
    async with watching(storage, folder) as bot:
        [question] = await offered(bot)
        await polled(site, polls(site) + 2)
        assert [len(questions(bot, chat)) for chat in ORGANIZERS] == [1, 1]
        assert buttons_of(question)[texts.BUTTON_DRAFT_ADD] == "fd:add:2"
        assert "The Last Refuge is Resistance" in "".join(bot.texts(ADMIN))


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_of_two_processes_only_the_sending_one_polls(
    tmp_path: Path, site: WordPressSite
) -> None:
    """Two bots on one PostgreSQL database: only the one holding the sender lock polls; when
    it stops, the other takes over without offering the post again."""
    site.items = [march_post(site)]
    first = await open_storage("postgres", tmp_path)
    second = Storage.connect(POSTGRES_URL)
    folder_a = campaigns_with_feed(tmp_path / "a", site.url(FEED + "?from=a"))
    folder_b = campaigns_with_feed(tmp_path / "b", site.url(FEED + "?from=b"))
    try:
        async with contextlib.AsyncExitStack() as process_a:
            bot_a = await process_a.enter_async_context(watching(first, folder_a))
            await offered(bot_a)
            async with watching(second, folder_b) as bot_b:
                await polled(site, polls(site, FEED + "?from=a") + 5, FEED + "?from=a")
                assert polls(site, FEED + "?from=b") == 0
                assert bot_a.application.bot_data["services"].sender is not None
                assert bot_b.application.bot_data["services"].sender is None
                await process_a.aclose()  # the first process stops: its lock is free
                await polled(site, 2, FEED + "?from=b")
                assert bot_b.application.bot_data["services"].sender is not None
                assert questions(bot_b, ADMIN) == []  # seen already, by the other process
    finally:
        await first.close()
        await second.close()


async def test_without_organizers_no_feed_is_polled(
    storage: Storage, tmp_path: Path, site: WordPressSite, caplog: pytest.LogCaptureFixture
) -> None:
    """With nobody in BOT_ADMINS no post is claimed, since none could be offered: the feed is
    left alone and the log says why."""
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    with caplog.at_level(logging.WARNING, logger="bot.delivery.feed_watch"):
        async with serving(storage, folder, admins=frozenset(), feed_interval=0.05):
            await until(
                lambda: any("feeds not polled" in r.getMessage() for r in caplog.records),
                "the warning",
            )
            await asyncio.sleep(0.3)
    assert polls(site) == 0
