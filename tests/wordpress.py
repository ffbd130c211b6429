"""A WordPress site in miniature: its RSS feed and article pages, built from the Rafah seed."""

from __future__ import annotations

import asyncio
import hashlib
import html
from pathlib import Path
from types import TracebackType

from aiohttp import web

from bot.campaign.markup import paragraphs

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "campaigns" / "sources" / "rafah-seed-statement.txt"
HEADINGS = ("Enablers of genocide", "Our last refuge")
# What the hand copy picked up below the statement: the comment form of the page's wpDiscuz.
DEBRIS = "\nLeave A Reply"


def seed_statement() -> list[str]:
    """Return the statement's paragraphs as copied from the page, without the comment form."""
    text = SEED.read_text(encoding="utf-8")
    statement = text[: text.index(DEBRIS)]
    # The "#" glued to the last sentence is the post's permalink anchor (see article_html).
    return paragraphs(statement.replace("our own.#", "our own."))


def expected_body() -> list[str]:
    """Return the statement's paragraphs as markup: the lead line bold, headings as `## `."""
    lead, *rest = seed_statement()
    return [f"**{lead}**", *(f"## {p}" if p in HEADINGS else p for p in rest)]


def statement_html() -> str:
    """Return the statement as a WordPress editor writes it into a post's content."""
    lead, *rest = seed_statement()
    blocks = [f"<p><strong>{html.escape(lead)}</strong></p>"]
    for paragraph in rest:
        if paragraph in HEADINGS:
            blocks.append(
                f'<h2 class="wp-block-heading"><strong>{html.escape(paragraph)}</strong></h2>'
            )
        elif paragraph.startswith("We, in ILPS"):
            # The hand copy's stray "#": a permalink anchor some themes glue to the last line.
            blocks.append(
                f'<p>{html.escape(paragraph)}<a class="post-anchor" href="#post-1234">#</a></p>'
            )
        else:
            lines = (html.escape(line) for line in paragraph.split("\n"))
            blocks.append("<p>" + "<br>\n".join(lines) + "</p>")
    return "\n".join(blocks)


def restyled_statement_html(title: str) -> str:
    """Return the statement as other themes and editors set it: the post's title again as the
    body's first heading, the signature as two paragraphs with the name bold, and the
    permalink "#" left as text at the end of the last sentence, as in the hand copy."""
    content = statement_html()
    for old, new in (
        ("<p>Len Cooper</p>", "<p><strong>Len Cooper</strong></p>"),
        ('<a class="post-anchor" href="#post-1234">#</a>', "#"),
    ):
        assert old in content
        content = content.replace(old, new)
    return f'<h2 class="wp-block-heading">{html.escape(title)}</h2>\n{content}'


NAV = """
<header id="masthead" class="site-header">
  <div class="site-branding"><p class="site-title"><a href="/en/" rel="home">International League
  of Peoples' Struggle</a></p><p class="site-description">Unite and fight!</p></div>
  <nav id="site-navigation" class="main-navigation" aria-label="Primary">
    <button class="menu-toggle" aria-expanded="false">Menu</button>
    <ul id="primary-menu" class="menu">
      <li class="menu-item"><a href="/en/">Home</a></li>
      <li class="menu-item"><a href="/en/about-us/">About us</a></li>
      <li class="menu-item"><a href="/en/category/statements/">Statements</a></li>
      <li class="menu-item"><a href="/en/category/campaigns/">Campaigns</a></li>
      <li class="menu-item"><a href="/en/donate/">Donate</a></li>
      <li class="menu-item"><a href="/es/">Español</a></li>
    </ul>
  </nav>
</header>
"""

