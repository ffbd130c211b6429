"""The campaign's words changed in the desk, in a real headless Chromium (issue 22): a slogan's
typo fixed and an action added with its Arabic, saved into the YAML file (only those lines),
served to subscribers in each language; a save with a problem writes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import io
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from PIL import Image
from playwright.async_api import Browser, Locator, Page, expect

from bot import texts
from bot.campaign.content import load_campaign
from bot.storage import Storage

from .conftest import ADMIN, ANA, CAMPAIGNS, Harness, serving
from .test_desk_api import Desk, desk_of, init_data
from .test_desk_browser import browser, events, open_desk, pytestmark, storage  # noqa: F401

TYPO = "Long live international Solidarity!"
FIXED = "Long live international solidarity!"


def png(width: int, height: int) -> bytes:
    """Return a real PNG picture."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def folder_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    return folder


async def open_writer(browser: Browser, desk: Desk, organizer: int = ADMIN) -> Page:  # noqa: F811
    """The desk open at the campaign's words."""
    page = await open_desk(browser, desk, init_data(organizer))
    await page.get_by_role("button", name=texts.DESK_WRITE_OPEN).click()
    await expect(page.locator("#write-slogans > li")).to_have_count(6)
    return page


@contextlib.asynccontextmanager
async def writer(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    folder: Path,
) -> AsyncIterator[tuple[Harness, Page]]:
    """The bot serving `folder`, and its desk open at the campaign's words."""
    async with serving(storage, folder) as bot, desk_of(bot) as desk:
        yield bot, await open_writer(browser, desk)


def changed_lines(before: str, after: str) -> list[str]:
    """Return the lines a change took out (-) and put in (+), in order."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def problem_at(page: Page, path: str) -> Locator:
    """The sentence shown at the field whose key path is `path` (actions.7.title)."""
    return page.locator(f'[data-path="{path}"] > .problem')


async def test_an_organizer_fixes_a_slogan_and_adds_an_action_with_its_arabic(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = folder_copy(tmp_path) / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with writer(browser, storage, path.parent) as (bot, page):
        slogan = page.get_by_label(f"{texts.DESK_FIELD_SLOGANS} 5 (English)")
        await expect(slogan).to_have_value(TYPO)
        await slogan.fill(FIXED)
        await page.get_by_role("button", name=texts.DESK_ADD_ACTION).click()
        new = f"{texts.DESK_FIELD_ACTIONS} 8"
        await page.get_by_label(f"{new}: {texts.DESK_FIELD_TITLE} (English)").fill("Rally")
        arabic = page.get_by_label(f"{new}: {texts.DESK_FIELD_TITLE} (Arabic)")
        await expect(arabic).to_be_hidden()  # a language the campaign is not written in yet
        await page.get_by_role("checkbox", name="Arabic").check()
        assert await arabic.get_attribute("dir") == "rtl"
        await arabic.fill("تجمّع")
        await page.get_by_label(f"{new}: {texts.DESK_FIELD_DESCRIPTION} (English)").fill(
            "Meet at the square at noon."
        )
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")

        after = path.read_text(encoding="utf-8")
        diff = changed_lines(before, after)
        assert diff[:2] == [f"-  - {TYPO}", f"+  - {FIXED}"], diff
        assert all(line.startswith("+") for line in diff[2:])  # the new action, added
        assert after.count("#") == before.count("#")  # the comments kept
        campaign = load_campaign(path)
        assert campaign.actions[-1].title == "Rally"
        assert campaign.in_language("ar").actions[-1].title == "تجمّع"

        await bot.command("/slogans", user=ANA)
        assert FIXED in bot.texts(ANA)[-1]
        await bot.command("/actions", user=ANA + 1, language_code="ar")
        assert "تجمّع" in "\n".join(bot.texts(ANA + 1)[-3:])


async def test_a_save_with_a_problem_shows_it_and_writes_nothing(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An action with a description but no title: the validator's sentence in the desk, the
    file as it was, and what was typed still in the form."""
    path = folder_copy(tmp_path) / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with writer(browser, storage, path.parent) as (_bot, page):
        await page.get_by_role("button", name=texts.DESK_ADD_ACTION).click()
        description = f"{texts.DESK_FIELD_ACTIONS} 8: {texts.DESK_FIELD_DESCRIPTION} (English)"
        await page.get_by_label(description).fill("No title for this one.")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Not saved")
        await expect(page.locator("#write-status")).to_contain_text("rafah.yaml")
        assert path.read_text(encoding="utf-8") == before
        await expect(page.get_by_label(description)).to_have_value("No title for this one.")
        # At the fields, in the validator's words: the title missing, the date not one.
        await expect(problem_at(page, "actions.7.title")).to_have_text(
            "missing required key 'title'"
        )
        # The sentences wrap on a phone: nothing wider than its 360 pixels.
        assert await page.evaluate("document.documentElement.scrollWidth") == 360
        title = page.get_by_label(
            f"{texts.DESK_FIELD_ACTIONS} 8: {texts.DESK_FIELD_TITLE} (English)"
        )
        await expect(title).to_have_attribute("aria-invalid", "true")
        date = page.get_by_label(f"{texts.DESK_FIELD_STATEMENTS} 1: {texts.DESK_FIELD_DATE}")
        await date.fill("2024-13")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(problem_at(page, "statements.0.date")).to_contain_text(
            "'2024-13' is not a date"
        )
        assert path.read_text(encoding="utf-8") == before


