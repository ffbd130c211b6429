"""The preview reads a saved feed with :feed and shows the draft an organizer would get."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from .conftest import ROOT
from .test_cli import bot_command
from .wordpress import FEED, PAGE, WordPressSite, rss, rss_item


def test_preview_offers_a_saved_feed_as_a_draft_and_adds_it_to_a_copy() -> None:
    """`:feed FILE` offers the post as the watcher would; Add writes into a throwaway copy of
    the campaigns, never into the organizer's folder, and a second read offers nothing."""
    statements = ROOT / "campaigns" / "rafah" / "statements"
    assert not statements.exists()
    typed = "\n".join(
        [
            ":feed docs/examples/rafah-feed.xml",
            "1",
            ":feed docs/examples/rafah-feed.xml",
            ":feed missing.xml",
            ":feed README.md",
            "/statements",
        ]
    )

    done = bot_command("preview", stdin=typed + "\n")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "📰 New post on peoplesstruggle.org for All eyes on Rafah: a draft statement." in out
    assert "Missing from the post: date." in out
    assert "[1] ✅ Add as the latest statement" in out
    assert "[2] 📣 Add and announce…" in out
    assert "[3] Ignore" in out
    assert "Leave A Reply" not in out
    assert "✅ Added to rafah: written to /tmp/" in out
    assert "(no new post in docs/examples/rafah-feed.xml for rafah: each is offered once)" in out
    assert "(cannot read the feed: No such file or directory)" in out
    assert "README.md is not an RSS or Atom feed" in out
    # The added statement is served in the preview, above the shipped one.
    archive = out.rsplit("> /statements", 1)[1]
    assert archive.index("The Last Refuge is Resistance") < archive.index("ILPS Statement on")
    assert not statements.exists()


async def test_preview_never_fetches_a_page_for_a_cut_short_post(tmp_path: Path) -> None:
    """A saved feed whose post is only a summary linking to a live page: the preview drafts it
    from the feed and never asks the page (it stays offline)."""
    async with WordPressSite() as site:
        item = rss_item(
            site.base,
            title="The Last Refuge is Resistance",
            slug="the-last-refuge-is-resistance",
            post_id=1234,
            description="All eyes are on Rafah, where over 1.5 million Palestinians seek "
            "refuge [&#8230;]",
        )
        saved = tmp_path / "feed.xml"
        saved.write_bytes(rss(site.base, [item]))
        # The campaign's own feed is on that site, so only being offline keeps the page unread.
        campaigns = tmp_path / "campaigns"
        campaigns.mkdir()
        shipped = (ROOT / "campaigns" / "rafah.yaml").read_text(encoding="utf-8")
        (campaigns / "rafah.yaml").write_text(
            shipped.replace("\nstatements:\n", f"\nfeed: {site.url(FEED)}\nstatements:\n", 1),
            encoding="utf-8",
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "CAMPAIGNS_DIR": str(campaigns),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "preview",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            process.communicate(f":feed {saved}\n:quit\n".encode()), 60
        )
    assert process.returncode == 0, err.decode()
    shown = out.decode()
    assert "All eyes are on Rafah, where over 1.5 million Palestinians seek refuge" in shown
    assert "[3] Ignore" in shown
    assert f"Original source <{site.url(PAGE)}>" in shown  # linked, not fetched
    assert site.asked == []
