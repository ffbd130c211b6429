"""The desk in a real headless Chromium (Debian's package), opened as Telegram opens it: the
page's URL carries signed initData and the theme in its hash, Telegram's script is a local
stand-in (tests/telegram_web_app_stub.js), and nothing leaves loopback."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from bot import i18n, texts
from bot.desk.api import TELEGRAM_SCRIPT
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, Harness, fast_pacer, open_storage, serving
from .test_desk_api import OUTSIDER, Desk, desk_of, init_data

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STUB = Path(__file__).parent / "telegram_web_app_stub.js"
# CI installs Chromium and sets REQUIRE_BROWSER: there a missing browser fails, not skips.
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("REQUIRE_BROWSER"),
    reason="needs Chromium (apt-get install chromium)",
)
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc"}
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "button_color": "#5288c1"}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, with nothing of its own going out to the network."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        await launched.close()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """SQLite: what the browser shows does not depend on the database (test_desk_api has both)."""
    opened = await open_storage("sqlite", tmp_path)
    yield opened
    await opened.close()


async def _loopback_only(route: Route) -> None:
    if route.request.url == TELEGRAM_SCRIPT:
        await route.fulfill(path=STUB, content_type="text/javascript")
    elif route.request.url.startswith("http://127.0.0.1:"):
        await route.continue_()
    else:
        await route.abort()


async def open_desk(
    browser: Browser, desk: Desk, credential: str, theme: dict[str, str] = LIGHT
) -> Page:
    """Open the desk as Telegram's Android app opens a Mini App, and record what it asks of
    Telegram in `window.__events`."""
    page = await browser.new_page(viewport={"width": 360, "height": 740})
    await page.route("**/*", _loopback_only)
    await page.add_init_script(
        "window.__events = [];"
        "window.TelegramWebviewProxy = {postEvent: (t, d) => window.__events.push([t, d])};"
    )
    launch = (
        f"tgWebAppData={quote(credential, safe='')}&tgWebAppVersion=8.0"
        f"&tgWebAppPlatform=android&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}"
    )
    await page.goto(f"{desk.url}#{launch}")
    return page


async def events(page: Page) -> list[tuple[str, Any]]:
    """Return what the page asked of Telegram, in order."""
    found = await page.evaluate("window.__events")
    return [(kind, json.loads(data) if data else None) for kind, data in found]


@pytest.fixture
async def desk(storage: Storage) -> AsyncIterator[Desk]:
    """The bot (broadcasts at 10 a second, so that one can be watched going out) and its desk."""
    async with serving(storage, pacer=fast_pacer(rate=10.0)) as bot, desk_of(bot) as served:
        yield served


async def subscribe(bot: Harness, *people: int) -> None:
    for person in people:
        await bot.command("/subscribe", user=person)


async def test_an_organizer_sees_the_numbers_and_a_broadcast_going_out(
    browser: Browser, desk: Desk
) -> None:
    """The desk shows /stats' numbers and chart, and a running broadcast's bar filling to 100%,
    every subscriber getting it once."""
    bot = desk.bot
    crowd = range(5000, 5100)
    await subscribe(bot, ANA, BEN, *crowd)
    page = await open_desk(browser, desk, init_data())
    people = page.locator(".tile", has_text=texts.DESK_PEOPLE).locator("b").first
    await expect(people).to_have_text("102")
    chart = page.locator("svg.chart").first
    await expect(chart).to_have_attribute("aria-label", f"{texts.DESK_CHART}: 102 joined, 0 left")
    assert "web_app_ready" in [kind for kind, _data in await events(page)]

    await bot.command("/broadcast rafah Strike on Monday", user=ADMIN)
    await bot.press(
        bot.buttons(ADMIN)[texts.BUTTON_SEND],
        user=ADMIN,
        message_id=int(bot.last(ADMIN)["message_id"]),
    )
    await page.reload()  # 102 at 10 a second: about 10 s to go
    bar = page.locator('article[data-id="1"] [role="progressbar"]')
    await expect(bar).to_be_visible()
    seen = await bar.get_attribute("aria-valuenow")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=30_000)
    assert seen != "100", "the page never showed the broadcast before it was done"
    await expect(page.locator('article[data-id="1"]')).to_contain_text(texts.DESK_STATE_DONE)
    assert all(bot.texts(person).count("Strike on Monday") == 1 for person in crowd)


async def test_someone_who_is_not_an_organizer_sees_only_a_refusal(
    browser: Browser, desk: Desk
) -> None:
    """Opened by a non-organizer, the desk says so and shows no number."""
    await subscribe(desk.bot, ANA, BEN)
    page = await open_desk(browser, desk, init_data(OUTSIDER))
    await expect(page.locator("#status")).to_have_text(texts.DESK_NOT_ORGANIZER)
    await expect(page.locator("#overview")).to_be_hidden()
    assert await page.locator(".tile").count() == 0


async def test_the_arabic_desk_reads_right_to_left(browser: Browser, desk: Desk) -> None:
    """An organizer whose Telegram is in Arabic gets the desk in Arabic, laid out right to left."""
    await subscribe(desk.bot, ANA)
    page = await open_desk(browser, desk, init_data(language="ar"))
    people = i18n.translate(texts.DESK_PEOPLE, "ar")
    await expect(page.locator(".tile", has_text=people)).to_be_visible()
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    direction = await page.evaluate("getComputedStyle(document.body).direction")
    assert direction == "rtl"
    tiles = page.locator(".tile")
    first, second = (await tiles.nth(0).bounding_box()), (await tiles.nth(1).bounding_box())
    assert first is not None
    assert second is not None
    assert first["x"] > second["x"]  # the first tile on the right
    # What the organizer writes runs in its own direction: English from the left, Arabic
    # from the right, in the box and in the preview.
    composer = page.locator("#compose")
    await composer.locator("textarea").fill("Rally at gate 3.\n[ar]\nتجمّع عند البوابة 3.")
    await composer.locator("button").first.click()
    bubbles = page.locator("#versions .bubble")
    await expect(bubbles).to_have_count(2)
    starts = await page.evaluate(
        """[...document.querySelectorAll('#versions .bubble')].map((bubble) => {
             const range = document.createRange();
             range.setStart(bubble.firstChild, 0);
             range.setEnd(bubble.firstChild, 1);
             const box = bubble.getBoundingClientRect(), first = range.getBoundingClientRect();
             return [Math.round(first.left - box.left), Math.round(box.right - first.right)];
           })"""
    )
    (english_left, _), (_, arabic_right) = starts
    assert english_left < 20  # "R" at the bubble's left edge, its padding away
    assert arabic_right < 20  # the Arabic text's first letter at its right edge


async def test_the_dark_theme_applies(browser: Browser, desk: Desk) -> None:
    """Telegram's dark theme colours the page: background and text from its variables."""
    await subscribe(desk.bot, ANA)
    page = await open_desk(browser, desk, init_data(), theme=DARK)
    await expect(page.locator(".tile").first).to_be_visible()
    colours = await page.evaluate(
        "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
    )
    assert colours == ["rgb(23, 33, 43)", "rgb(245, 245, 245)"]


