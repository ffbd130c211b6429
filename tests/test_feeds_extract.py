"""Drafts from feeds and pages: the Rafah statement word for word, chrome left out, gaps named."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from pydantic import ValidationError

from bot.campaign.content import Statement, load_campaign
from bot.campaign.markup import render_blocks
from bot.campaign.statement_files import file_name, write_statement
from bot.feeds.extract import (
    SUMMARY_ONLY,
    Draft,
    Entry,
    draft_from_entry,
    draft_from_page,
    html_to_markup,
    read_feed,
    signature,
    unsigned,
)
from bot.feeds.fetch import NotAFeed, fetch, fetch_feed
from bot.feeds.statement_yaml import as_statement, statement_yaml

from .conftest import campaign_folder
from .wordpress import (
    CHROME_WORDS,
    MARCH,
    PAGE,
    WordPressSite,
    article_html,
    expected_body,
    feed_items,
    restyled_statement_html,
    rss,
    rss_item,
    seed_statement,
    statement_html,
)

BASE = "https://peoplesstruggle.org"
RAFAH = f"{BASE}{PAGE}"
MARCH_BODY = (
    "We call on everyone who stands with Palestine to **join the march** this Saturday, in "
    "every city where the League has members.\n\nBring your banners and your neighbours. The "
    "route and the times are on [the march page](https://example.org/march)."
)


@pytest.fixture
def entries() -> tuple[Entry, ...]:
    return read_feed(rss(BASE, feed_items(BASE)), f"{BASE}/en/feed/")


def _entry(entries: tuple[Entry, ...], title: str) -> Entry:
    return next(entry for entry in entries if entry.title == title)


def _assert_no_chrome(body: str) -> None:
    leaked = [word for word in CHROME_WORDS if word in body]
    assert leaked == []


def test_the_rafah_page_gives_the_statement_word_for_word() -> None:
    """The article page's draft body is the statement, paragraph for paragraph, and no chrome."""
    draft = draft_from_page(article_html("The Last Refuge is Resistance", statement_html()), RAFAH)
    assert draft.body.split("\n\n") == expected_body()
    _assert_no_chrome(draft.body)
    assert draft.title == "The Last Refuge is Resistance"
    assert (draft.date, draft.source, draft.guid) == ("2024-03-01", RAFAH, RAFAH)
    assert draft.missing == ()


def test_the_expected_body_is_the_seed_with_its_markup() -> None:
    """The expectation above is the hand copy itself: its words, its headings, its signature."""
    body = expected_body()
    assert [p.removeprefix("## ").strip("*") for p in body] == seed_statement()
    assert body[-3:] == [
        "Stop the invasion of Rafah! End the siege of Gaza!\nEnd the arms support to Israel!\n"
        "Expose and oppose imperialist US, and its allies complicit to the genocide!\n"
        "Free Palestine!\nLong live international Solidarity!\nDown with US imperialism!",
        "Len Cooper",
        "ILPS Chairperson",
    ]
    assert body.count("## Enablers of genocide") == body.count("## Our last refuge") == 1


def test_the_signature_gives_author_and_role() -> None:
    """The closing "Len Cooper" / "ILPS Chairperson" lines sign the draft, and stay in its body."""
    draft = draft_from_page(article_html("The Last Refuge is Resistance", statement_html()), RAFAH)
    assert (draft.author, draft.role, draft.signed) == ("Len Cooper", "ILPS Chairperson", True)
    assert draft.body.endswith("\n\nLen Cooper\n\nILPS Chairperson")


@pytest.mark.parametrize("arrival", ["page", "feed"])
def test_a_restyled_post_gives_the_title_once_no_stray_mark_and_its_signature(
    arrival: str,
) -> None:
    """The title repeated as the body's first heading, a signature in two paragraphs with a
    bold name, a "#" glued to the last sentence: the same statement, word for word."""
    title = "The Last Refuge is Resistance"
    content = restyled_statement_html(title)
    if arrival == "page":
        draft = draft_from_page(article_html(title, content), RAFAH)
    else:
        draft = draft_from_entry(Entry("p-1234", title, RAFAH, "2024-03-01", None, content, None))
    *said, name, role = draft.body.split("\n\n")
    assert said == expected_body()[:-2]  # the title not in it, no "our own.#"
    assert (name, role) == ("**Len Cooper**", "ILPS Chairperson")
    assert (draft.author, draft.role, draft.signed) == ("Len Cooper", "ILPS Chairperson", True)
    assert unsigned(draft.body).split("\n\n") == expected_body()[:-2]


