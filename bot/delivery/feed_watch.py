"""The feed watcher: new posts on a campaign's feed become drafts offered to the organizers.

Every FEED_INTERVAL seconds, in the one process that sends (beside the broadcasts and the
reminders), each campaign with a `feed:` is polled, conditionally. A post not seen before is
claimed in the database (bot/storage/feeds.py), so it is drafted once across restarts and
processes, and offered to each organizer with buttons (bot/handlers/drafts.py decides). The
first time a feed is read only its newest post is drafted: the older ones are recorded as
already there, so adding a feed to a campaign does not bury the organizers in old posts.
Nothing reaches subscribers without an organizer's press.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot import i18n, texts
from bot.campaign import render
from bot.campaign.content import Campaign, Content
from bot.campaign.markup import escape
from bot.delivery.sender import duration
from bot.feeds.extract import (
    SUMMARY_ONLY,
    Draft,
    Entry,
    draft_from_entry,
    draft_from_page,
    read_feed,
)
from bot.feeds.fetch import MAX_BYTES, TIMEOUT, FeedError, fetch, fetch_feed
from bot.feeds.statement_yaml import as_statement, complete, lacking
from bot.i18n import gettext as _
from bot.storage import FeedItemState, Storage

logger = logging.getLogger(__name__)

# A feed whose every guid changed at once (a site moved to https) would otherwise offer all its
# posts again: beyond this many in one poll, the older new ones are recorded, not offered.
MAX_DRAFTS_PER_POLL = 3

_FIELD_NAMES = {
    "title": texts.DRAFT_FIELD_TITLE,
    "date": texts.DRAFT_FIELD_DATE,
    "author": texts.DRAFT_FIELD_AUTHOR,
    "source": texts.DRAFT_FIELD_SOURCE,
    "body": texts.DRAFT_FIELD_BODY,
    SUMMARY_ONLY: texts.DRAFT_FIELD_FULL_TEXT,
}


def entry_digest(entry: Entry) -> str:
    """Return a fingerprint of a post as the feed gives it, to notice when it is edited."""
    return hashlib.sha256(repr(entry).encode()).hexdigest()


def same_site(url: str, site: str) -> bool:
    """Tell whether url is on the website `site` names (its host, a www. twin, or a subdomain)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    home = (urlsplit(site).hostname or "").removeprefix("www.")
    return bool(host and home) and (host == home or host.endswith("." + home))


def draft_fields(draft: Draft) -> dict[str, Any]:
    """Return a draft as the plain values stored with its post."""
    fields = dataclasses.asdict(draft)
    fields["missing"] = list(draft.missing)
    return fields


def stored_draft(fields: dict[str, Any]) -> Draft:
    """Return the draft stored with a post."""
    return Draft(**{**fields, "missing": tuple(fields.get("missing", ()))})


def draft_buttons(item_id: int, *, addable: bool) -> InlineKeyboardMarkup:
    """Return a draft's buttons: add, add and announce, ignore (ignore alone if it cannot be)."""
    ignore = InlineKeyboardButton(_(texts.BUTTON_DRAFT_IGNORE), callback_data=f"fd:ign:{item_id}")
    if not addable:
        return InlineKeyboardMarkup([[ignore]])
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_(texts.BUTTON_DRAFT_ADD), callback_data=f"fd:add:{item_id}")],
            [
                InlineKeyboardButton(
                    _(texts.BUTTON_DRAFT_ANNOUNCE), callback_data=f"fd:ann:{item_id}"
                )
            ],
            [ignore],
        ]
    )


def draft_messages(
    campaign: Campaign, item_id: int, draft: Draft, read_on: dt.date
) -> tuple[list[str], InlineKeyboardMarkup]:
    """Return what an organizer is shown of a draft, in the current language: a header, the
    statement exactly as subscribers would get it, and a question with the buttons."""
    site = urlsplit(draft.source or campaign.feed or "").hostname or "?"
    header = [_(texts.DRAFT_HEADER).format(site=escape(site), campaign=escape(campaign.title))]
    if draft.missing:
        names = ", ".join(_(_FIELD_NAMES.get(field, field)) for field in draft.missing)
        header.append(_(texts.DRAFT_MISSING).format(fields=names))
    completed, filled = complete(draft, campaign.organization, read_on)
    if "date" in filled:
        day = i18n.format_day(read_on)
        header.append(_(texts.DRAFT_FILLED_DATE).format(date=escape(day)))
    if "author" in filled:
        header.append(
            _(texts.DRAFT_FILLED_AUTHOR).format(organization=escape(campaign.organization))
        )
    statement = as_statement(completed) if not lacking(completed) else None
    if statement is None:
        reason = _(texts.DRAFT_NO_TEXT) if not draft.body.strip() else _(texts.DRAFT_NO_TITLE)
        title = draft.title or _(texts.DRAFT_UNTITLED)
        question = _(texts.DRAFT_CANNOT_ADD).format(title=escape(title), reason=reason)
        return ["\n".join(header), question], draft_buttons(item_id, addable=False)
    question = _(texts.DRAFT_QUESTION).format(campaign=escape(campaign.id))
    parts = ["\n".join(header), *render.statement(campaign, statement), question]
    return parts, draft_buttons(item_id, addable=True)


