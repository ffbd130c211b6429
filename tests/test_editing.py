"""Changing a campaign file as the desk will (issue 22, item 2): only the lines that changed
differ, comments and layout kept, and a file changed on disk meanwhile is not overwritten."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from bot.campaign.content import load_campaign
from bot.campaign.editing import ChangedOnDisk, EditError, edited, save

from .conftest import CAMPAIGNS

SHIPPED = (CAMPAIGNS / "rafah.yaml").read_text(encoding="utf-8")


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """Return the lines taken out and put in, as a diff shows them."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    gone = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    return gone, added


def campaign_of(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder, dirs_exist_ok=True)
    path = folder / "rafah.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_change_is_the_file_byte_for_byte() -> None:
    assert edited(SHIPPED, {}) == SHIPPED


def test_a_slogan_fixed_and_an_action_added_change_only_their_lines(tmp_path: Path) -> None:
    """Fix one slogan, add an action with its Arabic: the diff is those lines, the comments and
    the other actions' folded text as they were; the file still validates, with the changes."""
    path = campaign_of(tmp_path, SHIPPED)
    campaign = load_campaign(path)
    slogans = list(campaign.slogans)
    slogans[4] = "Long live international solidarity!"
    actions = [{"title": a.title, "description": a.description} for a in campaign.actions] + [
        {
            "title": {"en": "Rally on Saturday", "ar": "تجمّع يوم السبت"},
            "description": {"en": "Meet at the square at noon.", "ar": "نلتقي في الساحة ظهرًا."},
        }
    ]
    after = edited(SHIPPED, {"slogans": slogans, "actions": actions})
    gone, added = changed_lines(SHIPPED, after)
    assert gone == ["  - Long live international Solidarity!"]
    assert added[0] == "  - Long live international solidarity!"
    assert "".join(added[1:]).count("Rally on Saturday") == 1
    # The new action follows the last one, and nothing else moved.
    only_slogan = edited(SHIPPED, {"slogans": slogans})
    assert after.startswith(only_slogan)
    assert after[len(only_slogan) :].count("title:") == 1
    assert after.count("#") == SHIPPED.count("#")  # every comment kept
    assert "description: >-" in after  # the folded descriptions stay folded
    path.write_text(after, encoding="utf-8")
    reloaded = load_campaign(path)
    assert reloaded.slogans[4] == "Long live international solidarity!"
    assert reloaded.actions[-1].title == "Rally on Saturday"
    assert reloaded.in_language("ar").actions[-1].title == "تجمّع يوم السبت"


def test_a_changed_description_keeps_its_style() -> None:
    after = edited(SHIPPED, {"summary": "The ILPS statement on Rafah, and what it calls for."})
    gone, added = changed_lines(SHIPPED, after)
    assert "summary: >-" in after  # still folded, so only its text lines changed
    assert gone == [
        "  The ILPS statement on the ‘flour massacre’ and Israel’s impending invasion of Rafah,",
        "  its six closing slogans, and actions drawn from the calls it makes.",
    ]
    assert added == ["  The ILPS statement on Rafah, and what it calls for."]


def test_removing_a_slogan_removes_its_line_only() -> None:
    campaign = load_campaign(CAMPAIGNS / "rafah.yaml")
    slogans = [s for s in campaign.slogans if s != "Free Palestine!"]
    gone, added = changed_lines(SHIPPED, edited(SHIPPED, {"slogans": slogans}))
    assert (gone, added) == (["  - Free Palestine!"], [])