@pytest.mark.parametrize(
    ("content", "body"),
    [
        ("<p>We stand.#</p>", "We stand."),
        ("<p>We stand! ¶</p><p>Free Palestine.</p>", "We stand!\n\nFree Palestine."),
        ("<p>We stand.#<br>Free Palestine.</p>", "We stand.\nFree Palestine."),
        ("<p>Join us #FreePalestine</p>", "Join us #FreePalestine"),  # a hashtag is text
        ("<p>Join us: #</p>", "Join us: #"),  # no sentence closes before it
    ],
)
def test_only_a_permalink_mark_glued_to_a_sentence_goes(content: str, body: str) -> None:
    draft = draft_from_entry(Entry("g", "A title", RAFAH, "2024-03-01", None, content, None))
    assert draft.body == body


def test_a_first_heading_is_dropped_only_when_it_is_the_title() -> None:
    content = "<h2>Enablers of genocide</h2><p>We stand.</p>"
    kept = draft_from_entry(
        Entry("g", "The Last Refuge", RAFAH, "2024-03-01", None, content, None)
    )
    assert kept.body == "## Enablers of genocide\n\nWe stand."
    alone = "<h2>The Last Refuge</h2>"  # nothing but the title: kept, not emptied
    only = draft_from_entry(Entry("g", "The Last Refuge", RAFAH, "2024-03-01", None, alone, None))
    assert only.body == "## The Last Refuge"


def test_the_full_feed_entry_gives_the_same_body(entries: tuple[Entry, ...]) -> None:
    """The feed's content:encoded gives the same paragraphs, without the feed's own footer."""
    entry = _entry(entries, "The Last Refuge is Resistance")
    assert entry.complete
    draft = draft_from_entry(entry)
    assert draft.body.split("\n\n") == expected_body()
    assert "appeared first on" not in draft.body
    assert draft.guid == f"{BASE}/en/?p=1234"
    assert (draft.date, draft.source, draft.missing) == ("2024-03-01", RAFAH, ())


def test_a_summary_only_entry_is_completed_from_its_page(entries: tuple[Entry, ...]) -> None:
    """A post the feed cuts short is marked so, and its page gives the whole text."""
    entry = _entry(entries, "Join the march on Saturday")
    assert not entry.complete
    short = draft_from_entry(entry)
    assert short.missing == (SUMMARY_ONLY,)
    assert short.body.endswith("has members. […]")
    page = article_html("Join the march on Saturday", MARCH, published=None)
    draft = draft_from_page(page, f"{BASE}/en/join-the-march/", entry=entry)
    assert draft.body == MARCH_BODY
    _assert_no_chrome(draft.body)
    # The entry's id and date; the date is the publisher's day (+08:00), not UTC's 1 March.
    assert (draft.guid, draft.date, draft.author) == (entry.guid, "2024-03-02", "ILPS Secretariat")
    assert draft.missing == ()


def test_an_entry_without_date_or_body_names_what_it_lacks(entries: tuple[Entry, ...]) -> None:
    """A post with only a title and a link becomes a draft whose `missing` says the rest."""
    draft = draft_from_entry(_entry(entries, "Photos from the march"))
    assert draft.missing == ("date", "author", "body")
    assert (draft.date, draft.author, draft.body) == (None, None, "")
    assert draft.source == f"{BASE}/en/photos-from-the-march/"


def test_a_page_without_a_stated_date_has_none() -> None:
    """A page stating no date gives none, not one guessed from a related post's date."""
    page = article_html("Join the march on Saturday", MARCH, published=None)
    assert "November 2, 2023" in page
    draft = draft_from_page(page, f"{BASE}/en/join-the-march/")
    assert draft.body == MARCH_BODY
    assert (draft.date, draft.missing) == (None, ("date",))