SHARE = """
<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social">
  <h3 class="sd-title">Share this:</h3>
  <div class="sd-content"><ul>
    <li class="share-twitter"><a class="share-twitter sd-button" href="https://twitter.com/intent/tweet?url=x"
      title="Click to share on Twitter"><span>Twitter</span></a></li>
    <li class="share-facebook"><a class="share-facebook sd-button"
      href="https://www.facebook.com/sharer.php?u=x" title="Click to share on Facebook"
      ><span>Facebook</span></a></li>
    <li class="share-telegram"><a class="share-telegram sd-button" href="https://t.me/share/url?url=x"
      title="Click to share on Telegram"><span>Telegram</span></a></li>
    <li class="share-jetpack-whatsapp"><a class="share-jetpack-whatsapp sd-button"
      href="https://api.whatsapp.com/send?text=x" title="Click to share on WhatsApp"
      ><span>WhatsApp</span></a></li>
  </ul></div>
</div></div>
"""

RELATED = """
<div id="jp-relatedposts" class="jp-relatedposts">
  <h3 class="jp-relatedposts-headline"><em>Related</em></h3>
  <div class="jp-relatedposts-items">
    <div class="jp-relatedposts-post"><h4 class="jp-relatedposts-post-title"><a
      href="/en/stop-the-genocide/">Stop the genocide in Gaza, end the occupation of
      Palestine</a></h4>
      <p class="jp-relatedposts-post-excerpt">The International League of Peoples' Struggle
      strongly condemns the continuing bombardment of Gaza by the Zionist state.</p>
      <p class="jp-relatedposts-post-date">November 2, 2023</p></div>
    <div class="jp-relatedposts-post"><h4 class="jp-relatedposts-post-title"><a
      href="/en/global-day-of-action/">Global day of action for Palestine</a></h4>
      <p class="jp-relatedposts-post-excerpt">Join the protests in your city this weekend.</p>
      <p class="jp-relatedposts-post-date">January 13, 2024</p></div>
  </div>
</div>
"""

COMMENTS = """
<div class="wpdiscuz_top_clearing"></div>
<div id="comments" class="comments-area">
  <div id="respond" style="width: 0;height: 0;clear: both;margin: 0;padding: 0;"></div>
  <div id="wpdcom" class="wpdiscuz_unauth wpd-default wpd-layout-2">
    <div class="wc_social_plugin_wrapper"></div>
    <div class="wpd-form-head">
      <div class="wpd-sbs-toggle"><i class="far fa-envelope"></i>
        <span class="wpd-sbs-title">Subscribe</span></div>
      <div class="wpd-auth"><div class="wpd-login"></div></div>
    </div>
    <div class="wpd-form wpd-form-wrapper wpd-main-form-wrapper" id="wpd-main-form-wrapper-0_0">
      <div class="wpd-thread-head"><div class="wpd-thread-info" data-comments-count="0">
        <span class="wpdtc" title="0">0</span> Comments</div></div>
      <h3 class="comment-reply-title">Leave A Reply</h3>
      <form method="post" enctype="multipart/form-data" data-uploading="false"
        class="wpd_comm_form wpd_main_comm_form">
        <div class="wpd-field-comment"><textarea id="wc-textarea-0_0"
          placeholder="Join the discussion" aria-label="Join the discussion" name="wc_comment"
          class="wc_comment wpd-field"></textarea></div>
        <div class="wpd-form-foot"><div class="wpdiscuz-subscribe-bar wpdiscuz-hidden">
          <label for="wpdiscuz_notification_type_0_0">Notify of</label>
          <select id="wpdiscuz_notification_type_0_0" name="wpdiscuz_notification_type">
            <option value="post">new follow-up comments</option>
            <option value="all_comment">new replies to my comments</option></select></div>
          <input name="submit" type="submit" value="Post Comment"></div>
      </form>
      <p class="akismet_comment_form_privacy_notice">This site uses Akismet to reduce spam. <a
        href="https://akismet.com/privacy/" target="_blank" rel="nofollow noopener">Learn how your
        comment data is processed.</a></p>
    </div>
    <div id="wpd-threads" class="wpd-thread-wrapper"><div class="wpd-thread-filter">
      <div class="wpd-filter wpdf-sorting"><span class="wpdiscuz-sort-button">Newest</span>
        <span class="wpdiscuz-sort-button">Most Voted</span></div>
      <div class="wpd-filter wpdf-reacted">Inline Feedbacks</div></div>
      <div class="wpd-thread-list">
        <div class="wpdiscuz-comment-pagination">View all comments</div></div>
    </div>
  </div>
</div>
"""

