"""`python -m bot import URL|FILE`: a statement's YAML from its page, a feed or a saved file."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.campaign.content import Statement, load_campaigns
from bot.campaign.markup import paragraphs

from .conftest import CAMPAIGNS, ROOT
from .wordpress import (
    FEED,
    PAGE,
    WordPressSite,
    article_html,
    expected_body,
    restyled_statement_html,
    statement_html,
)


async def run_bot(
    *args: str, campaigns: Path = CAMPAIGNS, stdin: str = ""
) -> tuple[int, str, str]:
    """Run `python -m bot ...` without blocking this event loop (a loopback site may be
    answering in it); return its exit code, stdout and stderr."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "CAMPAIGNS_DIR": str(campaigns),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def bot_import(*args: str, campaigns: Path = CAMPAIGNS) -> tuple[int, str, str]:
    """Run `python -m bot import ...` as organizers do; return its exit code, stdout, stderr."""
    return await run_bot("import", *args, campaigns=campaigns)


@pytest.fixture
async def site() -> AsyncIterator[WordPressSite]:
    """The organization's website, on loopback."""
    async with WordPressSite() as served:
        yield served


def statement_of(text: str) -> Statement:
    """Read printed YAML the way the campaign loader would, as one statement."""
    return Statement.model_validate(yaml.safe_load(text))


async def test_a_page_becomes_a_statement_word_for_word(site: WordPressSite) -> None:
    """The Rafah page's address prints a statement whose body is the source's paragraphs,
    with its date, signatory and link, and none of the page's chrome."""
    code, out, err = await bot_import(site.url(PAGE))

    assert code == 0, err
    statement = statement_of(out)
    assert paragraphs(statement.body) == expected_body()[:-2]  # signed by author and role
    assert (statement.author, statement.role) == ("Len Cooper", "ILPS Chairperson")
    assert str(statement.date) == "1 March 2024"
    assert statement.source == site.url(PAGE)
    assert "Leave A Reply" not in out
    assert "Akismet" not in out
    assert out.startswith("# Draft statement, read ")
    assert "--campaign ID" in err


async def test_a_feed_gives_its_newest_post_with_its_gaps(site: WordPressSite) -> None:
    """A feed's address prints its newest post (here one with a title only), with the keys it
    lacks left empty and named, so the loader stops exactly there."""
    code, out, err = await bot_import(site.url(FEED))

    assert code == 0, err
    document = yaml.safe_load(out)
    assert document["title"] == "Photos from the march"
    assert document["date"] is None
    assert document["body"] is None
    assert "# Missing from the post: date, author, body" in out
    assert "missing from the post: date, author, body" in err


async def test_a_saved_page_keeps_its_published_address(tmp_path: Path) -> None:
    """A saved copy of the page gives the same statement, linked to where the page says it was
    published, not to the file."""
    saved = tmp_path / "statement.html"
    canonical = '<link rel="canonical" href="https://peoplesstruggle.org/en/rafah/">'
    page = article_html("The Last Refuge is Resistance", statement_html())
    saved.write_text(page.replace("<head>", f"<head>\n{canonical}", 1))

    code, out, err = await bot_import(str(saved))

    assert code == 0, err
    statement = statement_of(out)
    assert paragraphs(statement.body) == expected_body()[:-2]  # signed by author and role
    assert statement.source == "https://peoplesstruggle.org/en/rafah/"


async def test_a_saved_restyled_page_gives_the_title_once_and_its_signature(
    tmp_path: Path,
) -> None:
    """A saved page whose body repeats its title, signs in two paragraphs and keeps the "#"
    glued to its last sentence gives the statement once, signed, word for word."""
    saved = tmp_path / "statement.html"
    title = "The Last Refuge is Resistance"
    saved.write_text(article_html(title, restyled_statement_html(title)))

    code, out, err = await bot_import(str(saved))

    assert code == 0, err
    statement = statement_of(out)
    assert paragraphs(statement.body) == expected_body()[:-2]
    assert (statement.title, statement.author, statement.role) == (
        title,
        "Len Cooper",
        "ILPS Chairperson",
    )