@pytest.mark.parametrize(
    ("head", "day"),
    [
        (
            '<meta property="article:published_time" content="2024-03-02T07:00:00+08:00">',
            "2024-03-02",
        ),
        ('<meta itemprop="datePublished" content="2024-03-02">', "2024-03-02"),
        (
            '<script type="application/ld+json">{"@graph": [{"@type": "WebPage"}, '
            '{"@type": "Article", "datePublished": "2024-03-02T07:00:00+08:00"}]}</script>',
            "2024-03-02",
        ),
        ('<meta property="article:published_time" content="soon">', None),
        ('<script type="application/ld+json">{not json</script>', None),
        pytest.param(
            '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>",
            None,
            id="json-ld-nested-too-deep",
        ),
    ],
)
def test_a_stated_date_is_read_in_its_own_time_zone(head: str, day: str | None) -> None:
    """Open Graph, schema.org and JSON-LD dates give the publisher's day; nonsense gives none."""
    page = article_html("Join the march", MARCH, published=None).replace(
        "</head>", head + "</head>"
    )
    assert draft_from_page(page, f"{BASE}/en/join-the-march/").date == day


def _feed_of(*pub_dates: str | None) -> tuple[Entry, ...]:
    """Return what read_feed gives for a feed whose posts carry these dates, in this order."""
    items = [
        rss_item(BASE, title=f"Post {n}", slug=f"post-{n}", post_id=n, pub_date=day)
        for n, day in enumerate(pub_dates, 1)
    ]
    return read_feed(rss(BASE, items), f"{BASE}/en/feed/")


@pytest.mark.parametrize("pub_date", ["0000-01-01", "0000-01-01T00:00:00Z"])
def test_a_feed_date_no_calendar_holds_is_missing(pub_date: str) -> None:
    """A date feedparser reads but datetime cannot hold (year 0) is missing, not a crash."""
    [entry] = _feed_of(pub_date)
    assert entry.date is None
    assert "date" in draft_from_entry(entry).missing


GARBAGE_DATES = [
    "99999999999999999999",  # feedparser: 9999-12-01
    "+99999999999",
    "9999-12-31",
    "2024-13-45",  # feedparser rolls it over to 2025-01-01
    "2024-02-30",  # feedparser: 2024-03-01
    "2024-13",
    "1989-12-31",
    "Sun, 31 Dec 1989 12:00:00 +0000",
    "0001-01-01T00:00:00Z",
]


@pytest.mark.parametrize("value", GARBAGE_DATES)
def test_a_garbage_date_is_missing(value: str) -> None:
    """An impossible day, or one before 1990, gives no date, in a feed and on a page alike."""
    [entry] = _feed_of(value)
    assert entry.date is None
    meta = f'<meta property="article:published_time" content="{value}">'
    page = article_html("Join", MARCH, published=None).replace("</head>", meta + "</head>")
    assert draft_from_page(page, f"{BASE}/en/join/").date is None


def test_a_date_more_than_two_days_ahead_is_missing() -> None:
    """Two days after today (UTC) is still a date somewhere on Earth; three days after is none."""
    today = dt.datetime.now(dt.UTC).date()
    soon, later = (today + dt.timedelta(days=days) for days in (2, 3))
    assert [entry.date for entry in _feed_of(f"{soon}T23:00:00Z", f"{later}T01:00:00Z")] == [
        soon.isoformat(),
        None,
    ]
    for day, expected in ((soon, soon.isoformat()), (later, None)):
        meta = f'<meta itemprop="datePublished" content="{day}">'
        page = article_html("Join", MARCH, published=None).replace("</head>", meta + "</head>")
        assert draft_from_page(page, f"{BASE}/en/join/").date == expected


def test_the_first_plausible_stated_date_counts() -> None:
    """A page's garbage date is passed over for the next date it states, and 1990 is kept."""
    head = (
        '<meta property="article:published_time" content="9999-12-31">'
        '<meta itemprop="datePublished" content="1990-01-01">'
    )
    page = article_html("Join", MARCH, published=None).replace("</head>", head + "</head>")
    assert draft_from_page(page, f"{BASE}/en/join/").date == "1990-01-01"
    assert [entry.date for entry in _feed_of("19900102", "1990-01-01")] == [
        "1990-01-02",
        "1990-01-01",
    ]


def test_entries_come_newest_first_by_date() -> None:
    """When every post has a date, the newest comes first, same-day posts in the feed's order."""
    entries = _feed_of("2024-03-01", "2024-03-05T08:00:00Z", "2024-03-05T20:00:00Z", "2024-02-01")
    assert [entry.title for entry in entries] == ["Post 2", "Post 3", "Post 1", "Post 4"]


