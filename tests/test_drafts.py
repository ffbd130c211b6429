"""Organizers decide on drafts from a campaign's feed (issue 15): add, add and announce, ignore;
each draft once, by an organizer only, and nothing reaches subscribers without a press."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot import texts
from bot.campaign import render
from bot.campaign.content import load_campaigns
from bot.campaign.statement_files import statement_files
from bot.feeds.statement_yaml import FILLED_AUTHOR, FILLED_DATE
from bot.storage import FeedItemState, Storage

from .conftest import ADMIN, ANA, BEN, Harness
from .test_feed_watch import (
    ORGANIZER,
    campaigns_with_feed,
    march_post,
    offered,
    questions,
    rafah_summary,
    watching,
)
from .test_privacy import rows_holding, shown_counts
from .wordpress import FEED, MARCH, WordPressSite, expected_body, rss_item

RAFAH = "The Last Refuge is Resistance"


@pytest.fixture
async def site() -> AsyncIterator[WordPressSite]:
    """A WordPress site on loopback whose feed holds the Rafah post, as a summary."""
    async with WordPressSite() as served:
        served.items = [rafah_summary(served)]
        yield served


@pytest.fixture
def folder(tmp_path: Path, site: WordPressSite) -> Path:
    """The campaigns folder: one campaign, `demo`, following the site's feed."""
    return campaigns_with_feed(tmp_path, site.url(FEED))


async def press(bot: Harness, data: str, user: int) -> str | None:
    """Press a draft button from `user`'s own draft question; return the alert shown, if any."""
    mine = questions(bot, user)
    message_id = int(mine[-1]["message_id"]) if mine else 1
    before = len(bot.answers())
    await bot.press(data, user=user, message_id=message_id)
    answer = bot.answers()[before:]
    return str(answer[-1].params.get("text")) if answer and answer[-1].params.get("text") else None


def written(folder: Path) -> list[Path]:
    """Return the statement files of the campaign `demo`."""
    return statement_files(folder / "demo.yaml")


