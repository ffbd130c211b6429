"""The campaign's words changed in the desk, in a real headless Chromium (issue 22): a slogan's
typo fixed and an action added with its Arabic, saved into the YAML file (only those lines),
served to subscribers in each language; a save with a problem writes nothing."""

from __future__ import annotations

import contextlib
import difflib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from bot import texts
from bot.campaign.content import load_campaign
from bot.storage import Storage

from .conftest import ANA, CAMPAIGNS, Harness, serving
from .test_desk_api import desk_of, init_data
from .test_desk_browser import browser, open_desk, pytestmark, storage  # noqa: F401

TYPO = "Long live international Solidarity!"
FIXED = "Long live international solidarity!"


def folder_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    return folder


@contextlib.asynccontextmanager
async def writer(
    browser: Browser,  # noqa: F811
    storage: Storage,  # noqa: F811
    folder: Path,
) -> AsyncIterator[tuple[Harness, Page]]:
    """The bot serving `folder`, and its desk open at the campaign's words."""
    async with serving(storage, folder) as bot, desk_of(bot) as desk:
        page = await open_desk(browser, desk, init_data())
        await page.get_by_role("button", name=texts.DESK_WRITE_OPEN).click()
        await expect(page.locator("#write-slogans > li")).to_have_count(6)
        yield bot, page


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
        assert await arabic.get_attribute("dir") == "rtl"
        await arabic.fill("تجمّع")
        await page.get_by_label(f"{new}: {texts.DESK_FIELD_DESCRIPTION} (English)").fill(
            "Meet at the square at noon."
        )
        await page.get_by_role("button", name=texts.DESK_SAVE).click()
        await expect(page.locator("#write-status")).to_contain_text("Campaign files re-read")

        after = path.read_text(encoding="utf-8")
        diff = [
            line
            for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        assert diff[:2] == [f"-  - {TYPO}", f"+  - {FIXED}"]
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