def test_a_feed_with_an_undated_post_keeps_its_order() -> None:
    """One post without a date, and the feed's own order is the best there is: it is kept."""
    entries = _feed_of("2024-03-01", None, "2024-03-05")
    assert [entry.title for entry in entries] == ["Post 1", "Post 2", "Post 3"]


def test_a_huge_feed_gives_its_newest_200_posts() -> None:
    """A feed of 250 posts gives 200: the newest by date, or the first when some are undated."""
    days = [f"{dt.date(2000, 1, 1) + dt.timedelta(days=n)}" for n in range(250)]  # oldest first
    entries = _feed_of(*days)
    assert len(entries) == 200
    assert (entries[0].date, entries[-1].date) == (days[-1], days[50])
    undated = _feed_of(*days[:-1], None)
    assert [entry.title for entry in undated] == [f"Post {n}" for n in range(1, 201)]


@pytest.mark.parametrize("page", ["", "   ", article_html("About us", "", published=None)])
def test_a_page_without_text_names_what_it_lacks(page: str) -> None:
    """A page with no text to extract gives an empty body, and `missing` says so."""
    draft = draft_from_page(page, f"{BASE}/x")
    assert draft.body == ""
    assert {"date", "body"} <= set(draft.missing)


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Bayan</title>
  <id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
  <updated>2024-03-02T07:00:00+08:00</updated>
  <entry>
    <title type="html">Stop the &lt;em&gt;siege&lt;/em&gt;</title>
    <link href="https://bayan.example/stop-the-siege"/>
    <id>tag:bayan.example,2024:42</id>
    <updated>2024-03-02T07:00:00+08:00</updated>
    <author><name>Renato Reyes</name></author>
    <content type="html">&lt;p&gt;End the &lt;strong&gt;siege&lt;/strong&gt; now.&lt;/p&gt;
    </content>
  </entry>
  <entry>
    <title>Untitled note</title>
    <content type="text">First line
second line

Next paragraph &amp; more</content>
  </entry>
</feed>
"""


def test_atom_entries_are_read_too() -> None:
    """An Atom entry gives its id, text title, publisher's day, author and HTML content."""
    first, second = read_feed(ATOM, "https://bayan.example/feed.atom")
    assert first.guid == "tag:bayan.example,2024:42"
    assert (first.title, first.date, first.author) == (
        "Stop the siege",
        "2024-03-02",
        "Renato Reyes",
    )
    assert draft_from_entry(first).body == "End the **siege** now."
    # No id and no link: a fingerprint of the content, the same at every poll.
    assert second.guid.startswith("sha256:")
    assert second.guid == read_feed(ATOM, "https://bayan.example/feed.atom")[1].guid
    assert draft_from_entry(second).body == "First line\nsecond line\n\nNext paragraph & more"


@pytest.mark.parametrize(
    "data",
    [
        article_html("About us", "<p>Who we are.</p>").encode(),
        bytes(range(256)) * 4,
        b"",
        b"/etc/passwd",  # feedparser would open a file of that name if given the bytes as-is
    ],
)
def test_what_is_not_a_feed_raises(data: bytes) -> None:
    """A web page, binary garbage, nothing or a file name raise NotAFeed naming the URL."""
    with pytest.raises(NotAFeed, match=r"https://example.org/x is not an RSS or Atom feed"):
        read_feed(data, "https://example.org/x")


def test_html_becomes_campaign_markup() -> None:
    """Emphasis, links, lists, headings and line breaks become markup; scripts and chrome go."""
    fragment = """
      <p>We call on all to <a href="https://x.org/a(b)">join</a> the <em>march </em>and
         <strong> rally</strong>:</p>
      <ul><li>Stop <b>the</b> war<ul><li>nested</li></ul></li>
          <li>Free <a href="/p">Palestine</a></li></ul>
      <h3 id="next">Next <em>steps</em><a class="anchor" href="#next">¶</a></h3>
      <blockquote><p>A quote&nbsp;here.</p></blockquote>
      <p>Mail <a href="mailto:x@y.org">us</a> or <a href="javascript:x()">this</a>.<br>
         Second line</p>
      <p><strong>Bold<br>two lines</strong></p>
      <script>alert("no")</script><style>p { color: red }</style>
      <div class="sharedaddy"><a href="https://twitter.com/share">Twitter</a></div>
    """
    markup = html_to_markup(fragment, "https://x.org/a/b/")
    assert markup.split("\n\n") == [
        "We call on all to [join](https://x.org/a%28b%29) the *march* and **rally**:",
        "- Stop **the** war\n- nested\n- Free [Palestine](https://x.org/p)",
        "## Next steps",
        "A quote here.",
        "Mail us or this.\nSecond line",
        "**Bold**\n**two lines**",
    ]
    # And the bot's own renderer reads it as meant.
    assert render_blocks(markup)[0] == (
        'We call on all to <a href="https://x.org/a%28b%29">join</a> the <i>march</i> and '
        "<b>rally</b>:"
    )
    assert render_blocks(markup)[1] == "• Stop <b>the</b> war\n• nested\n• Free " + (
        '<a href="https://x.org/p">Palestine</a>'
    )


