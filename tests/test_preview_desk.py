"""The preview serves the organizers' desk beside its terminal chat: the address it prints
opens the desk as Telegram would (signed initData in the fragment, a local stand-in for
Telegram's script), and what is sent from the desk is shown in the chat."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import pytest
from playwright.async_api import Browser, Dialog, Route, expect

from bot import texts
from bot.campaign.content import load_campaigns
from bot.config import Config
from bot.desk.api import SECURITY_HEADERS, TELEGRAM_SCRIPT
from bot.preview.run import PREVIEW_USER, run_preview

from .conftest import CAMPAIGNS, until
from .test_desk_browser import CHROMIUM, browser  # noqa: F401 (a fixture)

ADDRESS = re.compile(r"http://127\.0\.0\.1:\d+/desk/#\S+")
# CI installs Chromium and sets REQUIRE_BROWSER: there a missing browser fails, not skips.
needs_browser = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("REQUIRE_BROWSER"),
    reason="needs Chromium (apt-get install chromium)",
)


@dataclasses.dataclass
class Preview:
    """`python -m bot preview` running in this process: what it printed, and its input."""

    out: io.StringIO
    typing: int  # the write end of its standard input

    @property
    def shown(self) -> str:
        """Return everything the console printed so far."""
        return self.out.getvalue()

    def type(self, line: str) -> None:
        """Type a line into the console."""
        os.write(self.typing, f"{line}\n".encode())

    def addresses(self) -> list[str]:
        """Return the desk addresses the console printed, in order."""
        return ADDRESS.findall(self.shown)


@pytest.fixture
async def preview() -> AsyncIterator[Preview]:
    """The preview with its desk, fed through a pipe as a terminal would feed it; :quit after."""
    read, write = os.pipe()
    stdin = os.fdopen(read, encoding="utf-8")
    out = io.StringIO()
    config = Config(campaigns_dir=CAMPAIGNS)
    content = load_campaigns(CAMPAIGNS)
    running = asyncio.create_task(
        run_preview(config, content, stdin=stdin, stdout=out, desk=True), name="preview"
    )
    try:
        shown = Preview(out, write)
        await until(lambda: bool(shown.addresses()) or running.done(), "the desk's address")
        if running.done():
            running.result()  # the preview's own failure, if it failed
        yield shown
        shown.type(":quit")
    finally:
        os.close(write)
        await asyncio.wait_for(running, 30)
        # Its reader thread leaves at the end of input; only then is its file closed.
        deadline = time.monotonic() + 10
        while any(t.name == "preview-input" for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the preview's input thread never ended"
            await asyncio.sleep(0.02)
        stdin.close()


async def test_the_printed_address_signs_the_preview_organizer_in(preview: Preview) -> None:
    """The initData in the printed address passes the desk's own check as the preview's
    organizer (one character changed, it is refused); the page loads the stand-in for
    Telegram's script from its own origin, under the desk's unchanged security headers."""
    [address] = preview.addresses()
    desk, _hash, fragment = address.partition("#")
    [credential] = parse_qs(fragment)["tgWebAppData"]
    forged = credential.replace("Organizer", "Organizes")
    assert forged != credential
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{desk}api/me", headers={"Authorization": f"tma {credential}"}
        ) as me:
            assert me.status == 200
            assert (await me.json())["id"] == PREVIEW_USER
        async with session.get(f"{desk}api/me", headers={"Authorization": f"tma {forged}"}) as me:
            assert me.status == 401
        async with session.get(desk) as page:
            assert page.status == 200
            html = await page.text()
            assert (
                page.headers["Content-Security-Policy"]
                == (SECURITY_HEADERS["Content-Security-Policy"])
            )
        assert TELEGRAM_SCRIPT not in html
        assert '<script src="telegram-web-app.js"></script>' in html
        async with session.get(f"{desk}telegram-web-app.js") as script:
            assert script.status == 200
            assert "javascript" in script.content_type
            assert "Telegram" in await script.text()


async def test_the_dashboard_button_and_desk_command_give_a_fresh_address(
    preview: Preview,
) -> None:
    """/dashboard's button, pressed in the console, prints the desk's address as `:desk` does,
    each signed anew, for the language the console's Telegram app speaks."""
    preview.type("/dashboard")
    await until(lambda: f"[1] {texts.DASHBOARD_BUTTON}" in preview.shown, "the button")
    preview.type("1")
    await until(lambda: len(preview.addresses()) == 2, "the button's address")
    preview.type(":lang ar")
    preview.type(":desk")
    await until(lambda: len(preview.addresses()) == 3, "the :desk address")
    credential = parse_qs(preview.addresses()[-1].partition("#")[2])["tgWebAppData"][0]
    assert '"language_code":"ar"' in parse_qs(credential)["user"][0]


async def test_a_taken_port_leaves_the_desk_out_and_the_chat_working() -> None:
    """Asked for a port something else listens on, the preview says so in one line and runs
    the chat without the desk."""
    config = Config(campaigns_dir=CAMPAIGNS)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out = io.StringIO()
        typed = io.StringIO("/start\n:desk\n")
        await run_preview(
            config, load_campaigns(CAMPAIGNS), stdin=typed, stdout=out, desk=True, desk_port=port
        )
    shown = out.getvalue()
    refused = (
        f"(the desk cannot listen on 127.0.0.1:{port}: Address already in use; it is left out)"
    )
    assert shown.startswith(refused)
    assert "Welcome." in shown
    assert "(no desk in this preview: it is served when you type at a terminal)" in shown
    assert ADDRESS.search(shown) is None


@needs_browser
async def test_a_broadcast_sent_from_the_desk_arrives_in_the_preview_chat(
    browser: Browser,  # noqa: F811
    preview: Preview,
) -> None:
    """Subscribed in the terminal, the organizer opens the printed address in Chromium (with
    only loopback reachable), writes, previews, presses the stand-in's MainButton and confirms:
    the broadcast arrives in the terminal chat once, while the console waits for input."""
    preview.type("/subscribe")
    await until(lambda: "You will get updates from" in preview.shown, "the subscription")
    page = await browser.new_page(viewport={"width": 360, "height": 740})
    elsewhere: list[str] = []

    async def loopback_only(route: Route) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    asked: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    await page.route("**/*", loopback_only)
    page.on("dialog", confirm)
    await page.goto(preview.addresses()[0])
    composer = page.locator("#compose")
    await composer.get_by_label(texts.DESK_MESSAGE).fill("Meet at <b>gate 3</b> tonight")
    await composer.get_by_role("button", name=texts.DESK_PREVIEW).click()
    recipients = texts.DESK_RECIPIENTS.format(count=1, messages=1)
    await expect(page.locator("#recipients")).to_have_text(recipients)
    main_button = page.locator("#telegram-main-button")
    await expect(main_button).to_have_text(texts.BUTTON_SEND)
    await main_button.click()
    await expect(page.get_by_role("alert")).to_have_text(texts.BROADCAST_QUEUED.format(total=1))
    assert asked == [texts.DESK_CONFIRM_SEND.format(id=1, count=1)]
    await until(lambda: "Meet at gate 3 tonight" in preview.shown, "the broadcast in the chat")
    bar = page.locator('article[data-id="1"] [role="progressbar"]')
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=30_000)
    await asyncio.sleep(0.5)  # two looks of the idle console: anything more would be shown
    assert preview.shown.count("Meet at gate 3 tonight") == 1
    assert "🤖\n   Meet at gate 3 tonight\n" in preview.shown
    assert elsewhere == []
    await page.close()