def test_a_file_the_desk_would_reformat_is_refused() -> None:
    """A list not indented under its key (valid YAML, another layout): refused, not rewritten."""
    other = SHIPPED.replace(
        "\n  - Stop the invasion of Rafah! End", "\n- Stop the invasion of Rafah! End"
    )
    with pytest.raises(EditError, match="edit it by hand"):
        edited(other, {"slogans": ["One"]}, "rafah.yaml")
    with pytest.raises(EditError, match="cannot be read as YAML"):
        edited("title: 'unclosed\n", {}, "rafah.yaml")


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    """Saving what was opened before someone else's edit: refused, with what they changed."""
    path = campaign_of(tmp_path, SHIPPED)
    opened = path.read_text(encoding="utf-8")
    theirs = opened.replace("title: All eyes on Rafah", "title: Eyes on Rafah")
    path.write_text(theirs, encoding="utf-8")
    ours = edited(opened, {"slogans": ["Free Palestine!"]})
    with pytest.raises(ChangedOnDisk) as refused:
        save([(path, opened, ours)])
    assert "-title: All eyes on Rafah\n+title: Eyes on Rafah" in refused.value.diff
    assert path.read_text(encoding="utf-8") == theirs  # nothing written
    save([(path, theirs, edited(theirs, {"slogans": ["Free Palestine!"]}))])
    assert load_campaign(path).slogans == ["Free Palestine!"]
    assert load_campaign(path).title == "Eyes on Rafah"
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []


def test_the_comments_after_a_list_stay_when_its_last_item_changes() -> None:
    """The blank line and the comment before `actions:` ride on the last slogan in the YAML:
    changing or dropping that slogan keeps them where they were."""
    campaign = load_campaign(CAMPAIGNS / "rafah.yaml")
    *kept, last = campaign.slogans
    for slogans in ([*kept, "Down with imperialism!"], kept, ["Only one"]):
        after = edited(SHIPPED, {"slogans": slogans})
        assert "\n\n# One action for each concrete call" in after
        assert after.count("#") == SHIPPED.count("#")
        assert last not in after.split("\nactions:")[0].split("\nslogans:")[1]


def test_a_moved_item_goes_in_as_it_was_written() -> None:
    """Two list items swapped: each keeps its own layout (a folded description, a comment)."""
    text = (
        "actions:\n"
        "  - title: First\n"
        "    # the first one\n"
        "    description: >-\n"
        "      A long description\n"
        "      folded on two lines.\n"
        "  - title: Second\n"
        "    description: Short.\n"
    )
    swapped = edited(
        text,
        {
            "actions": [
                {"title": "Second", "description": "Short."},
                {"title": "First", "description": "A long description folded on two lines."},
            ]
        },
    )
    assert swapped == (
        "actions:\n"
        "  - title: Second\n"
        "    description: Short.\n"
        "  - title: First\n"
        "    # the first one\n"
        "    description: >-\n"
        "      A long description\n"
        "      folded on two lines.\n"
    )


def test_a_date_and_a_block_read_back_as_text_are_left_as_written() -> None:
    """The desk sends every value as text: a date stays a date, a block keeps its last line
    break, when their words did not change."""
    text = "date: 2024-03-01\nbody: |\n  One paragraph.\n"
    assert edited(text, {"date": "2024-03-01", "body": "One paragraph."}) == text


def test_a_changed_block_keeps_its_way_of_ending() -> None:
    text = "body: |\n  One paragraph, with a tpyo.\ntitle: T\n"
    assert edited(text, {"body": "One paragraph, with a typo."}) == (
        "body: |\n  One paragraph, with a typo.\ntitle: T\n"
    )


def test_an_empty_key_left_out_of_a_changed_item_stays() -> None:
    text = "actions:\n  - title: A\n    description: B\n    image:\n"
    assert edited(text, {"actions": [{"title": "A", "description": "C"}]}) == (
        "actions:\n  - title: A\n    description: C\n    image:\n"
    )


def test_a_statement_added_on_top_leaves_the_dated_ones_as_written() -> None:
    """The desk sends dates as text: an item with a date still matches its old self, so a
    new one on top is one insertion, and a new date is written as a date."""
    text = (
        "statements:\n"
        "  - title: Old\n"
        "    # the day it was signed\n"
        "    date: 2024-03-02\n"
        "    body: Text.\n"
    )
    new = {"title": "New", "date": "2024-04-01", "body": "More."}
    old = {"title": "Old", "date": "2024-03-02", "body": "Text."}
    assert edited(text, {"statements": [new, old]}) == (
        "statements:\n"
        "  - title: New\n"
        "    date: 2024-04-01\n"
        "    body: More.\n"
        "  - title: Old\n"
        "    # the day it was signed\n"
        "    date: 2024-03-02\n"
        "    body: Text.\n"
    )
