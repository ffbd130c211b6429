"""Campaign files: the schema, the safe loader, and every located error an organizer can meet."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from textwrap import dedent

import pytest

from bot.campaign import render
from bot.campaign.content import ContentError, load_campaign, load_campaigns

VALID = """\
id: test
title: Test campaign
organization: Test Org
statements:
  - title: Older
    date: 2024-01-05
    author: A. Person
    body: Old text.
  - title: Newer
    date: 2024-02-01
    author: B. Person
    role: Chair
    source: https://example.org/s
    body: |
      First paragraph.

      ## Heading

      Second paragraph.
slogans:
  - Free Palestine!
  - no
actions:
  - title: March
    description: Join the march.
    date: 2024-03-09
    time: 14:00
    place: City square
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_campaign(path)
    return [str(p) for p in caught.value.problems]


def test_valid_campaign_loads_with_latest_statement_first(tmp_path: Path) -> None:
    """A valid file loads, and the latest statement by date is "the statement"."""
    campaign = load_campaign(write(tmp_path, VALID))
    assert campaign.id == "test"
    assert campaign.statement.title == "Newer"
    assert [s.title for s in campaign.archive] == ["Newer", "Older"]
    assert campaign.statement.role == "Chair"


def test_yaml_11_traps_keep_the_text_as_written(tmp_path: Path) -> None:
    """`time: 14:00` is 14:00 (not 840) and a slogan `no` is "no" (not false)."""
    campaign = load_campaign(write(tmp_path, VALID))
    assert campaign.actions[0].time == dt.time(14, 0)
    assert campaign.actions[0].date == dt.date(2024, 3, 9)
    assert campaign.slogans == ["Free Palestine!", "no"]


def test_month_precision_dates_are_shown_as_month(tmp_path: Path) -> None:
    """A statement dated YYYY-MM is shown as month and year, not an invented day."""
    campaign = load_campaign(write(tmp_path, VALID.replace("2024-02-01", "2024-03")))
    assert str(campaign.statement.date) == "March 2024"
    assert campaign.statement.title == "Newer"


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    """A key given twice is reported at the second, naming the first line."""
    path = write(tmp_path, VALID.replace("title: Test campaign\n", "title: One\ntitle: Two\n"))
    assert problems(path) == [
        f"{path}:3:1: duplicate key 'title': already given on line 2, again on line 3"
    ]


def test_aliases_and_anchors_are_refused(tmp_path: Path) -> None:
    """Anchors and aliases are refused with their position."""
    path = write(tmp_path, "id: a\ntitle: &t Title\norganization: *t\n")
    assert problems(path) == [f"{path}:2:8: anchors (&name) are not allowed; write the value out"]


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A billion-laughs file is refused at once instead of expanding."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"a{i}: &a{i} [*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1}]" for i in range(1, 10)
    ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    started = time.perf_counter()
    found = problems(path)
    assert time.perf_counter() - started < 1.0
    assert found == [f"{path}:1:5: anchors (&name) are not allowed; write the value out"]


def test_python_tags_are_refused(tmp_path: Path) -> None:
    """A python tag is refused, never constructed."""
    text = 'title: !!python/object/apply:os.system ["echo pwned"]'
    path = write(tmp_path, VALID.replace("title: Test campaign", text))
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(
        f"{path}:2:8: the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    )


def test_files_over_one_mebibyte_are_refused(tmp_path: Path) -> None:
    """A file over 1 MiB is refused before it is parsed."""
    path = tmp_path / "big.yaml"
    path.write_text("id: a\nbody: '" + "x" * (1024 * 1024) + "'\n", encoding="utf-8")
    found = problems(path)
    assert found == [f"{path}:1:1: file is {path.stat().st_size} bytes; the limit is 1 MiB"]


def test_unknown_and_missing_keys_are_located(tmp_path: Path) -> None:
    """A misspelt key is an error at its line; a missing one points at its map."""
    text = VALID.replace("slogans:", "sloagns:").replace("    author: A. Person\n", "")
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:5:5: missing required key 'author'",
        f"{path}:19:1: unknown key 'sloagns'",
    ]


def test_wrong_types_are_located(tmp_path: Path) -> None:
    """A list where text belongs, and a date that is not one, are errors at their place."""
    text = VALID.replace("title: Test campaign", "title: [a, b]").replace("2024-03-09", "no")
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:2:8: title: expected text here",
        f"{path}:26:11: actions.0.date: 'no' is not a date; write it as YYYY-MM-DD",
    ]