async def test_a_statement_is_edited_with_a_live_preview_split_as_telegram_splits_it(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The statement's role and a closing line changed, and an action moved up: the preview
    follows the typing and shows the statement in as many messages as /statement sends; the
    file changes in those lines only."""
    path = folder_copy(tmp_path) / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with writer(browser, storage, path.parent) as (bot, page):
        statement = f"{texts.DESK_FIELD_STATEMENTS} 1"
        await page.get_by_role("button", name=texts.DESK_PREVIEW, exact=True).last.click()
        preview = page.locator("#write-preview .bubble")
        await expect(preview.first).to_contain_text("ILPS Statement on the")
        role = page.get_by_label(f"{statement}: {texts.DESK_FIELD_ROLE} (English)")
        await expect(role).to_have_value("ILPS Chairperson")
        await role.fill("Chairperson of the ILPS")
        await expect(page.locator("#write-preview")).to_contain_text("Chairperson of the ILPS")
        line = page.get_by_label(f"{statement}: {texts.DESK_FIELD_CLOSING} 4 (English)")
        await line.fill("Free Palestine, from the river to the sea!")
        await expect(page.locator("#write-preview")).to_contain_text("from the river to the sea")
        await page.get_by_role(
            "button", name=f"{texts.DESK_MOVE_UP}: {texts.DESK_FIELD_ACTIONS} 2"
        ).click()
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")

        await bot.command("/statement", user=ANA)
        sent = bot.texts(ANA)
        assert len(sent) >= 2  # the statement is longer than one message
        assert "Chairperson of the ILPS" in sent[-1]
        await expect(preview).to_have_count(len(sent))  # split where the bot splits it

        diff = changed_lines(before, path.read_text(encoding="utf-8"))
        assert diff[:4] == [
            "-    role: ILPS Chairperson",
            "+    role: Chairperson of the ILPS",
            "-      - Free Palestine!",
            "+      - Free Palestine, from the river to the sea!",
        ], diff
        moved = diff[4:]  # the same lines out and in: the action moved, nothing else
        assert moved
        assert sorted(x[1:] for x in moved if x[0] == "-") == sorted(
            x[1:] for x in moved if x[0] == "+"
        )
        actions = load_campaign(path).actions
        original = load_campaign(CAMPAIGNS / "rafah.yaml").actions
        assert [a.title for a in actions] == [
            original[1].title,
            original[0].title,
            *[a.title for a in original[2:]],
        ]


async def test_a_picture_chosen_on_the_phone_is_kept_and_bad_ones_are_told_at_the_field(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A real PNG chosen for an action is kept in the campaign's pictures/ and named in its
    YAML; a text file passed off as a picture and a path outside the folder are each one
    sentence at their field, and nothing is written."""
    path = folder_copy(tmp_path) / "rafah.yaml"
    async with writer(browser, storage, path.parent) as (_bot, page):
        first = f"{texts.DESK_FIELD_ACTIONS} 1: {texts.DESK_FIELD_IMAGE}"
        chooser = page.locator('[data-path="actions.0.image"] input[type=file]')
        await chooser.set_input_files(
            {"name": "Rally Poster.png", "mimeType": "image/png", "buffer": png(400, 300)}
        )
        await expect(page.get_by_label(first, exact=True)).to_have_value(
            "pictures/rally-poster.png"
        )
        fake = page.locator('[data-path="actions.1.image"] input[type=file]')
        await fake.set_input_files(
            {"name": "poster.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}
        )
        await expect(problem_at(page, "actions.1.image")).to_contain_text("not an image")
        outside = page.get_by_label(
            f"{texts.DESK_FIELD_ACTIONS} 3: {texts.DESK_FIELD_IMAGE}", exact=True
        )
        await outside.fill("../../rafah.yaml")
        before = path.read_text(encoding="utf-8")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(problem_at(page, "actions.2.image")).to_contain_text("must be inside")
        assert path.read_text(encoding="utf-8") == before

        await outside.fill("")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")
        diff = changed_lines(before, path.read_text(encoding="utf-8"))
        assert diff == ["+    image: pictures/rally-poster.png"], diff
        action = load_campaign(path).actions[0]
        assert action.image is not None
        assert (
            action.image.path
            == (path.parent / "rafah" / "pictures" / "rally-poster.png").resolve()
        )
        assert sorted(p.name for p in (path.parent / "rafah" / "pictures").iterdir()) == [
            "rally-poster.png"
        ]


async def test_two_browsers_save_at_once_one_wins_the_other_keeps_what_it_typed(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    async with (
        serving(storage, folder, admins=frozenset({ADMIN, ANA})) as bot,
        desk_of(bot) as desk,
    ):
        first, second = (
            await open_writer(browser, desk, ADMIN),
            await open_writer(browser, desk, ANA),
        )
        mine = first.get_by_label(f"{texts.DESK_FIELD_SLOGANS} 1 (English)")
        theirs = second.get_by_label(f"{texts.DESK_FIELD_SLOGANS} 2 (English)")
        await mine.fill("Stop the invasion of Rafah now!")
        await theirs.fill("End all arms support to Israel!")
        await asyncio.gather(
            first.get_by_role("button", name=texts.DESK_SAVE).click(),
            second.get_by_role("button", name=texts.DESK_SAVE).click(),
        )
        saved = texts.RELOADED.split("{")[0].strip()
        told = texts.SAVE_CHANGED_ON_DISK.split("{")[0].strip()[:40]
        statuses = []
        for page in (first, second):
            status = page.locator("#write-status")
            await expect(status).to_contain_text(
                re.compile(f"{re.escape(saved)}|{re.escape(told)}")
            )
            statuses.append(await status.text_content() or "")
        assert sorted(saved in s for s in statuses) == [False, True], statuses
        winner, loser = (0, 1) if saved in statuses[0] else (1, 0)
        typed = ["Stop the invasion of Rafah now!", "End all arms support to Israel!"]
        slogans = load_campaign(path).slogans
        assert typed[winner] in slogans
        assert typed[loser] not in slogans
        field = (mine, theirs)[loser]
        await expect(field).to_have_value(typed[loser])  # nothing typed is lost
        assert "@@" in statuses[loser]  # what changed on disk, shown


async def test_a_file_edited_on_disk_meanwhile_is_not_overwritten(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = folder_copy(tmp_path) / "rafah.yaml"
    async with writer(browser, storage, path.parent) as (_bot, page):
        by_hand = path.read_text(encoding="utf-8").replace(TYPO, "Long live solidarity!")
        path.write_text(by_hand, encoding="utf-8")
        slogan = page.get_by_label(f"{texts.DESK_FIELD_SLOGANS} 1 (English)")
        await slogan.fill("Stop the invasion of Rafah now!")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        status = page.locator("#write-status")
        await expect(status).to_contain_text("+  - Long live solidarity!")
        assert path.read_text(encoding="utf-8") == by_hand
        await expect(slogan).to_have_value("Stop the invasion of Rafah now!")


async def test_a_version_is_restored_from_the_history(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A slogan fixed and saved (version 2); the history shows who saved it and what it
    changed; restoring version 1, confirmed in Telegram's popup, puts the file back and
    subscribers get the old words."""
    path = folder_copy(tmp_path) / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with writer(browser, storage, path.parent) as (bot, page):
        await page.get_by_label(f"{texts.DESK_FIELD_SLOGANS} 5 (English)").fill(FIXED)
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")
        await page.get_by_role("button", name=texts.DESK_HISTORY).click()
        versions = page.locator("#versions-list > li")
        await expect(versions).to_have_count(2)
        newest = page.locator('#versions-list > li[data-version="2"]')
        await expect(newest).to_contain_text(f"by {ADMIN}")
        await newest.get_by_text(texts.DESK_WHAT_CHANGED).click()
        await expect(newest.locator("pre")).to_contain_text(f"-  - {TYPO}")
        await expect(newest.locator("pre")).to_contain_text(f"+  - {FIXED}")

        oldest = page.locator('#versions-list > li[data-version="1"]')
        await oldest.get_by_role("button").click()
        popups = [data for kind, data in await events(page) if kind == "web_app_open_popup"]
        assert popups[-1]["message"] == texts.DESK_RESTORE_CONFIRM.format(id=1)
        assert path.read_text(encoding="utf-8") != before  # nothing before the confirmation
        await page.evaluate("Telegram.WebView.receiveEvent('popup_closed', {button_id: 'ok'})")
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")
        await expect(versions).to_have_count(3)
        assert path.read_text(encoding="utf-8") == before
        await bot.command("/slogans", user=ANA)
        assert TYPO in bot.texts(ANA)[-1]


async def test_a_statement_in_a_file_of_its_own_is_edited_in_place(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A statement added from the feed lives in a file of its own: its typo is fixed in that
    file (its line only), a problem in it is shown at its field, and the campaign file is
    left as it was."""
    folder = folder_copy(tmp_path)
    own = folder / "rafah" / "statements" / "2024-04-01-solidarity.yaml"
    own.parent.mkdir(parents=True)
    own.write_text(
        "# Added from the feed.\n"
        "title: Solidarity with Rafah\n"
        "date: 2024-04-01\n"
        "author: Len Cooper\n"
        "body: |\n"
        "  We stand with the peopel of Rafah.\n",
        encoding="utf-8",
    )
    before, campaign = own.read_text(encoding="utf-8"), (folder / "rafah.yaml").read_bytes()
    async with writer(browser, storage, folder) as (bot, page):
        name = own.name
        body = page.get_by_label(f"{name}: {texts.DESK_FIELD_BODY} (English)")
        await expect(body).to_have_value("We stand with the peopel of Rafah.\n")
        date = page.get_by_label(f"{name}: {texts.DESK_FIELD_DATE}")
        await date.fill("2024-04-31")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(problem_at(page, "files.0.date")).to_contain_text("is not a date")
        assert own.read_text(encoding="utf-8") == before

        await date.fill("2024-04-01")
        await body.fill("We stand with the people of Rafah.")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")
        assert changed_lines(before, own.read_text(encoding="utf-8")) == [
            "-  We stand with the peopel of Rafah.",
            "+  We stand with the people of Rafah.",
        ]
        assert (folder / "rafah.yaml").read_bytes() == campaign
        await bot.command("/statement", user=ANA)
        assert "We stand with the people of Rafah." in "\n".join(bot.texts(ANA))


async def test_a_save_changes_only_what_was_changed_whatever_the_file_holds(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A title kept as a one-language map, a translated summary in paragraphs, an action's
    day and its empty picture key: a slogan fixed next to them leaves them as written. A
    blank slogan added is named at its field, and goes when removed."""
    path = folder_copy(tmp_path) / "rafah.yaml"
    text = path.read_text(encoding="utf-8")
    summary = text[text.index("summary: >-") : text.index("\nstatements:")]
    text = text.replace("title: All eyes on Rafah\n", "title:\n  en: All eyes on Rafah\n", 1)
    text = text.replace(
        summary,
        "summary:\n  en: |\n    First paragraph.\n\n    Second paragraph.\n"
        "  ar: |\n    الفقرة الأولى.\n\n    الفقرة الثانية.\n",
    )
    text = text.replace(
        "  - title: Demand an immediate ceasefire\n",
        "  - title: Demand an immediate ceasefire\n    date: 2024-03-08\n    image:\n",
    )
    path.write_text(text, encoding="utf-8")
    assert load_campaign(path).in_language("ar").summary == "الفقرة الأولى.\n\nالفقرة الثانية."
    async with writer(browser, storage, path.parent) as (_bot, page):
        await page.get_by_label(f"{texts.DESK_FIELD_SLOGANS} 5 (English)").fill(FIXED)
        await page.get_by_role("button", name=texts.DESK_ADD_SLOGAN).click()
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(problem_at(page, "slogans.6")).to_contain_text("must not be empty")
        assert path.read_text(encoding="utf-8") == text
        remove = f"{texts.DESK_REMOVE}: {texts.DESK_FIELD_SLOGANS} 7"
        await page.get_by_role("button", name=remove).click()
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")
        assert changed_lines(text, path.read_text(encoding="utf-8")) == [
            f"-  - {TYPO}",
            f"+  - {FIXED}",
        ]


async def test_statements_are_shown_newest_first_and_a_new_one_goes_on_top(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The file lists the March statement, then a May one: the desk shows May first. A new
    statement is added on top and saved as the file's first, one insertion; a problem of the
    March one, shown third, is shown at its own field."""
    path = folder_copy(tmp_path) / "rafah.yaml"
    may = (
        "  - title: A statement from May\n"
        "    date: 2024-05-01\n"
        "    author: Len Cooper\n"
        "    body: Words from May.\n"
    )
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "      - Down with US imperialism!\n", "      - Down with US imperialism!\n" + may, 1
    )
    path.write_text(text, encoding="utf-8")
    async with writer(browser, storage, path.parent) as (_bot, page):
        statements = page.locator("#write-statements > li")
        title = f"{texts.DESK_FIELD_TITLE} (English)"
        await expect(page.get_by_label(f"{texts.DESK_FIELD_STATEMENTS} 1: {title}")).to_have_value(
            "A statement from May"
        )
        await page.get_by_role("button", name=texts.DESK_ADD_STATEMENT).click()
        await expect(statements).to_have_count(3)
        first = f"{texts.DESK_FIELD_STATEMENTS} 1"
        await page.get_by_label(f"{first}: {title}").fill("A statement from June")
        await page.get_by_label(f"{first}: {texts.DESK_FIELD_DATE}").fill("2024-06-01")
        await page.get_by_label(f"{first}: {texts.DESK_FIELD_AUTHOR} (English)").fill("Len Cooper")
        await page.get_by_label(f"{first}: {texts.DESK_FIELD_BODY} (English)").fill("Words.")
        march = f"{texts.DESK_FIELD_STATEMENTS} 3: {texts.DESK_FIELD_DATE}"
        await page.get_by_label(march).fill("")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(statements.nth(2).locator(".problem")).to_contain_text(
            "missing required key 'date'"
        )
        assert path.read_text(encoding="utf-8") == text

        await page.get_by_label(march).fill("2024-03")
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")
        after = path.read_text(encoding="utf-8")
        assert all(line.startswith("+") for line in changed_lines(text, after))
        titles = [s.title for s in load_campaign(path).statements]
        assert titles[0] == "A statement from June"
        assert titles[2] == "A statement from May"
        await expect(page.get_by_label(f"{first}: {title}")).to_have_value("A statement from June")