async def test_an_organizer_composes_and_sends_from_the_desk(browser: Browser, desk: Desk) -> None:
    """Write, preview, press Telegram's MainButton, confirm: every subscriber gets the message
    once, and the desk's bar reaches 100%."""
    bot = desk.bot
    crowd = range(6000, 6030)
    await subscribe(bot, *crowd)
    page = await open_desk(browser, desk, init_data())
    composer = page.locator("#compose")
    await composer.get_by_label(texts.DESK_MESSAGE).fill("Meet at <b>gate 3</b>")
    await composer.get_by_role("button", name=texts.DESK_PREVIEW).click()
    recipients = texts.DESK_RECIPIENTS.format(count=30, messages=1)
    await expect(page.locator("#recipients")).to_have_text(recipients)
    await expect(page.locator("#versions .bubble b")).to_have_text("gate 3")
    setups = [data for kind, data in await events(page) if kind == "web_app_setup_main_button"]
    assert setups[-1]["is_visible"] is True
    assert setups[-1]["text"] == texts.BUTTON_SEND
    await page.evaluate("Telegram.WebView.receiveEvent('main_button_pressed')")
    popups = [data for kind, data in await events(page) if kind == "web_app_open_popup"]
    assert popups == [
        {
            "message": texts.DESK_CONFIRM_SEND.format(id=1, count=30),
            "buttons": [{"id": "ok", "type": "ok"}, {"id": "cancel", "type": "cancel"}],
        }
    ]
    assert await bot.storage.recent_broadcasts() == []  # nothing goes before the confirmation
    await page.evaluate("Telegram.WebView.receiveEvent('popup_closed', {button_id: 'ok'})")
    bar = page.locator('article[data-id="1"] [role="progressbar"]')
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=30_000)
    await bot.settle()
    assert all(bot.texts(p).count("Meet at <b>gate 3</b>") == 1 for p in crowd)
    await expect(page.get_by_role("alert")).to_have_text(texts.BROADCAST_QUEUED.format(total=30))