def test_bad_time_and_link_are_located(tmp_path: Path) -> None:
    """An impossible time and a link without http(s) are errors at their place."""
    text = VALID.replace("14:00", "25:00").replace("https://example.org/s", "example.org")
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:13:13: statements.1.source: a link must start with http:// or https://",
        f"{path}:27:11: actions.0.time: '25:00' is not a time; write it as HH:MM (24-hour)",
    ]


def test_bad_campaign_id_is_located(tmp_path: Path) -> None:
    """An id that cannot go in a t.me link is refused."""
    path = write(tmp_path, VALID.replace("id: test", "id: my campaign!"))
    assert problems(path) == [
        f"{path}:1:5: id: an id is 1-64 letters, digits, '-' or '_' (it goes in a t.me link)"
    ]


def test_syntax_errors_are_located(tmp_path: Path) -> None:
    """Broken YAML syntax is reported at the line and column the parser stopped."""
    path = write(tmp_path, "id: a\ntitle: x\n  organization: y\n")
    assert problems(path) == [f"{path}:3:15: mapping values are not allowed here"]


def test_tab_indentation_and_control_characters_are_located(tmp_path: Path) -> None:
    """A control character is named with its position."""
    path = write(tmp_path, "id: a\ntitle: bell\x07here\n")
    assert problems(path) == [f"{path}:2:12: character '\\x07' is not allowed in YAML; remove it"]


def test_non_utf8_files_are_located(tmp_path: Path) -> None:
    """A file in another encoding is refused at the first bad byte."""
    path = tmp_path / "latin.yaml"
    path.write_bytes("id: a\ntitle: caf\xe9\n".encode("latin-1"))
    assert problems(path) == [f"{path}:2:11: the file is not UTF-8 text; save it as UTF-8"]


def test_empty_and_scalar_files_are_refused(tmp_path: Path) -> None:
    """An empty file and a file holding one word are refused."""
    assert problems(write(tmp_path, "", "empty.yaml")) == [
        f"{tmp_path / 'empty.yaml'}:1:1: the file is empty"
    ]
    assert problems(write(tmp_path, "hello\n", "word.yaml")) == [
        f"{tmp_path / 'word.yaml'}:1:1: expected keys and values"
    ]


def test_folder_reports_every_file_and_duplicate_ids(tmp_path: Path) -> None:
    """Loading a folder reports problems of every file, and an id used twice."""
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    write(
        tmp_path,
        VALID.replace("id: test\ntitle: Test campaign", "id: x\ntitle: x\ntitle: y"),
        "c.yaml",
    )
    with pytest.raises(ContentError) as caught:
        load_campaigns(tmp_path)
    found = [str(p) for p in caught.value.problems]
    assert found == [
        f"{tmp_path / 'b.yaml'}:1:1: campaign id 'test' is already used by {tmp_path / 'a.yaml'}",
        f"{tmp_path / 'c.yaml'}:3:1: duplicate key 'title': already given on line 2, "
        "again on line 3",
    ]


def test_every_problem_of_a_file_is_reported_in_line_order(tmp_path: Path) -> None:
    """A duplicate key does not hide the schema's problems; all come sorted by line."""
    text = (
        VALID.replace("slogans:", "slogans:\n  - extra\nslogans:")
        .replace("14:00", "9:61")
        .replace("https://example.org/s", "javascript:alert(1)")
    )
    path = write(tmp_path, text)
    found = problems(path)
    assert [line.split(": ", 1)[0].removeprefix(f"{path}:") for line in found] == [
        "13:13",
        "22:1",
        "29:11",
    ]
    assert "duplicate key 'slogans'" in found[1]


def test_nine_thirty_is_a_time_and_a_blank_body_is_not_text(tmp_path: Path) -> None:
    """`time: 9:30` reads as 09:30; a body of spaces is refused."""
    campaign = load_campaign(write(tmp_path, VALID.replace("14:00", "9:30")))
    assert campaign.actions[0].time == dt.time(9, 30)
    path = write(tmp_path, VALID.replace("body: Old text.", "body: '   '"), "blank.yaml")
    assert problems(path) == [f"{path}:8:11: statements.0.body: must not be empty"]


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    """An unterminated quote points at its opening, not at the end of the file."""
    path = write(tmp_path, VALID.replace("title: Test campaign", 'title: "Test campaign'))
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:2:8: while scanning a quoted scalar")


