"""Drafts from feeds and pages: a post's title, date, signatory and body in the campaign markup."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
import trafilatura
from lxml.etree import _Element
from trafilatura.settings import Document

from bot.feeds.fetch import NotAFeed, parse_html

# What a post can lack, in the order a statement lists its fields.
FIELDS = ("title", "date", "author", "source", "body")
# Marks a body that is the feed's summary of the post, not the post: fetch the page for it.
SUMMARY_ONLY = "full text"

_SPACE = re.compile(r"[ \t\n\r\f\xa0]+")  # HTML's whitespace, and the no-break space
_SECTIONS = ("article", "aside", "body", "div", "footer", "header", "html", "main", "section")
_TEXT_BLOCKS = ("address", "blockquote", "center", "figure", "figcaption", "hr", "p", "pre")
_OTHER_BLOCKS = ("details", "summary", "dl", "dt", "dd", "fieldset", "hgroup", "ol", "ul")
_TABLES = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
_BLOCKS = frozenset((*_SECTIONS, *_TEXT_BLOCKS, *_OTHER_BLOCKS, *_TABLES))
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_LISTS = frozenset(("ul", "ol", "menu"))
_BOLD = frozenset(("b", "strong"))
_ITALIC = frozenset(("i", "em", "cite", "dfn"))
# Never text of the post: scripts, forms and their labels, navigation, embedded players.
_CODE = ("script", "style", "noscript", "template")
_EMBEDS = ("iframe", "object", "embed", "svg", "canvas", "video", "audio", "img", "picture")
_FORMS = ("form", "button", "input", "select", "option", "textarea", "label")
_SKIPPED = frozenset((*_CODE, *_EMBEDS, *_FORMS, "nav"))
# Classes and ids of the chrome WordPress plugins and themes put inside or beside a post: share
# buttons (Jetpack, AddToAny), related posts, comment forms (wpDiscuz, Akismet), sign-up boxes.
_CHROME = re.compile(
    r"share|sharing|sharedaddy|social|relatedposts|related-posts|wpdiscuz|comment|akismet"
    r"|subscribe|newsletter|screen-reader|addtoany|a2a_|post-navigation|nav-links",
    re.IGNORECASE,
)
# Yoast SEO appends this line to every post in a WordPress feed.
_FEED_FOOTER = re.compile(r"^The post .+ appeared first on .+\.$", re.DOTALL)
# A permalink anchor ("#", "¶" after a heading or a post) points into the page; it is no text.
_ANCHOR_MARKS = frozenset(("#", "¶", "§", "🔗"))
# WordPress ends an excerpt with "[…]"; themes add "Continue reading" or "Read more".
_TRUNCATED = re.compile(
    r"(\[(?:…|\.\.\.)\]|\b(?:Continue reading|Read more)\b[^.!?]*)\s*$", re.IGNORECASE
)
# A signature: a name of 2-5 capitalised words over a role of capitalised words ("ILPS
# Chairperson", "Secretary General of the League"), neither with sentence punctuation, so that
# a closing slogan ("Down with US imperialism!") is not taken for one.
_PARTICLES = r"(?:de|del|dela|la|los|las|y|van|von|der|da|di|bin|al)"
_NAME = re.compile(rf"^[A-Z][\w'’.-]*(?: (?:[A-Z][\w'’.-]*|{_PARTICLES})){{1,4}}$")
_CONNECTORS = r"(?:of|the|and|for|on|in|at|to|de|del|y|la|el|des|du|&)"
_ROLE = re.compile(rf"^[A-Z0-9][\w'’&-]*,?(?: (?:[A-Z0-9][\w'’&-]*|{_CONNECTORS}),?){{0,9}}$")
# Markup around a whole line: a signature's name is often set bold ("**Len Cooper**").
_EMPHASISED = re.compile(r"(\*\*|__|\*|_)(.+)\1", re.DOTALL)
# A permalink mark glued to the end of a line of text, after its closing punctuation.
_GLUED_ANCHOR = re.compile(r"(?<=[.!?…)\]»”’\"'])[ \t]?[#¶§](?=\n|\Z)")


@dataclass(frozen=True)
class Entry:
    """One post in a feed, as the feed gives it."""

    guid: str
    title: str | None
    link: str | None
    date: str | None  # YYYY-MM-DD, the day the publisher's own clock showed
    author: str | None
    content: str | None  # HTML of the post, when the feed carries it
    summary: str | None  # HTML of the feed's summary of it

    @property
    def complete(self) -> bool:
        """Return whether the feed carries the whole post, so no page need be fetched."""
        if not self.content:
            return False
        tree = _fragment(self.content)
        text = _SPACE.sub(" ", tree.text_content()).strip()
        return bool(text) and not _TRUNCATED.search(text)


@dataclass(frozen=True)
class Draft:
    """A statement as read from a post, for organizers to check, complete and approve."""

    guid: str  # stable across polls: the feed's id for the post, else its link
    title: str | None
    date: str | None  # YYYY-MM-DD
    author: str | None
    role: str | None
    source: str | None
    body: str  # campaign markup; empty when the post had none
    missing: tuple[str, ...]  # names from FIELDS, and SUMMARY_ONLY
    signed: bool = False  # author and role were read from closing signature lines


# The posts of a feed that are read: a site's feed lists its latest 10 to 50, but a feed of
# 25,000 would have the watcher look up and record every one of them at every poll.
MAX_ENTRIES = 200


def read_feed(data: bytes, url: str) -> tuple[Entry, ...]:
    """Return the newest MAX_ENTRIES posts of an RSS or Atom document, newest first.

    Newest by date when every post has one (same-day posts in the feed's order); otherwise in
    the feed's own order, which lists the newest first.
    """
    # A BytesIO, never the bytes themselves: feedparser.parse opens a string that names a file.
    parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": url})
    if not parsed.get("version") and not parsed.entries:
        raise NotAFeed(f"{url} is not an RSS or Atom feed")
    entries = [_entry(item) for item in parsed.entries]
    if all(entry.date for entry in entries):
        # Stable: reverse=True keeps the feed's order among posts of the same day.
        entries.sort(key=lambda entry: entry.date or "", reverse=True)
    return tuple(entries[:MAX_ENTRIES])


def _entry(item: Any) -> Entry:
    link = _text(item.get("link"))
    title = _text(item.get("title"))
    if title and item.get("title_detail", {}).get("type") == "text/html":
        title = _text(_fragment(title).text_content())
    content = next(
        (_as_html(part) for part in item.get("content", []) if part.get("value", "").strip()),
        None,
    )
    summary = None
    if item.get("summary", "").strip():
        # An Atom entry without a summary has feedparser copy its content there, sans detail.
        summary = _as_html(item.get("summary_detail") or {"value": item["summary"]})
    author = _text(item.get("author_detail", {}).get("name") or item.get("author"))
    guid = _text(item.get("id")) or link or _fingerprint(title, content or summary)
    return Entry(guid, title, link, _entry_date(item), author, content, summary)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return _SPACE.sub(" ", value).strip() or None


def _fingerprint(*parts: str | None) -> str:
    digest = hashlib.sha256("\0".join(part or "" for part in parts).encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def _as_html(detail: Any) -> str:
    value = str(detail.get("value", ""))
    if detail.get("type") == "text/plain":
        return "".join(
            "<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>"
            for block in re.split(r"\n\s*\n", value)
        )
    return value


# The days a post can have been published on: none before 1990, older than the web sites that
# publish statements (a year 0 or 122 is a broken field), and none more than two days after
# UTC's today, within which every time zone's today falls: a 9999-12-01 would make its
# statement the campaign's latest for ever.
_FIRST_DAY = dt.date(1990, 1, 1)
_DAYS_AHEAD = dt.timedelta(days=2)
# A day written in digits, as ISO 8601 and W3C-DTF write it: 2024-03-01, 20240301, 2024-03.
_NUMERIC_DAY = re.compile(r"^(\d{4})-?(\d\d)(?:-?(\d\d))?(?!\d)")


def _plausible(day: dt.date) -> str | None:
    """Return a day as YYYY-MM-DD, or None if no post can have been published on it."""
    latest = dt.datetime.now(dt.UTC).date() + _DAYS_AHEAD
    return day.isoformat() if _FIRST_DAY <= day <= latest else None


def _entry_date(item: Any) -> str | None:
    """Return the post's day as its publisher's clock showed it, not as UTC's."""
    raw = _first(item, "published", "updated")
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        for parse in (email.utils.parsedate_to_datetime, dt.datetime.fromisoformat):
            try:
                return _plausible(parse(text).date())
            except (TypeError, ValueError, IndexError, OverflowError):
                continue
        numeric = _NUMERIC_DAY.match(text)
        if numeric:
            # Read here, not by feedparser, which rolls an impossible day over: its struct for
            # 2024-13-45 is 2025-01-01, for 2024-02-30 it is 2024-03-01.
            year, month, day = (int(part or 1) for part in numeric.groups())
            try:
                return _plausible(dt.date(year, month, day))
            except ValueError:
                return None
    # A date feedparser could read but we could not: its UTC reading is close enough.
    parsed = _first(item, "published_parsed", "updated_parsed")
    if parsed:
        try:
            return _plausible(dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday))
        except (ValueError, OverflowError):
            return None  # a struct no calendar holds, such as year 0
    return None


