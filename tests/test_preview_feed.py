"""The preview reads a saved feed with :feed and shows the draft an organizer would get."""

from __future__ import annotations

from .conftest import ROOT
from .test_cli import bot_command


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