def test_an_unclosed_list_is_reported_where_it_opens(tmp_path: Path) -> None:
    """A `[` never closed points at the `[` and says the file ended, not at the file's end."""
    path = write(tmp_path, "id: a\ntitle: t\nslogans: [a, b\n")
    assert problems(path) == [f"{path}:3:10: this [ is never closed: the file ends first"]


def test_an_unclosed_map_is_reported_where_it_opens(tmp_path: Path) -> None:
    """A `{` never closed points at the `{`, also when the file has no final newline."""
    path = write(tmp_path, "id: a\ntitle: {en: t, fr: t")
    assert problems(path) == [f"{path}:2:8: this {{ is never closed: the file ends first"]


def test_an_unclosed_list_after_a_comma_is_reported_where_it_opens(tmp_path: Path) -> None:
    """A `[` left open after a comma, or with nothing in it, points at the `[`."""
    path = write(tmp_path, "id: a\nslogans: [a,\n")
    assert problems(path) == [f"{path}:2:10: this [ is never closed: the file ends first"]
    path = write(tmp_path, "id: [\n", "empty.yaml")
    assert problems(path) == [f"{path}:1:5: this [ is never closed: the file ends first"]


def test_the_innermost_unclosed_bracket_is_reported(tmp_path: Path) -> None:
    """Of brackets inside each other, the innermost one still open is the one reported."""
    inner = write(tmp_path, "id: a\nslogans: [a, [b, c\n", "inner.yaml")
    assert problems(inner) == [f"{inner}:2:14: this [ is never closed: the file ends first"]
    mixed = write(tmp_path, "id: a\nslogans: [a, {b: c\n", "mixed.yaml")
    assert problems(mixed) == [f"{mixed}:2:14: this {{ is never closed: the file ends first"]
    outer = write(tmp_path, "id: a\nslogans: [a, [b, c]\n", "outer.yaml")
    assert problems(outer) == [f"{outer}:2:10: this [ is never closed: the file ends first"]


def test_an_unclosed_bracket_before_more_keys_names_the_line_it_runs_into(
    tmp_path: Path,
) -> None:
    """A `[` or `{` still open when later keys follow points at it and names the later line."""
    path = write(tmp_path, VALID.replace("title: Test campaign", "title: [Test campaign"))
    assert problems(path) == [
        f"{path}:2:8: this [ is not closed before line 3 (expected ',' or ']', but got ':')"
    ]
    text = VALID.replace("slogans:\n  - Free Palestine!\n  - no\n", "slogans: {a: b,\n  c: d\n")
    path = write(tmp_path, text, "map.yaml")
    assert problems(path) == [
        f"{path}:20:10: this {{ is not closed before line 22 (expected ',' or '}}', but got ':')"
    ]


def test_other_syntax_errors_keep_their_messages(tmp_path: Path) -> None:
    """Tabs, bad indentation, quotes inside a list and same-line slips read as before."""
    cases = {
        "id: a\n\ttitle: x\n": "2:1: while scanning for the next token: "
        "found character '\\t' that cannot start any token",
        "a:\n  b: 1\n c: 2\n": "3:2: while parsing a block mapping: "
        "expected <block end>, but found '<block mapping start>'",
        'id: a\nslogans: [a, "b\n': "2:14: while scanning a quoted scalar: "
        "found unexpected end of stream",
        "slogans: [\n  a,\n  - b\n]\n": "3:3: while parsing a flow node: "
        "expected the node content, but found '-'",
        "x: [a, b}\n": "1:9: while parsing a flow sequence: expected ',' or ']', but got '}'",
    }
    for text, expected in cases.items():
        path = write(tmp_path, text)
        assert problems(path) == [f"{path}:{expected}"], text


def test_closing_lines_end_the_statement_before_its_signature(tmp_path: Path) -> None:
    """`closing:` lines are shown one to a line after the body, then the signature."""
    text = VALID.replace(
        "      Second paragraph.\n",
        "      Second paragraph.\n    closing:\n      - Free Palestine!\n      - A & *b*\n",
    )
    campaign = load_campaign(write(tmp_path, text))
    assert campaign.statement.closing == ["Free Palestine!", "A & *b*"]
    [message] = render.statement(campaign, campaign.statement)
    assert "Second paragraph.\n\nFree Palestine!\nA &amp; <i>b</i>\n\n— <b>B. Person" in message
    assert campaign.archive[1].closing == []  # optional: a statement without one ends as before