class FeedWatch:
    """Polls the campaigns' feeds; `poll_all` is what the loop does every `interval` seconds."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        content: Callable[[], Content],
        *,
        organizers: frozenset[int],
        interval: float,
        language_of: Callable[[int], str | None] = lambda _chat: None,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
        fetch_pages: bool = True,
        zone: dt.tzinfo = dt.UTC,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.content = content  # read at each poll: /reload may have changed the feeds
        self.organizers = organizers
        self.interval = interval
        self.language_of = language_of  # the language each organizer chose, if any
        self.timeout = timeout
        self.max_bytes = max_bytes
        # False in the preview, which stays offline: a cut-short post is drafted from the feed.
        self.fetch_pages = fetch_pages
        self.zone = zone  # organizers' time zone: a post's day read is the day there

    async def run(self) -> None:
        """Poll every feed now and then every `interval` seconds, until cancelled."""
        if not self.organizers:
            # A post claimed with nobody to offer it to would never be offered: wait for them.
            logger.warning("no organizers (BOT_ADMINS) to offer drafts to: feeds not polled")
            return
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await self.poll_all(session)
                except Exception:
                    logger.exception("cannot poll the campaigns' feeds; trying again later")
                await asyncio.sleep(self.interval)

    async def poll_all(self, session: aiohttp.ClientSession) -> int:
        """Poll each campaign's feed once; return how many drafts were offered."""
        offered = 0
        for campaign in self.content().campaigns:
            if campaign.feed is None:
                continue
            try:
                offered += await self.offer_waiting(campaign)
                offered += await self.poll(session, campaign, campaign.feed)
            except Exception:
                # A bug met on one campaign's posts must not stop the others' being read.
                logger.exception("cannot poll the feed of campaign %s", campaign.id)
        return offered

    async def offer_waiting(self, campaign: Campaign) -> int:
        """Offer again the drafts that reached no organizer (Telegram refused, or the process
        stopped mid-offer); return how many reached one now."""
        offered = 0
        for post in await self.storage.unoffered_feed_posts(campaign.id):
            if post.draft is None:
                continue
            draft = stored_draft(post.draft)
            if await self._offer(campaign, post.item_id, draft, self._day(post.seen_at)):
                offered += 1
        return offered

    async def poll(self, session: aiohttp.ClientSession, campaign: Campaign, url: str) -> int:
        """Poll one campaign's feed: draft and offer what is new; return how many offered."""
        last = await self.storage.feed_poll(campaign.id)
        known = last is not None and last.url == url and last.read_at is not None
        target = (last.feed_url if known and last else None) or url
        try:
            fetched = await fetch_feed(
                session,
                target,
                etag=last.etag if known and last else None,
                last_modified=last.last_modified if known and last else None,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
            )
            # Parsing a large feed takes seconds: off the event loop, so replies go on meanwhile.
            entries = (
                ()
                if fetched.not_modified
                else await asyncio.to_thread(read_feed, fetched.body, fetched.url)
            )
        except FeedError as error:
            await self._failed(campaign, url, error)
            return 0
        offered = await self.take(session, campaign, entries, first=not known)
        # The validators are stored only now: had the posts not been taken, the next poll's
        # 304 would hide them for good.
        ended = await self.storage.record_feed_read(
            campaign.id, url, fetched.url, fetched.etag, fetched.last_modified
        )
        if ended:
            logger.info(
                "the feed of campaign %s works again after %d failures", campaign.id, ended
            )
            await self._tell(
                lambda: _(texts.FEED_WORKS_AGAIN).format(
                    campaign=escape(campaign.title), failures=ended
                )
            )
        return offered

    async def take(
        self,
        session: aiohttp.ClientSession,
        campaign: Campaign,
        entries: tuple[Entry, ...],
        *,
        first: bool,
    ) -> int:
        """Claim the posts not seen before; draft and offer the newest of them."""
        unique = list({entry.guid: entry for entry in reversed(entries)}.values())[::-1]
        digests = {entry.guid: entry_digest(entry) for entry in unique}
        seen = await self.storage.seen_feed_posts(campaign.id, digests)
        for guid, digest in seen.items():
            if digest != digests[guid]:
                # Issue 15: a post edited after it was drafted is not offered again.
                logger.info(
                    "post %s of campaign %s changed since it was first seen; not drafted again",
                    guid,
                    campaign.id,
                )
                await self.storage.note_feed_edit(campaign.id, guid, digests[guid])
        new = [entry for entry in unique if entry.guid not in seen]
        wanted = {entry.guid for entry in new[: 1 if first else MAX_DRAFTS_PER_POLL]}
        if not first and len(new) == len(unique) > MAX_DRAFTS_PER_POLL:
            # Every post new at once, after the feed was read before: the site changed its
            # addresses (or gives new ids at every request). Offer none; say so once.
            wanted = set()
            logger.warning(
                "campaign %s: every post of its feed looks new (%d): not offered, as the site "
                "most likely changed its post addresses",
                campaign.id,
                len(new),
            )
            await self._tell(
                lambda: _(texts.FEED_ALL_NEW).format(
                    campaign=escape(campaign.title), count=len(new)
                )
            )
        offered = 0
        for entry in new:
            if entry.guid not in wanted:
                await self.storage.claim_feed_post(
                    campaign.id, entry.guid, digests[entry.guid], FeedItemState.BACKLOG
                )
                continue
            draft = await self._draft(session, campaign, entry)
            read_at = self.storage.clock()
            item_id = await self.storage.claim_feed_post(
                campaign.id,
                entry.guid,
                digests[entry.guid],
                FeedItemState.DRAFTED,
                draft_fields(draft),
            )
            if item_id is None:  # another poll took it first
                continue
            logger.info("post %s of campaign %s drafted as #%d", entry.guid, campaign.id, item_id)
            if await self._offer(campaign, item_id, draft, self._day(read_at)):
                offered += 1
        if len(new) > len(wanted):
            logger.info(
                "campaign %s: %d older posts of its feed recorded as seen, not drafted",
                campaign.id,
                len(new) - len(wanted),
            )
        return offered

    async def _draft(
        self, session: aiohttp.ClientSession, campaign: Campaign, entry: Entry
    ) -> Draft:
        """Return a post's draft: from the feed, or from its page when the feed cut it short."""
        draft = await asyncio.to_thread(draft_from_entry, entry)
        if entry.complete or not entry.link or not self.fetch_pages:
            return draft
        if not same_site(entry.link, campaign.feed or ""):
            # A post's link is the website's word: fetched only on the site the campaign
            # names, never some other (or internal) address a hacked feed could point to.
            logger.warning(
                "campaign %s: post %s links off its site; drafted from the feed",
                campaign.id,
                entry.guid,
            )
            return draft
        try:
            page = await fetch(session, entry.link, timeout=self.timeout, max_bytes=self.max_bytes)
        except FeedError as error:
            logger.warning(
                "campaign %s: the page of post %s could not be read (%s); drafted from the feed",
                campaign.id,
                entry.guid,
                error,
            )
            return draft
        from_page = await asyncio.to_thread(draft_from_page, page.text(), page.url, entry=entry)
        return from_page if from_page.body else draft

    def _day(self, moment: dt.datetime) -> dt.date:
        """Return the organizers' day at a moment."""
        return moment.astimezone(self.zone).date()

    async def _offer(
        self, campaign: Campaign, item_id: int, draft: Draft, read_on: dt.date
    ) -> bool:
        """Send each organizer the draft, in their language, with the buttons to decide;
        return whether it reached at least one (if not, the next poll offers it again)."""
        reached = False
        for organizer in sorted(self.organizers):
            with i18n.speaking(self.language_of(organizer)):
                parts, buttons = draft_messages(campaign, item_id, draft, read_on)
            try:
                for index, part in enumerate(parts):
                    last = index == len(parts) - 1
                    await self.bot.send_message(
                        organizer, part, reply_markup=buttons if last else None
                    )
            except TelegramError as error:
                # Telegram refuses until the organizer has started the bot once.
                logger.warning(
                    "draft #%d not offered to organizer %d: %s", item_id, organizer, error.message
                )
            else:
                if not reached:  # noted at once: a stop now must not offer it again
                    await self.storage.mark_feed_post_offered(item_id)
                reached = True
        return reached

    async def _failed(self, campaign: Campaign, url: str, error: FeedError) -> None:
        """Log a failed poll; tell the organizers at the first failure of a run of them."""
        failures = await self.storage.record_feed_failure(campaign.id, url, str(error))
        logger.warning(
            "feed of campaign %s (%s) failed (%d in a row): %s",
            campaign.id,
            url,
            failures,
            error,
        )
        if failures == 1:
            await self._tell(
                lambda: _(texts.FEED_FAILING).format(
                    campaign=escape(campaign.title),
                    error=escape(str(error)),
                    interval=duration(self.interval),
                )
            )

    async def _tell(self, say: Callable[[], str]) -> None:
        """Send every organizer one message, each in their language."""
        for organizer in sorted(self.organizers):
            with i18n.speaking(self.language_of(organizer)):
                text = say()
            try:
                await self.bot.send_message(organizer, text)
            except TelegramError as error:
                logger.warning("organizer %d not told of a feed: %s", organizer, error.message)