async def test_add_writes_a_file_the_loader_accepts_and_statement_serves(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """Add: a new statement file that load_campaigns accepts; the bot serves it as /statement at
    once, the organizer is told its path, and the buttons are gone."""
    async with watching(storage, folder) as bot:
        await offered(bot)
        assert await press(bot, "fd:add:1", ADMIN) is None
        [path] = written(folder)
        assert path.parent == folder / "demo" / "statements"
        assert path.name == "2024-03-01-the-last-refuge-is-resistance.yaml"
        question = bot.sent_to(ADMIN)[-1]
        assert question["text"] == texts.DRAFT_ADDED.format(campaign="demo", path=path)
        assert "reply_markup" not in question or not question["reply_markup"]
        campaign = load_campaigns(folder).default
        assert campaign.statement.title == RAFAH
        assert campaign.statement.body == "\n\n".join(expected_body()[:-2]) + "\n"
        await bot.command("/statement", user=ANA)
        assert bot.texts(ANA) == render.statement(campaign, campaign.statement)
        post = await storage.feed_post(1)
        assert post is not None
        assert (post.state, post.decided_by, post.file) == (FeedItemState.ADDED, ADMIN, str(path))
        assert (await storage.stored_about(ADMIN)).audit_entries >= 2  # draft_add, reload


async def test_add_and_announce_leads_to_the_preview_and_send_delivers(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """Add and announce…: the usual /announce preview of the new statement, and Send delivers
    it to the subscribers, who got nothing before."""
    async with watching(storage, folder) as bot:
        for person in (ANA, BEN):
            await bot.command("/subscribe", user=person)
        await offered(bot)
        subscribed = {person: len(bot.texts(person)) for person in (ANA, BEN)}
        await press(bot, "fd:ann:1", ADMIN)
        assert bot.buttons(ADMIN) == {
            texts.BUTTON_SEND: "bc:send:1",
            texts.BUTTON_TEST: "bc:test:1",
            texts.BUTTON_CANCEL: "bc:cancel:1",
            texts.BUTTON_TEST: "bc:test:1",
        }
        assert texts.BROADCAST_SEND_NOW in bot.texts(ADMIN)[-1]
        for person in (ANA, BEN):
            assert len(bot.texts(person)) == subscribed[person], "nothing before Send"
        await bot.press("bc:send:1", user=ADMIN, message_id=int(bot.last(ADMIN)["message_id"]))
        await bot.settle()
        campaign = load_campaigns(folder).default
        for person in (ANA, BEN):
            assert bot.texts(person)[subscribed[person] :] == render.statement(
                campaign, campaign.statement
            )
        assert campaign.statement.title == RAFAH


async def test_ignore_then_a_second_press_says_who_decided(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """Ignore marks the draft; any later press, by anyone, answers who decided and writes
    nothing."""
    async with watching(storage, folder) as bot:
        await offered(bot)
        assert await press(bot, "fd:ign:1", ADMIN) is None
        assert bot.sent_to(ADMIN)[-1]["text"] == texts.DRAFT_IGNORED
        other = await press(bot, "fd:add:1", ORGANIZER)
        assert other is not None
        assert other.startswith(texts.DRAFT_ALREADY_IGNORED.split("{who}")[0] + "organizer 42 on ")
        again = await press(bot, "fd:ign:1", ADMIN)
        assert again is not None
        assert again.startswith(texts.DRAFT_ALREADY_IGNORED.split("{who}")[0] + "you on ")
        assert bot.sent_to(ORGANIZER)[-1]["text"] == other  # its buttons are gone too
        assert written(folder) == []
        post = await storage.feed_post(1)
        assert post is not None
        assert (post.state, post.decided_by) == (FeedItemState.IGNORED, ADMIN)


async def test_two_organizers_pressing_at_once_add_it_once(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """Two organizers pressing Add at the same moment: one file, one decision."""
    async with watching(storage, folder) as bot:
        await offered(bot)
        await asyncio.gather(press(bot, "fd:add:1", ADMIN), press(bot, "fd:add:1", ORGANIZER))
        assert len(written(folder)) == 1
        alerts = [str(call.params.get("text") or "") for call in bot.answers()[-2:]]
        assert sorted(bool(alert) for alert in alerts) == [False, True]
        assert any(alert.startswith("This draft was already added, by ") for alert in alerts)


async def test_a_non_organizer_press_is_refused(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """Someone outside BOT_ADMINS pressing (or forging) a draft button changes nothing."""
    async with watching(storage, folder) as bot:
        await offered(bot)
        for data in ("fd:add:1", "fd:ann:1", "fd:ign:1"):
            assert await press(bot, data, ANA) == texts.NOT_ADMIN
        assert written(folder) == []
        post = await storage.feed_post(1)
        assert post is not None
        assert post.state is FeedItemState.DRAFTED
        assert await press(bot, "fd:add:1", ADMIN) is None  # still there for organizers
        assert len(written(folder)) == 1


async def test_a_post_without_date_or_body_can_only_be_ignored(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """A post with neither date, author nor text: the header says so, Ignore is the only button,
    and a forged Add is refused with the reason."""
    site.items = [
        rss_item(
            site.base, title="Photos", slug="photos", post_id=1240, pub_date=None, creator=None
        )
    ]
    async with watching(storage, folder) as bot:
        [question] = await offered(bot)
        header = bot.texts(ADMIN)[0]
        assert texts.DRAFT_MISSING.format(fields="date, author, text") in header
        assert question["text"] == texts.DRAFT_CANNOT_ADD.format(
            title="Photos", reason=texts.DRAFT_NO_TEXT
        )
        assert [
            b["callback_data"] for row in question["reply_markup"]["inline_keyboard"] for b in row
        ] == ["fd:ign:1"]
        refused = await press(bot, "fd:add:1", ADMIN)
        assert refused == texts.DRAFT_CANNOT_ADD.format(title="Photos", reason=texts.DRAFT_NO_TEXT)
        assert written(folder) == []
        assert await press(bot, "fd:ign:1", ADMIN) is None


async def test_a_post_without_date_or_author_is_completed_and_says_so(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """No date: the day it was read; no author: the campaign's organization; the header and
    the file's comments say so, and the file loads."""
    site.items = [
        rss_item(
            site.base,
            title="Join the march",
            slug="join-the-march",
            post_id=1236,
            pub_date=None,
            creator=None,
            content=MARCH,
        )
    ]
    async with watching(storage, folder) as bot:
        await offered(bot)
        header = bot.texts(ADMIN)[0]
        assert "It is signed by Demo League, the campaign's organization." in header
        assert "It is dated " in header
        await press(bot, "fd:add:1", ADMIN)
        [path] = written(folder)
        text = path.read_text(encoding="utf-8")
        assert f"# date: {FILLED_DATE}\n" in text
        assert f"# author: {FILLED_AUTHOR}\n" in text
        post = await storage.feed_post(1)
        assert post is not None
        loaded = yaml.safe_load(text)
        assert loaded["date"] == post.seen_at.date().isoformat()
        assert loaded["date"] == dt.datetime.now(dt.UTC).date().isoformat()
        assert loaded["author"] == "Demo League"
        latest = load_campaigns(folder).default.statement
        assert (latest.title, latest.author) == ("Join the march", "Demo League")


async def test_an_older_post_added_is_listed_but_not_announced(
    storage: Storage, tmp_path: Path, site: WordPressSite
) -> None:
    """A post dated before the campaign's latest statement is added, and the organizer is told
    that the latest stays, instead of getting an announcement of another statement."""
    site.items = [march_post(site)]  # dated 2024-03-01
    folder = campaigns_with_feed(tmp_path, site.url(FEED))
    newer = (folder / "demo.yaml").read_text().replace("2024-01-10", "2025-01-10")
    (folder / "demo.yaml").write_text(newer)
    async with watching(storage, folder) as bot:
        await bot.command("/subscribe", user=ANA)
        await offered(bot)
        await press(bot, "fd:ann:1", ADMIN)
        assert bot.texts(ADMIN)[-1] == texts.DRAFT_NOT_LATEST.format(latest="An older statement")
        assert len(written(folder)) == 1
        assert await storage.broadcast(1) is None  # no preview was prepared


async def test_mydata_counts_decisions_and_forget_erases_the_organizer_from_them(
    storage: Storage, folder: Path, site: WordPressSite
) -> None:
    """The deciding organizer's id is shown by /mydata and taken off the decision by /forget."""
    async with watching(storage, folder) as bot:
        await offered(bot)
        await press(bot, "fd:ign:1", ADMIN)
        await bot.command("/mydata", user=ADMIN)
        shown = bot.texts(ADMIN)[-1]
        assert texts.MYDATA_FEED_DECISIONS.format(count=1) in shown
        assert shown_counts(shown) == await rows_holding(storage, ADMIN)
        await bot.command("/forget", user=ADMIN)
        await bot.press("forget:yes", user=ADMIN, message_id=int(bot.last(ADMIN)["message_id"]))
        assert await rows_holding(storage, ADMIN) == {}
        post = await storage.feed_post(1)
        assert post is not None
        assert (post.state, post.decided_by) == (FeedItemState.IGNORED, None)