def test_a_closing_line_is_one_line_of_text(tmp_path: Path) -> None:
    """A closing line with a line break, or empty, or not text, is an error at its place."""
    text = VALID.replace(
        "      Second paragraph.\n",
        "      Second paragraph.\n    closing:\n      - |\n        One\n        Two\n"
        "      - ''\n      - [a]\n",
    )
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:21:9: statements.1.closing.0: a closing line is one line; write each line as"
        " an item of its own",
        f"{path}:24:9: statements.1.closing.1: must not be empty",
        f"{path}:25:9: statements.1.closing.2: expected text here",
    ]


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    """A folder without campaign files is an error, not an empty bot."""
    with pytest.raises(ContentError, match="no campaign files"):
        load_campaigns(tmp_path)


# Pictures and files (issue 13, item 2)

MEDIA = """\
id: test
title: Test campaign
organization: Test Org
statements:
  - title: Statement
    date: 2024-01-05
    author: A. Person
    body: Text.
    image: {image}
    attachments:
      - {attachment}
actions:
  - title: March
    description: Join the march.
    image: {poster}
"""


def picture(path: Path, size: tuple[int, int] = (40, 30), kind: str = "PNG") -> Path:
    """Write a small picture of this size and format, and return its path."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(path, kind)
    return path


def media_campaign(tmp_path: Path, **values: str) -> Path:
    """Write a campaign naming a picture, a file and a poster, with good ones by default."""
    folder = tmp_path / "c"
    picture(folder / "poster.png")
    (folder / "docs").mkdir()
    (folder / "docs" / "statement.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    names = {"image": "poster.png", "attachment": "docs/statement.pdf", "poster": "poster.png"}
    return write(tmp_path, MEDIA.format(**(names | values)))


def test_pictures_and_files_load_from_the_campaign_folder(tmp_path: Path) -> None:
    """A statement's image and attachments, and an action's poster, are files of c/ for c.yaml."""
    campaign = load_campaign(media_campaign(tmp_path))
    statement = campaign.statement
    assert statement.image is not None
    assert statement.image.kind == "photo"
    assert statement.image.path == (tmp_path / "c" / "poster.png").resolve()
    assert [a.file.path for a in statement.attachments] == [
        (tmp_path / "c" / "docs" / "statement.pdf").resolve()
    ]
    assert statement.attachments[0].file.kind == "document"
    assert statement.attachments[0].title is None
    assert campaign.actions[0].image == statement.image


def test_an_attachment_may_have_a_title_and_a_link(tmp_path: Path) -> None:
    """`file:` with `title:` names a file with its caption; an https link is taken unfetched."""
    text = "{file: docs/statement.pdf, title: The statement as PDF}"
    campaign = load_campaign(media_campaign(tmp_path, attachment=text))
    assert campaign.statement.attachments[0].title == "The statement as PDF"
    linked = load_campaign(media_campaign(tmp_path / "2", image="https://example.org/p.jpg"))
    assert linked.statement.image is not None
    assert linked.statement.image.url == "https://example.org/p.jpg"
    assert linked.statement.image.path is None
    assert linked.statement.image.name == "p.jpg"


def test_missing_escaping_and_unsafe_files_are_located(tmp_path: Path) -> None:
    """A missing file, a path out of the folder, an absolute one and an http link are errors
    at their place."""
    (tmp_path / "secret.png").write_bytes(b"")
    path = media_campaign(
        tmp_path,
        image="nowhere.png",
        attachment="../secret.png",
        poster="http://example.org/poster.png",
    )
    folder = tmp_path / "c"
    assert problems(path) == [
        f"{path}:9:12: statements.0.image: 'nowhere.png': no such file in {folder}/",
        f"{path}:11:9: statements.0.attachments.0.file: '../secret.png': the file must be "
        f"inside {folder}/",
        f"{path}:15:12: actions.0.image: 'http://example.org/poster.png': a link to a file must "
        "start with https://",
    ]
    absolute = media_campaign(tmp_path / "2", image=str(tmp_path / "c" / "poster.png"))
    assert problems(absolute) == [
        f"{absolute}:9:12: statements.0.image: '{tmp_path / 'c' / 'poster.png'}': name a file "
        f"inside {tmp_path / '2' / 'c'}/ (a relative path)"
    ]


def test_files_of_the_wrong_type_are_located(tmp_path: Path) -> None:
    """A PDF as a picture, a GIF as a picture, a .pdf that is not one, and a link Telegram
    cannot fetch a document from, are errors at their place."""
    path = media_campaign(tmp_path, image="docs/statement.pdf", poster="anim.gif")
    picture(tmp_path / "c" / "anim.gif", kind="GIF")
    assert problems(path) == [
        f"{path}:9:12: statements.0.image: statement.pdf: not an image Telegram can show; a "
        "picture must be a JPEG, PNG or WebP file",
        f"{path}:15:12: actions.0.image: anim.gif: a GIF image; a picture must be a JPEG, PNG "
        "or WebP file",
    ]
    other = media_campaign(tmp_path / "2", attachment="fake.pdf")
    (tmp_path / "2" / "c" / "fake.pdf").write_text("not a pdf")
    assert problems(other) == [
        f"{other}:11:9: statements.0.attachments.0.file: fake.pdf: not a PDF, as its name says"
    ]
    linked = media_campaign(tmp_path / "3", attachment="https://example.org/statement.docx")
    assert problems(linked) == [
        f"{linked}:11:9: statements.0.attachments.0.file: 'https://example.org/statement.docx': "
        "Telegram fetches only PDF, ZIP and GIF files from a link; put the file in the "
        "campaign folder instead"
    ]


def test_files_over_telegrams_limits_are_located(tmp_path: Path) -> None:
    """A picture over 10 MB or out of Telegram's proportions, and a file over 50 MB, are
    errors at their place."""
    path = media_campaign(tmp_path, image="big.png", attachment="big.pdf", poster="long.png")
    folder = tmp_path / "c"
    with (folder / "big.png").open("wb") as big:
        big.write(b"\x89PNG\r\n\x1a\n")
        big.truncate(10 * 1024 * 1024 + 1)  # sparse: nothing is written
    with (folder / "big.pdf").open("wb") as big:
        big.write(b"%PDF-1.4\n")
        big.truncate(50 * 1024 * 1024 + 1)
    picture(folder / "long.png", size=(2100, 100))
    assert problems(path) == [
        f"{path}:9:12: statements.0.image: big.png: a picture may be 10 MB at most; this one "
        "is 10.0 MB",
        f"{path}:11:9: statements.0.attachments.0.file: big.pdf: a file may be 50 MB at most; "
        "this one is 50.0 MB",
        f"{path}:15:12: actions.0.image: long.png: 2100x100 pixels; Telegram takes pictures at "
        "most 20 times longer than wide",
    ]
    picture(folder / "long.png", size=(6000, 4001))
    assert problems(path)[-1] == (
        f"{path}:15:12: actions.0.image: long.png: 6000x4001 pixels; Telegram takes pictures "
        "whose width and height add up to 10000 at most"
    )


def test_a_statement_files_pictures_are_named_in_the_campaign_folder(tmp_path: Path) -> None:
    """A statement in c/statements/ names its picture in c/ too; a wrong one is located in
    its own file."""
    path = media_campaign(tmp_path)
    folder = tmp_path / "c" / "statements"
    folder.mkdir()
    statement = folder / "2024-02-01-later.yaml"
    statement.write_text(
        "title: Later\ndate: 2024-02-01\nauthor: B\nbody: Text.\nimage: poster.png\n"
    )
    assert load_campaign(path).statement.image == load_campaign(path).statements[0].image
    statement.write_text(
        "title: Later\ndate: 2024-02-01\nauthor: B\nbody: Text.\nimage: statements/none.png\n"
    )
    assert problems(path) == [
        f"{statement}:5:8: image: 'statements/none.png': no such file in {tmp_path / 'c'}/"
    ]


def test_a_link_leading_out_of_the_campaign_folder_is_refused(tmp_path: Path) -> None:
    """A symbolic link inside the folder to a file outside it is refused like `../`."""
    outside = picture(tmp_path / "elsewhere" / "poster.png")
    path = media_campaign(tmp_path, poster="linked.png")
    (tmp_path / "c" / "linked.png").symlink_to(outside)
    assert problems(path) == [
        f"{path}:15:12: actions.0.image: 'linked.png': the file must be inside {tmp_path / 'c'}/"
    ]