FOOTER = """
<footer id="colophon" class="site-footer">
  <section class="widget widget_text"><h2 class="widget-title">Subscribe to our newsletter</h2>
    <div class="textwidget"><p>Get the League's statements and calls in your inbox.</p></div>
  </section>
  <div class="site-info">© 2024 International League of Peoples' Struggle. All rights reserved.
    <a href="/en/privacy-policy/">Privacy Policy</a></div>
</footer>
"""

# Every bit of page chrome above says one of these; none of them may reach a draft.
CHROME_WORDS = (
    "Home",
    "About us",
    "Donate",
    "Español",
    "Share this",
    "Twitter",
    "Facebook",
    "WhatsApp",
    "Leave A Reply",
    "Leave a Reply",
    "Join the discussion",
    "Notify of",
    "Akismet",
    "Post Comment",
    "Newest",
    "Most Voted",
    "Inline Feedbacks",
    "View all comments",
    "Related",
    "Stop the genocide in Gaza, end the occupation",
    "Global day of action",
    "newsletter",
    "All rights reserved",
    "Privacy Policy",
    "Posted in",
    "Tagged",
    "Unite and fight",
)


def article_html(
    title: str,
    content: str,
    *,
    published: str | None = "2024-03-01T09:30:00+00:00",
    feed_link: bool = True,
) -> str:
    """Return a full WordPress article page with header, share buttons, comments and footer."""
    meta = f'<meta property="article:published_time" content="{published}">\n' if published else ""
    time = (
        f'<span class="posted-on"><time class="entry-date published" datetime="{published}">'
        "March 1, 2024</time></span>"
        if published
        else ""
    )
    feed = (
        '<link rel="alternate" type="application/rss+xml" title="ILPS &raquo; Feed" '
        'href="/en/feed/">\n'
        '<link rel="alternate" type="application/rss+xml" title="ILPS &raquo; Comments Feed" '
        'href="/en/comments/feed/">\n'
        if feed_link
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} &#8211; International League of Peoples&#039; Struggle</title>
{feed}<link rel="alternate" type="application/json" href="/en/wp-json/wp/v2/posts/1234">
<meta property="og:type" content="article">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="International League of Peoples&#039; Struggle">
{meta}<link rel="stylesheet" href="/en/wp-content/themes/ilps/style.css">
<script>window._wpemojiSettings = {{"baseUrl": "https://s.w.org/images/core/emoji/"}};</script>
</head>
<body class="post-template-default single single-post postid-1234 single-format-standard">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#primary">Skip to content</a>
{NAV}
<div id="content" class="site-content"><div id="primary" class="content-area">
<main id="main" class="site-main">
<article id="post-1234"
  class="post-1234 post type-post status-publish format-standard hentry category-statements">
  <header class="entry-header">
    <h1 class="entry-title">{html.escape(title)}</h1>
    <div class="entry-meta">{time}<span class="byline"> by <span class="author vcard"><a
      class="url fn n" href="/en/author/ilps-secretariat/">ILPS Secretariat</a></span></span></div>
  </header>
  <div class="entry-content">
{content}
{SHARE}
  </div>
  <footer class="entry-footer"><span class="cat-links">Posted in <a href="/en/category/statements/"
    rel="category tag">Statements</a></span><span class="tags-links">Tagged <a
    href="/en/tag/palestine/" rel="tag">Palestine</a></span></footer>
