"""Statements one to a file beside their campaign: read with it, errors located, none rewritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.campaign.content import ContentError, load_campaigns
from bot.campaign.statement_files import file_name, statements_folder, write_statement

CAMPAIGNS = Path(__file__).resolve().parent.parent / "campaigns"

NEWER = """\
# An organizer's comment, kept as written.
title: "Rafah: the siege goes on"
date: "2024-05-20"
author: Len Cooper
role: ILPS Chairperson
source: https://example.org/rafah-may
body: |
  First paragraph.

  ## A heading

  Second paragraph.
"""


@pytest.fixture
def campaigns(tmp_path: Path) -> Path:
    """A copy of the shipped campaigns folder, to add statement files to."""
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    return folder


def test_a_statement_file_is_served_as_the_latest(campaigns: Path) -> None:
    """A newer statement in campaigns/rafah/statements/ becomes the latest, and the archive
    keeps the campaign file's own."""
    write_statement(campaigns / "rafah.yaml", NEWER, "2024-05-20-rafah")

    campaign = load_campaigns(campaigns).default

    assert campaign.statement.title == "Rafah: the siege goes on"
    assert campaign.statement.body.startswith("First paragraph.")
    assert [s.title for s in campaign.archive][1].startswith("ILPS Statement on the ‘flour")
    assert len(campaign.archive) == 2


def test_a_bad_statement_file_is_located_in_that_file(campaigns: Path) -> None:
    """A statement file with an unknown key and a bad date names its own file, line and column,
    and the campaign is not served half-read."""
    folder = statements_folder(campaigns / "rafah.yaml")
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text(
        "title: T\ndate: last week\nauthor: A\nbody: Text.\nsumary: typo\n", encoding="utf-8"
    )

    with pytest.raises(ContentError) as caught:
        load_campaigns(campaigns)

    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{folder / 'bad.yaml'}:2:7: date:") for line in lines), lines
    assert any(
        line.startswith(f"{folder / 'bad.yaml'}:5:1: unknown key 'sumary'") for line in lines
    )


def test_a_campaign_may_keep_all_its_statements_in_files(tmp_path: Path) -> None:
    """A campaign file without `statements:` loads when its folder has one."""
    (tmp_path / "demo.yaml").write_text(
        "id: demo\ntitle: Demo\norganization: Org\nfeed: https://example.org/feed/\n",
        encoding="utf-8",
    )
    write_statement(tmp_path / "demo.yaml", NEWER, "first")

    campaign = load_campaigns(tmp_path).default

    assert [s.title for s in campaign.statements] == ["Rafah: the siege goes on"]
    assert campaign.feed == "https://example.org/feed/"


def test_a_feed_must_be_a_web_address(tmp_path: Path) -> None:
    """`feed:` takes http(s) addresses only, with the error at its value."""
    (tmp_path / "demo.yaml").write_text(
        "id: demo\ntitle: Demo\norganization: Org\nfeed: file:///etc/passwd\n"
        "statements:\n  - {title: T, date: '2024-01-01', author: A, body: B}\n",
        encoding="utf-8",
    )

    with pytest.raises(ContentError) as caught:
        load_campaigns(tmp_path)

    assert f"{tmp_path / 'demo.yaml'}:4:7: feed: a link must start with http" in str(caught.value)


def test_writing_never_replaces_a_file(campaigns: Path) -> None:
    """A second statement of the same name gets -2, the first file stays byte for byte, and no
    temporary file is left behind."""
    first = write_statement(campaigns / "rafah.yaml", NEWER, "2024-05-20-rafah")
    second = write_statement(campaigns / "rafah.yaml", NEWER.replace("First", "Other"), first.stem)
    third = write_statement(campaigns / "rafah.yaml", NEWER, "2024-05-20-rafah")

    assert first.name == "2024-05-20-rafah.yaml"
    assert second.name == "2024-05-20-rafah-2.yaml"
    assert third.name == "2024-05-20-rafah-3.yaml"
    assert first.read_text(encoding="utf-8") == NEWER
    assert sorted(p.name for p in first.parent.iterdir()) == sorted(
        [first.name, second.name, third.name]
    )


def test_file_names_are_date_and_title_in_ascii() -> None:
    """Names are the date and the title's words, accents folded, without punctuation."""
    assert file_name("2024-03-01", "ILPS Statement on the ‘flour massacre’!") == (
        "2024-03-01-ilps-statement-on-the-flour-massacre"
    )
    assert file_name(None, "Déclaration: ¡Alto!") == "declaration-alto"
    assert file_name(None, None) == "statement"