async def test_writing_into_a_campaign_adds_a_file_that_validates(
    site: WordPressSite, tmp_path: Path
) -> None:
    """--campaign writes a new file in campaigns/rafah/statements/ that the loader serves, and
    leaves the campaign file as it was."""
    campaigns = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, campaigns)
    before = (campaigns / "rafah.yaml").read_bytes()

    code, out, err = await bot_import(site.url(PAGE), "--campaign", "rafah", campaigns=campaigns)

    assert code == 0, err
    written = campaigns / "rafah" / "statements" / "2024-03-01-the-last-refuge-is-resistance.yaml"
    assert out.splitlines() == [
        f"written to {written}",
        "the campaign validates: /reload in Telegram (or restart the bot) to serve it",
    ]
    campaign = load_campaigns(campaigns).default
    assert len(campaign.statements) == 2
    assert campaign.statement.title == "The Last Refuge is Resistance"
    assert (campaigns / "rafah.yaml").read_bytes() == before


async def test_a_statement_without_date_or_author_is_completed_as_add_does(
    tmp_path: Path,
) -> None:
    """A saved page with no date or signature is written with the day it was read and the
    campaign's organization, each said in the output and in a YAML comment, and it validates."""
    campaigns = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, campaigns)
    page = tmp_path / "bare.html"
    page.write_text(
        "<html><head><title>March on Saturday</title></head><body><article>"
        "<h1>March on Saturday</h1><p>Meet at the square at noon. Bring banners.</p>"
        "<p>Everyone is welcome to join the march for Palestine on Saturday.</p>"
        "</article></body></html>"
    )

    code, out, err = await bot_import(str(page), "--campaign", "rafah", campaigns=campaigns)

    assert code == 0, err
    [written] = (campaigns / "rafah" / "statements").iterdir()
    assert out.splitlines()[0] == f"written to {written}"
    assert "date: the post gives no date: this is the day it was read" in out
    assert "author: the post names no author: this is the campaign's organization" in out
    text = written.read_text(encoding="utf-8")
    assert "# date: the post gives no date: this is the day it was read" in text
    campaign = load_campaigns(campaigns).default
    added = next(s for s in campaign.statements if s.title == "March on Saturday")
    assert added.author == "International League of Peoples' Struggle (ILPS)"
    assert added.source is None  # a saved page that does not say where it was published


async def test_a_post_without_text_is_not_written(site: WordPressSite, tmp_path: Path) -> None:
    """The feed's newest post has a title only: with --campaign nothing is written and the
    command says why, in one sentence, exit 1."""
    campaigns = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, campaigns)

    code, out, err = await bot_import(site.url(FEED), "--campaign", "rafah", campaigns=campaigns)

    assert code == 1
    assert out == ""
    assert err.strip() == (
        "import: the post has no body, so nothing was written (without --campaign it is "
        "printed, to finish by hand)"
    )
    assert not (campaigns / "rafah").exists()


async def test_bad_sources_are_one_sentence(site: WordPressSite, tmp_path: Path) -> None:
    """A missing file, a page that is not there, a non-page and an unknown campaign each end in
    one sentence naming the source, and nothing is written."""
    garbage = tmp_path / "notes.txt"
    garbage.write_text("just some notes\n")
    cases = [
        ((str(tmp_path / "nope.html"),), 1, "no such file"),
        ((site.url("/en/gone"),), 1, "answered 404"),
        ((site.url("/en/unavailable"),), 75, "answered 503"),
        ((str(garbage),), 1, "neither a web page nor an RSS or Atom feed"),
        ((site.url(PAGE), "--campaign", "nope"), 1, "unknown campaign 'nope'"),
    ]
    for args, expected_code, words in cases:
        code, out, err = await bot_import(*args)
        assert code == expected_code, (args, err)
        assert out == ""
        assert words in err, (args, err)
        assert len(err.strip().splitlines()) == 1, (args, err)
        assert "Traceback" not in err