</article>
{RELATED}
{COMMENTS}
</main></div></div>
{FOOTER}
</div>
</body>
</html>
"""


def rss(base: str, items: list[str]) -> bytes:
    """Return a WordPress RSS 2.0 feed of the given <item> elements."""
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:atom="http://www.w3.org/2005/Atom"
\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"
\t>

<channel>
\t<title>International League of Peoples&#039; Struggle</title>
\t<atom:link href="{base}/en/feed/" rel="self" type="application/rss+xml" />
\t<link>{base}/en/</link>
\t<description>Unite and fight!</description>
\t<lastBuildDate>Fri, 01 Mar 2024 09:30:00 +0000</lastBuildDate>
\t<language>en-US</language>
\t<sy:updatePeriod>hourly</sy:updatePeriod>
\t<sy:updateFrequency>1</sy:updateFrequency>
\t<generator>https://wordpress.org/?v=6.4.3</generator>
{"".join(items)}
</channel>
</rss>
""".encode()


def rss_item(
    base: str,
    *,
    title: str,
    slug: str,
    post_id: int,
    pub_date: str | None = "Fri, 01 Mar 2024 09:30:00 +0000",
    creator: str | None = "ILPS Secretariat",
    description: str | None = None,
    content: str | None = None,
) -> str:
    """Return one WordPress feed <item>; leave out what is None."""
    link = f"{base}/en/{slug}/"
    parts = [
        f"\t<item>\n\t\t<title>{html.escape(title, quote=False)}</title>",
        f"\t\t<link>{link}</link>",
        f"\t\t<comments>{link}#respond</comments>",
    ]
    if creator:
        parts.append(f"\t\t<dc:creator><![CDATA[{creator}]]></dc:creator>")
    if pub_date:
        parts.append(f"\t\t<pubDate>{pub_date}</pubDate>")
    parts.append("\t\t<category><![CDATA[Statements]]></category>")
    parts.append(f'\t\t<guid isPermaLink="false">{base}/en/?p={post_id}</guid>')
    if description is not None:
        parts.append(f"\t\t<description><![CDATA[{description}]]></description>")
    if content is not None:
        parts.append(f"\t\t<content:encoded><![CDATA[{content}]]></content:encoded>")
    parts.append(f"\t\t<wfw:commentRss>{link}feed/</wfw:commentRss>")
    parts.append("\t\t<slash:comments>0</slash:comments>\n\t</item>\n")
    return "\n".join(parts)


MARCH = (
    "<p>We call on everyone who stands with Palestine to <strong>join the march</strong> this "
    "Saturday, in every city where the League has members.</p>\n"
    "<p>Bring your banners and your neighbours. The route and the times are on "
    '<a href="https://example.org/march">the march page</a>.</p>'
)


def feed_items(base: str) -> list[str]:
    """Return the site's three posts: one in full, one as a summary, one all but empty."""
    # Yoast SEO appends this footer to every post in the feed.
    footer = (
        f'<p>The post <a href="{base}/en/the-last-refuge-is-resistance/">The Last Refuge is '
        f'Resistance</a> appeared first on <a href="{base}/en/">International League of '
        "Peoples&#039; Struggle</a>.</p>"
    )
    return [
        rss_item(
            base,
            title="Photos from the march",
            slug="photos-from-the-march",
            post_id=1240,
            pub_date=None,
            creator=None,
        ),
        rss_item(
            base,
            title="Join the march on Saturday",
            slug="join-the-march",
            post_id=1236,
            pub_date="Sat, 02 Mar 2024 07:00:00 +0800",
            description="We call on everyone who stands with Palestine to join the march "
            "this Saturday, in every city where the League has members. [&#8230;]",
        ),
        rss_item(
            base,
            title="The Last Refuge is Resistance",
            slug="the-last-refuge-is-resistance",
            post_id=1234,
            description="All eyes are on Rafah, where over 1.5 million Palestinians seek "
            "refuge [&#8230;]",
            content=statement_html() + "\n" + footer,
        ),
    ]


PAGE = "/en/the-last-refuge-is-resistance/"
FEED = "/en/feed/"
ETAG = '"5f3c-1709285400"'
LAST_MODIFIED = "Fri, 01 Mar 2024 09:30:00 GMT"
HUGE = 5 * 1024 * 1024