def _first(item: Any, *keys: str) -> Any:
    """Return the first of an entry's keys that it has a value for, or None."""
    # dict.get, not item.get: feedparser answers a missing "updated" with "published", and warns.
    return next((value for key in keys if (value := dict.get(item, key))), None)


def draft_from_entry(entry: Entry) -> Draft:
    """Return a draft from a feed entry alone, marking SUMMARY_ONLY when the feed cut the post."""
    source = entry.content if entry.complete else (entry.content or entry.summary)
    body = html_to_markup(source, entry.link or "") if source else ""
    extra = () if entry.complete or not body else (SUMMARY_ONLY,)
    return _draft(entry.guid, entry.title, entry.date, entry.author, entry.link, body, extra)


def draft_from_page(html_text: str, url: str, *, entry: Entry | None = None) -> Draft:
    """Return a draft from an article page, its chrome left out; entry fills what it lacks."""
    title = date = author = None
    body = ""
    tree = parse_html(html_text)
    if tree is not None:
        date = _stated_date(tree)
        # Resolve links against the page's own address: trafilatura resolves them against the
        # site's root, which sends a relative `page2/` or `#note` to the wrong place.
        tree.make_links_absolute(url, resolve_base_href=True, handle_failures="ignore")
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            # Precision: with it a theme's site title and tagline stay out of short posts.
            favor_precision=True,
            include_comments=False,
            include_formatting=True,
            include_links=True,
            include_images=False,
            with_metadata=True,
        )
        if isinstance(document, Document):
            # Not document.date: htmldate guesses one from any date on the page, such as a
            # related post's, where a missing date is the honest answer.
            title, author = document.title, document.author
            if document.body is not None:
                body = _markup_of(_from_trafilatura(document.body), url)
    if entry is not None:
        title, date = entry.title or title, entry.date or date
        author = entry.author or author
    guid = entry.guid if entry is not None else url
    return _draft(guid, _text(title), date, _text(author), url, body, ())


