"""The preview reads a saved feed with :feed and shows the draft an organizer would get."""

from __future__ import annotations

from pathlib import Path

from .conftest import ROOT
from .test_cli import bot_command
from .test_feed_watch import rafah_summary
from .test_import import run_bot
from .wordpress import FEED, PAGE, WordPressSite, rss


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
        saved = tmp_path / "feed.xml"
        saved.write_bytes(rss(site.base, [rafah_summary(site)]))
        # The campaign's own feed is on that site, so only being offline keeps the page unread.
        campaigns = tmp_path / "campaigns"
        campaigns.mkdir()
        shipped = (ROOT / "campaigns" / "rafah.yaml").read_text(encoding="utf-8")
        (campaigns / "rafah.yaml").write_text(
            shipped.replace("\nstatements:\n", f"\nfeed: {site.url(FEED)}\nstatements:\n", 1),
            encoding="utf-8",
        )
        code, shown, err = await run_bot(
            "preview", campaigns=campaigns, stdin=f":feed {saved}\n:quit\n"
        )
    assert code == 0, err
    assert "All eyes are on Rafah, where over 1.5 million Palestinians seek refuge" in shown
    assert "[3] Ignore" in shown
    assert f"Original source <{site.url(PAGE)}>" in shown  # linked, not fetched
    assert site.asked == []