class WordPressSite:
    """Serves the site on a free loopback port, and the misbehaving pages a fetcher meets."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[str, dict[str, str]]] = []  # path and headers, as they came
        self.asked: list[str] = []  # path with its query, as each request came
        self.answers: list[tuple[str, int]] = []  # path with its query, and the status answered
        # The feed's <item>s, when a test sets them (served with an ETag of their own); else
        # the three posts of feed_items.
        self.items: list[str] | None = None
        self.down = False  # the feed answers 503 while set
        self.sent: dict[str, int] = {}  # body bytes each streaming handler managed to write
        self.finished: set[str] = set()  # streaming handlers that wrote their whole body
        self._release = asyncio.Event()  # ends the handlers that would otherwise never answer
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        """Return the site's root URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on the site."""
        return self.base + path

    async def __aenter__(self) -> WordPressSite:
        app = web.Application()
        app.middlewares.append(self._record)
        routes = {
            FEED: self._feed,
            "/en/": self._home,
            PAGE: self._article,
            "/en/join-the-march/": self._march,
            "/en/no-feed/": self._no_feed,
            "/en/garbage": self._garbage,
            "/en/moved": self._moved,
            "/en/loop": self._loop,
            "/en/gone": self._gone,
            "/en/unavailable": self._unavailable,
            "/en/slow": self._slow,
            "/en/trickle": self._trickle,
            "/en/huge": self._huge,
            "/en/huge-declared": self._huge_declared,
        }
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: web.Handler) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.headers)))
        self.asked.append(request.path_qs)
        try:
            response = await handler(request)
        except web.HTTPException as error:
            self.answers.append((request.path_qs, error.status))
            raise
        self.answers.append((request.path_qs, response.status))
        return response

    async def _unavailable(self, request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable()

    async def _feed(self, request: web.Request) -> web.Response:
        if self.down:
            raise web.HTTPServiceUnavailable()
        if self.items is not None:
            body = rss(self.base, self.items)
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(
                body=body, content_type="application/rss+xml", headers={"ETag": etag}
            )
        # WordPress answers 304 when either validator matches, as most servers do.
        if request.headers.get("If-None-Match") == ETAG or (
            request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(
            body=rss(self.base, feed_items(self.base)),
            content_type="application/rss+xml",
            charset="UTF-8",
            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
        )

    async def _home(self, request: web.Request) -> web.Response:
        return _html(article_html("Home", "<p>Latest statements of the League.</p>"))

    async def _article(self, request: web.Request) -> web.Response:
        return _html(article_html("The Last Refuge is Resistance", statement_html()))

    async def _march(self, request: web.Request) -> web.Response:
        return _html(article_html("Join the march on Saturday", MARCH))

    async def _no_feed(self, request: web.Request) -> web.Response:
        return _html(article_html("About us", "<p>Who we are.</p>", feed_link=False))

    async def _garbage(self, request: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * 8, content_type="application/octet-stream")

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(FEED)

    async def _loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/en/loop")

    async def _gone(self, request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def _slow(self, request: web.Request) -> web.Response:
        await self._release.wait()
        return _html("<p>too late</p>")

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        # Answers at once, then a byte every 50 ms: each read is quick, the whole never ends.
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        while not self._release.is_set():
            await response.write(b"<")
            await asyncio.sleep(0.05)
        return response

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(request, "/en/huge", declare=False)

    async def _huge_declared(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(request, "/en/huge-declared", declare=True)

    async def _stream(
        self, request: web.Request, path: str, *, declare: bool
    ) -> web.StreamResponse:
        """Send a 5 MB page in 256 KB pieces, 10 ms apart, counting what got written."""
        headers = {"Content-Type": "text/html"}
        if declare:
            headers["Content-Length"] = str(HUGE)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        piece = b"<p>" + b"x" * (256 * 1024 - 7) + b"</p>\n"
        self.sent[path] = 0
        try:
            while self.sent[path] < HUGE:
                await response.write(piece)
                self.sent[path] += len(piece)
                # Paced, so the socket buffers cannot take the whole page before we stop.
                await asyncio.sleep(0.01)
        except ConnectionError:
            return response
        self.finished.add(path)
        return response


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="UTF-8")
