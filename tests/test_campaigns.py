"""The shipped campaigns: every file loads, and Rafah presents its seed statement faithfully."""

from __future__ import annotations

import html
import re

import pytest

from bot.campaign import render
from bot.campaign.content import load_campaign, load_campaigns
from bot.campaign.markup import MESSAGE_LIMIT, telegram_length

from .conftest import ANA, CAMPAIGNS, Harness

SEED = CAMPAIGNS / "sources" / "rafah-seed-statement.txt"
SLOGANS = [
    "Stop the invasion of Rafah! End the siege of Gaza!",
    "End the arms support to Israel!",
    "Expose and oppose imperialist US, and its allies complicit to the genocide!",
    "Free Palestine!",
    "Long live international Solidarity!",
    "Down with US imperialism!",
]


def seed_paragraphs() -> list[str]:
    """Return the seed's statement paragraphs: after the title, before the slogans."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    body = lines[1 : lines.index(SLOGANS[0])]
    # The web page glued a stray "#" to the last sentence; it is not part of the statement.
    return [re.sub(r"\.#$", ".", line) for line in body if line]


# What the web page put after the signature, its comment form: not part of the statement.
COMMENT_FORM = [
    "Leave A Reply",
    "Notify of",
    "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    "Newest Most Voted",
    "Inline Feedbacks",
    "View all comments",
]


def seed_lines() -> list[str]:
    """Return every non-empty line of the seed, title to signature, without the page's debris."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    assert lines[-len(COMMENT_FORM) :] == COMMENT_FORM
    # The web page glued a stray "#" to the last sentence; it is not part of the statement.
    return [re.sub(r"\.#$", ".", line) for line in lines[: -len(COMMENT_FORM)]]


def plain_lines(messages: list[str]) -> list[str]:
    """Return the non-empty lines of rendered messages as a reader sees them, tags removed."""
    text = html.unescape(re.sub(r"<[^>]+>", "", "\n".join(messages)))
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_every_shipped_campaign_loads() -> None:
    """Every file in campaigns/ validates, so a content edit cannot ship broken."""
    content = load_campaigns(CAMPAIGNS)
    assert len(content) >= 1
    for campaign in content:
        for message in render.statement(campaign, campaign.statement):
            assert telegram_length(message) <= MESSAGE_LIMIT


def test_rafah_body_is_the_seed_statement_word_for_word() -> None:
    """Every paragraph of the seed statement is in the body, in order, unchanged."""
    campaign = load_campaign(CAMPAIGNS / "rafah.yaml")
    body = [p.removeprefix("## ") for p in campaign.statement.body.split("\n\n") if p.strip()]
    assert [p.strip() for p in body] == seed_paragraphs()


async def test_rafah_statement_shows_every_line_of_the_seed_in_order(bot: Harness) -> None:
    """/statement shows the seed line by line: title, body, six closing slogans, signature."""
    await bot.command("/statement", user=ANA)
    shown = plain_lines(bot.texts(ANA))
    *words, author, role = seed_lines()
    assert (author, role) == ("Len Cooper", "ILPS Chairperson")
    # Each line of the seed is a whole line of the statement, in the seed's order; only the
    # byline (date and organization) comes between the title and the first paragraph.
    assert shown[0] == words[0]
    assert shown[2 : 1 + len(words)] == words[1:]
    assert words[-len(SLOGANS) :] == SLOGANS
    # The signature closes it, right after the slogans, as "— Len Cooper, ILPS Chairperson".
    assert shown[1 + len(words)] == f"— {author}, {role}"
    assert shown[2 + len(words) :] == ["Original source"]


def test_rafah_keeps_the_section_headings() -> None:
    """The two section headings of the statement are headings in the body."""
    body = load_campaign(CAMPAIGNS / "rafah.yaml").statement.body
    assert "\n## Enablers of genocide\n" in body
    assert "\n## Our last refuge\n" in body


def test_rafah_is_attributed_to_ilps_and_its_chairperson() -> None:
    """The statement carries its title, signatory and organization."""
    campaign = load_campaign(CAMPAIGNS / "rafah.yaml")
    statement = campaign.statement
    first_line = SEED.read_text(encoding="utf-8").splitlines()[0].strip()
    assert statement.title == first_line
    assert (statement.author, statement.role) == ("Len Cooper", "ILPS Chairperson")
    assert "ILPS" in campaign.organization
    rendered = "\n".join(render.statement(campaign, statement))
    assert "— <b>Len Cooper</b>, ILPS Chairperson" in rendered


def test_rafah_slogans_are_the_six_closing_slogans() -> None:
    """The six closing slogans are the bot's slogans, exactly."""
    campaign = load_campaign(CAMPAIGNS / "rafah.yaml")
    assert campaign.slogans == SLOGANS
    assert campaign.statement.closing == SLOGANS  # and they close the statement, as published


@pytest.mark.parametrize(
    "call",
    [
        "ceasefire",
        "International Court of Justice",
        "blockade",
        "military",
        "food",
        "boycott",
        "protest",
    ],
)
def test_rafah_has_an_action_for_each_call(call: str) -> None:
    """Each concrete call of the statement is an action item a reader can take."""
    actions = load_campaign(CAMPAIGNS / "rafah.yaml").actions
    matching = [a for a in actions if call.lower() in f"{a.title} {a.description}".lower()]
    assert matching, f"no action mentions {call!r}"