@pytest.mark.parametrize(
    ("body", "signed"),
    [
        ("We stand.\n\nLen Cooper\nILPS Chairperson", ("Len Cooper", "ILPS Chairperson")),
        (
            "We stand.\n\nJosé María de la Cruz\n\nSecretary General of the League",
            ("José María de la Cruz", "Secretary General of the League"),
        ),
        ("Free Palestine!\nDown with US imperialism!", (None, None)),
        ("Free Palestine\nDown with US imperialism", (None, None)),
        ("We stand.\n\nLen Cooper", (None, None)),
        ("We stand.\n\n- Stop the War\n- Free Palestine", (None, None)),
        ("Len Cooper wrote this.\nILPS Chairperson", (None, None)),
        ("Len Cooper\nILPS Chairperson", (None, None)),  # a signature closes a text
        ("", (None, None)),
    ],
)
def test_only_a_plain_signature_is_read(body: str, signed: tuple[str | None, str | None]) -> None:
    """A name over a role closes a signed body; slogans, lists and sentences do not."""
    assert signature(body) == signed


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("We stand.\n\nLen Cooper\nILPS Chairperson", "We stand."),
        ("We stand.\n\nLen Cooper\n\nILPS Chairperson", "We stand."),
        (
            "We stand.\nFree Palestine!\nLen Cooper\n\nILPS Chairperson",
            "We stand.\nFree Palestine!",
        ),
        (
            "We stand.\n\nFree Palestine!\nLen Cooper\nILPS Chairperson",
            "We stand.\n\nFree Palestine!",
        ),
        ("We stand.\n\nLen Cooper", "We stand.\n\nLen Cooper"),
        ("Len Cooper\nILPS Chairperson", "Len Cooper\nILPS Chairperson"),
    ],
)
def test_unsigned_takes_off_exactly_the_signature_lines(body: str, text: str) -> None:
    """unsigned drops the name and role lines signature read, and nothing else."""
    assert unsigned(body) == text


NOW = dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC)
# A campaign whose statements are all in files of its folder, as the bot adds them.
CAMPAIGN = """\
id: demo
title: Demo campaign
organization: Demo League
"""


def test_a_draft_is_written_as_a_valid_statement() -> None:
    """The Rafah draft's YAML loads safely and is a valid Statement, its body a literal block."""
    draft = draft_from_page(article_html("The Last Refuge is Resistance", statement_html()), RAFAH)
    text = statement_yaml(draft, "rafah", now=NOW)
    assert text.startswith(
        "# Draft statement for campaign rafah, read 2024-03-05 12:00 UTC\n"
        f"# from {RAFAH} (post {RAFAH}).\n"
    )
    assert "\nbody: |\n  **ILPS Statement on the ‘flour massacre’" in text
    statement = Statement.model_validate(yaml.safe_load(text))
    assert statement.body == "\n\n".join(expected_body()[:-2]) + "\n"
    assert (statement.title, statement.author, statement.role) == (
        "The Last Refuge is Resistance",
        "Len Cooper",
        "ILPS Chairperson",
    )
    assert str(statement.date) == "1 March 2024"
    assert statement.source == RAFAH