# Where pages state their publication date for machines: Open Graph and schema.org markup,
# and the <time> WordPress themes put in an entry's header.
_DATE_PATHS = (
    ".//meta[@property='article:published_time']/@content",
    ".//meta[@name='article:published_time']/@content",
    ".//meta[@itemprop='datePublished']/@content",
    ".//time[@itemprop='datePublished']/@datetime",
    ".//time[contains(concat(' ', @class, ' '), ' published ')]/@datetime",
    ".//time[contains(concat(' ', @class, ' '), ' entry-date ')]/@datetime",
)


def _stated_date(tree: lxml.html.HtmlElement) -> str | None:
    """Return the day a page states it was published, in its own time zone, or None."""
    values: list[str] = [value for path in _DATE_PATHS for value in tree.xpath(path)]
    for script in tree.xpath(".//script[@type='application/ld+json']/text()"):
        values.extend(_json_dates(script))
    for value in values:
        try:
            day = _plausible(dt.datetime.fromisoformat(value.strip()).date())
        except ValueError:
            continue
        if day is not None:
            return day
    return None


def _json_dates(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        return []
    found: list[str] = []
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("datePublished"), str):
                found.append(node["datePublished"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _draft(
    guid: str,
    title: str | None,
    date: str | None,
    author: str | None,
    source: str | None,
    body: str,
    extra: tuple[str, ...],
) -> Draft:
    body = _without_glued_anchors(_without_title(body, title))
    name, role = signature(body)
    values = {
        "title": title,
        "date": date,
        "author": name or author,
        "source": source,
        "body": body,
    }
    missing = tuple(field for field in FIELDS if not values[field]) + extra
    return Draft(
        guid=guid,
        title=title,
        date=date,
        author=name or author,
        role=role,
        source=source,
        body=body,
        missing=missing,
        signed=name is not None,
    )


def _without_title(body: str, title: str | None) -> str:
    """Return a body without a first heading (or bold line) that repeats the post's title:
    themes and editors often put it there, and the statement shows its title already."""
    first, _, rest = body.partition("\n\n")
    heading = _bare(first.lstrip("#").strip())
    if title and rest and _comparable(heading) == _comparable(title):
        return rest
    return body


def _comparable(text: str) -> str:
    """Return text as a title is compared: its words, in lower case, quotes and dashes aside."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def _without_glued_anchors(body: str) -> str:
    """Return a body without the permalink marks ("#", "¶") left as text at the end of a
    paragraph's last sentence ("our own.#"), which a copied page or a theme leaves behind."""
    return _GLUED_ANCHOR.sub("", body)


def _bare(line: str) -> str:
    """Return a line without the bold or italic markers around all of it."""
    found = _EMPHASISED.fullmatch(line.strip())
    return found.group(2).strip() if found else line.strip()


def signature(body: str) -> tuple[str | None, str | None]:
    """Return the name and role a body closes with ("Len Cooper" / "ILPS Chairperson"), or None."""
    # Only the plainest form counts (see _NAME and _ROLE), and it is still a guess: the YAML
    # written for organizers says where author and role came from.
    blocks = body.split("\n\n")
    tail = blocks[-1].split("\n")
    if len(tail) == 1 and len(blocks) > 1:
        tail = blocks[-2].split("\n")[-1:] + tail
    if len(tail) < 2:
        return None, None
    name, role = (_bare(line) for line in tail[-2:])
    if not (_NAME.match(name) and _ROLE.match(role)) or role.endswith(","):
        return None, None
    if not _before_signature(body):
        return None, None  # a signature closes a text: a name and a role alone are the text
    return name, role


def unsigned(body: str) -> str:
    """Return a body without the signature lines it closes with, or as it is if it has none."""
    name, _ = signature(body)
    return body if name is None else _before_signature(body)


def _before_signature(body: str) -> str:
    """Return what a body says before its last two lines of text, a signature's name and role."""
    lines = body.split("\n")
    text = [number for number, line in enumerate(lines) if line.strip()]
    return "\n".join(lines[: text[-2]]).rstrip() if len(text) > 2 else ""


def html_to_markup(fragment: str, base_url: str) -> str:
    """Convert an HTML fragment (a feed's post content) to campaign markup."""
    return _markup_of(_fragment(fragment), base_url)


def _fragment(fragment: str) -> lxml.html.HtmlElement:
    # create_parent wraps loose text and many top-level elements alike in one <div>.
    try:
        element: lxml.html.HtmlElement = lxml.html.fragment_fromstring(
            fragment, create_parent="div"
        )
    except (lxml.etree.ParserError, ValueError):
        element = lxml.html.fragment_fromstring("", create_parent="div")
    return element


# trafilatura's output vocabulary (TEI-like XML) mapped to the HTML tags the converter knows.
_TRAFILATURA_TAGS = {
    "head": "h2",
    "list": "ul",
    "item": "li",
    "lb": "br",
    "ref": "a",
    "quote": "blockquote",
    "row": "tr",
    "cell": "td",
    "graphic": "img",
    "del": "s",
}


def _from_trafilatura(body: _Element) -> _Element:
    for element in body.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag == "hi":
            rend = element.get("rend", "")
            element.tag = "b" if "#b" in rend else "i" if "#i" in rend else "span"
        elif tag == "ref":
            element.tag = "a"
            element.set("href", element.get("target", ""))
        elif tag in _TRAFILATURA_TAGS:
            element.tag = _TRAFILATURA_TAGS[tag]
    return body


def _markup_of(root: _Element, base_url: str) -> str:
    paragraphs = [p for p in _blocks(root, base_url) if not _FEED_FOOTER.match(p)]
    return "\n\n".join(paragraphs)


def _is_chrome(element: _Element) -> bool:
    if element.tag in _SKIPPED:
        return True
    marks = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(marks.strip()) and bool(_CHROME.search(marks))


def _blocks(element: _Element, base_url: str) -> Iterator[str]:
    """Yield the paragraphs of a block element: its loose inline runs and its child blocks."""
    run: list[str] = [_clean(element.text)]
    for child in element:
        if not isinstance(child.tag, str) or _is_chrome(child):
            pass
        elif child.tag in _HEADINGS:
            yield from _paragraph(run)
            run = []
            heading = _plain(child)
            if heading:
                yield f"## {heading}"
        elif child.tag in _LISTS:
            yield from _paragraph(run)
            run = []
            items = list(_items(child, base_url))
            if items:
                yield "\n".join(items)
        elif child.tag in _BLOCKS:
            yield from _paragraph(run)
            run = []
            yield from _blocks(child, base_url)
        else:
            run.append(_inline(child, base_url))
        run.append(_clean(child.tail))
    yield from _paragraph(run)


def _items(element: _Element, base_url: str) -> Iterator[str]:
    """Yield one `- ` line per list item, nested lists flattened after their parent item."""
    for child in element:
        if not isinstance(child.tag, str) or _is_chrome(child):
            continue
        if child.tag != "li":
            yield from _items(child, base_url)
            continue
        pieces = [_clean(child.text)]
        nested: list[_Element] = []
        for part in child:
            if isinstance(part.tag, str) and part.tag in _LISTS:
                nested.append(part)
            elif isinstance(part.tag, str) and not _is_chrome(part):
                pieces.append(_inline(part, base_url))
            pieces.append(_clean(part.tail))
        text = " ".join(_lines("".join(pieces)))
        if text:
            yield f"- {text}"
        for sublist in nested:
            yield from _items(sublist, base_url)


def _paragraph(run: list[str]) -> Iterator[str]:
    lines = _lines("".join(run))
    if lines:
        yield "\n".join(lines)


def _lines(text: str) -> list[str]:
    return [line for line in (_SPACE.sub(" ", part).strip() for part in text.split("\n")) if line]


def _clean(text: str | None) -> str:
    # Source line breaks are spaces in HTML; only <br> (written as "\n" here) breaks a line.
    return _SPACE.sub(" ", text) if text else ""


def _inline(element: _Element, base_url: str) -> str:
    """Return the markup of an inline element and everything in it (not its tail)."""
    tag = element.tag
    if not isinstance(tag, str) or _is_chrome(element):
        return ""
    if tag == "br":
        return "\n"
    if tag == "a":
        return _link(element, base_url)
    inner = _clean(element.text) + "".join(
        _inline(child, base_url) + _clean(child.tail) for child in element
    )
    if tag in _BOLD:
        return _wrap(inner, "**")
    if tag in _ITALIC:
        return _wrap(inner, "*")
    if tag in _BLOCKS or tag in _HEADINGS or tag == "li":
        return f"\n{inner}\n"  # a block inside an inline element still starts a new line
    return inner


def _wrap(inner: str, marker: str) -> str:
    """Put markers around each line's text, leaving its outer spaces outside the markers."""
    out = []
    for line in inner.split("\n"):
        text = line.strip()
        if not text or marker in text:
            # Nested emphasis of the same kind would close early: keep the words, drop markers.
            out.append(line)
            continue
        start = line[: len(line) - len(line.lstrip())]
        end = line[len(line.rstrip()) :]
        out.append(f"{start}{marker}{text}{marker}{end}")
    return "\n".join(out)


def _plain(element: _Element) -> str:
    """Return an element's words on one line, without markup (a heading, a link's label)."""
    return " ".join(_lines(_words(element)))


def _words(element: _Element) -> str:
    if not isinstance(element.tag, str) or _is_chrome(element) or _is_permalink(element):
        return ""
    if element.tag == "br":
        return " "
    inner = "".join(_words(child) + _clean(child.tail) for child in element)
    return _clean(element.text) + inner


def _is_permalink(element: _Element) -> bool:
    if element.tag != "a" or "#" not in (element.get("href") or ""):
        return False
    return "".join(element.itertext()).strip() in _ANCHOR_MARKS


def _link(element: _Element, base_url: str) -> str:
    if _is_permalink(element):
        return ""
    label = _plain(element)
    href = (element.get("href") or "").strip()
    target = urljoin(base_url, href) if href else ""
    if (
        urlsplit(target).scheme not in ("http", "https")
        or not label
        or "]" in label
        or "[" in label
    ):
        return label
    # The markup's link syntax ends a URL at ")" or a space.
    target = target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({target})"