async def test_a_colleague_approves_a_broadcast_in_the_desk(
    browser: Browser, storage: Storage
) -> None:
    """A big broadcast from the chat waits in the desk with Approve; a second organizer's press
    sends it to everyone once."""
    settings = {"admins": frozenset({ADMIN, BEN}), "approval_threshold": 1}
    async with serving(storage, **settings) as bot, desk_of(bot) as desk:
        await subscribe(bot, ANA, 3001)
        await bot.command("/broadcast rafah Big news", user=ADMIN)
        preview = int(bot.last(ADMIN)["message_id"])
        await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=preview)
        page = await open_desk(browser, desk, init_data(BEN))
        article = page.locator('article[data-id="1"]')
        await expect(article).to_contain_text(texts.DESK_STATE_AWAITING)
        await article.get_by_role("button", name=f"{texts.BUTTON_APPROVE} #1").click()
        await expect(page.get_by_role("alert")).to_have_text(
            texts.APPROVED_BY_YOU.format(id=1, total=2)
        )
        await expect(article.get_by_role("progressbar")).to_have_attribute(
            "aria-valuenow", "100", timeout=30_000
        )
        assert [bot.texts(p).count("Big news") for p in (ANA, 3001)] == [1, 1]


async def test_an_organizer_fixes_a_typo_in_a_sent_broadcast(browser: Browser, desk: Desk) -> None:
    """Edit in the desk: the sent text to correct, the corrected one shown with its count, Apply;
    every subscriber's copy is edited once, in place."""
    bot = desk.bot
    people = (ANA, BEN, 3001)
    await subscribe(bot, *people)
    await bot.command("/broadcast rafah Meet at gate 4", user=ADMIN)
    preview = int(bot.last(ADMIN)["message_id"])
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=preview)
    await bot.report(ADMIN, preview)
    page = await open_desk(browser, desk, init_data())
    article = page.locator('article[data-id="1"]')
    await article.get_by_role("button", name=f"{texts.BUTTON_EDIT} #1").click()
    editor = page.locator("#editor")
    text = editor.get_by_label(texts.DESK_MESSAGE)
    await expect(text).to_have_value("Meet at gate 4")
    assert ("web_app_setup_back_button", {"is_visible": True}) in await events(page)
    await text.fill("Meet at gate 3")
    await editor.get_by_role("button", name=texts.DESK_PREVIEW).click()
    question = texts.EDIT_PREVIEW.format(id=1, count=3)
    await expect(page.locator("#edit-question")).to_have_text(question)
    await expect(page.locator("#edit-versions .bubble")).to_have_text("Meet at gate 3")
    await editor.get_by_role("button", name=texts.BUTTON_APPLY).click()
    await expect(page.get_by_role("alert")).to_have_text(texts.DESK_CORRECTING)
    await expect(article).to_contain_text(texts.EDIT_DONE.format(id=1), timeout=30_000)
    for person in people:
        (copy,) = [m for m in bot.sent_to(person) if "gate" in str(m.get("text"))]
        assert copy["text"] == "Meet at gate 3"
    edited = [c for c in bot.api.calls_to("editMessageText") if c.params["chat_id"] in people]
    assert len(edited) == 3


async def test_the_subscriber_list_is_handed_to_telegram_to_download(
    browser: Browser, desk: Desk
) -> None:
    """The export button asks Telegram to download the list (downloadFile) by a link that
    gives the CSV on its own."""
    await subscribe(desk.bot, ANA, BEN)
    page = await open_desk(browser, desk, init_data())
    await page.get_by_role("button", name=texts.DESK_EXPORT).click()
    deadline = time.monotonic() + 10
    while not await _downloads(page):
        assert time.monotonic() < deadline, "the page never asked Telegram to download"
        await asyncio.sleep(0.05)
    (asked,) = await _downloads(page)
    assert asked["file_name"] == "subscribers-rafah.csv"
    async with desk.session.get(asked["url"]) as answer:
        assert answer.status == 200
        rows = (await answer.text()).splitlines()
    assert rows[0].startswith("chat_id,")
    assert len(rows) == 3


async def _downloads(page: Page) -> list[Any]:
    return [data for kind, data in await events(page) if kind == "web_app_request_file_download"]