def test_a_signed_draft_becomes_a_statement_signed_once() -> None:
    """A statement and its YAML take the signature lines off the body: they are author and role."""
    draft = draft_from_page(article_html("The Last Refuge is Resistance", statement_html()), RAFAH)
    assert draft.body.endswith("\n\nLen Cooper\n\nILPS Chairperson")
    statement = as_statement(draft)
    assert statement is not None
    text = statement_yaml(draft, "rafah", now=NOW)
    loaded = Statement.model_validate(yaml.safe_load(text))
    for body in (statement.body, loaded.body):
        paragraphs = body.removesuffix("\n").split("\n\n")
        assert paragraphs == expected_body()[:-2]
        assert paragraphs[0].startswith("**ILPS Statement on the ‘flour massacre’")
        assert paragraphs[-1].endswith(
            "Long live international Solidarity!\nDown with US imperialism!"
        )
    assert (statement.author, statement.role) == ("Len Cooper", "ILPS Chairperson")
    assert text.count("Len Cooper") == text.count("ILPS Chairperson") == 1
    assert (
        "# author and role are the signature lines that closed the post, moved from\n"
        "# the end of the body into author and role so that it is signed once.\n"
    ) in text


def test_a_draft_with_gaps_fails_validation_exactly_there(entries: tuple[Entry, ...]) -> None:
    """A draft lacking date, author and body loads, says what is missing, and fails only there."""
    draft = draft_from_entry(_entry(entries, "Photos from the march"))
    text = statement_yaml(draft, now=NOW)
    assert "# Missing from the post: date, author, body; fill them in" in text
    assert "\nauthor:  # the post names no author: who signed it?\n" in text
    with pytest.raises(ValidationError) as error:
        Statement.model_validate(yaml.safe_load(text))
    assert {problem["loc"][0] for problem in error.value.errors()} == {"date", "author", "body"}


def test_awkward_text_survives_the_yaml(tmp_path: Path) -> None:
    """Colons, quotes, leading '#' or '!', '- ' lines, a broken id: all come back intact, read
    by yaml and by the campaign loader from a statement file written as the bot writes it."""
    draft = Draft(
        guid="tag:x\nrole: injected",
        title="#1: “Stop” — 'now'!",
        date="2024-03",
        author="!Bayan",
        role=None,
        source="https://example.org/a?b=c#d",
        body="- one\n- two\n\n## Head: more\n\nkey: value\n\n  indented? no",
        missing=(),
    )
    text = statement_yaml(draft, "demo", now=NOW)
    loaded = yaml.safe_load(text)
    assert list(loaded) == ["title", "date", "author", "source", "body"]
    assert (loaded["title"], loaded["author"], loaded["source"]) == (
        draft.title,
        draft.author,
        draft.source,
    )
    assert loaded["body"] == draft.body + "\n"
    assert str(Statement.model_validate(loaded).date) == "March 2024"
    campaign_file = campaign_folder(tmp_path, CAMPAIGN) / "demo.yaml"
    write_statement(campaign_file, text, file_name(draft.date, draft.title))
    [statement] = load_campaign(campaign_file).statements
    assert (statement.title, statement.author, statement.source, statement.role) == (
        draft.title,
        draft.author,
        draft.source,
        None,
    )
    assert statement.body == draft.body + "\n"
    assert str(statement.date) == "March 2024"


@pytest.fixture
async def site() -> AsyncIterator[WordPressSite]:
    async with WordPressSite() as served:
        yield served


async def test_from_a_page_address_to_drafts(site: WordPressSite) -> None:
    """From an article's address: its feed found, each post drafted, a cut one from its page."""
    drafts: dict[str, Draft] = {}
    async with aiohttp.ClientSession() as session:
        feed = await fetch_feed(session, site.url(PAGE))
        for entry in read_feed(feed.body, feed.url):
            assert entry.title is not None
            if entry.complete or not entry.summary or not entry.link:
                drafts[entry.title] = draft_from_entry(entry)
            else:
                page = await fetch(session, entry.link)
                drafts[entry.title] = draft_from_page(page.text(), page.url, entry=entry)
    assert list(drafts) == [
        "Photos from the march",
        "Join the march on Saturday",
        "The Last Refuge is Resistance",
    ]
    assert drafts["The Last Refuge is Resistance"].body.split("\n\n") == expected_body()
    assert drafts["Join the march on Saturday"].body == MARCH_BODY
    assert drafts["Photos from the march"].missing == ("date", "author", "body")
    fetched = [path for path, _ in site.requests]
    assert fetched == [PAGE, "/en/feed/", "/en/join-the-march/"]
