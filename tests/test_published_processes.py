"""One content everywhere (issue 22, item 3): webhook processes on one PostgreSQL, each with a
campaign folder of its own as on separate hosts, serve what any of them published.

Any running process may answer an update (the inbox is shared, issue 20), so the test says
which folder a /reload reads by which processes run, and reads what each process serves from
its /healthz (`content_version`) and from /slogans."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import texts
from bot.preview.updates import message_update

from .conftest import ADMIN, ANA, CAMPAIGNS, POSTGRES_URL, open_storage
from .fake_telegram import FakeTelegram
from .test_desk_api import DESK_URL, init_data
from .test_webhook import WebhookBot, replies_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL"),
]

OLD = "  - Free Palestine!\n"  # a slogan (and a closing line) of the shipped campaign
NEW = "  - Free Palestine, from the river to the sea!\n"
BROKEN = "\ntitle: 'unclosed\n"
RELOADED = texts.RELOADED.split("{")[0]


def host_folder(tmp_path: Path, name: str) -> Path:
    """A campaign folder of one host's own: the shipped campaigns, copied."""
    folder = tmp_path / name / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    campaign = folder / "rafah.yaml"
    text = campaign.read_text()
    assert old in text
    campaign.write_text(text.replace(old, new))


async def version_of(bot: WebhookBot) -> int | None:
    status, body = await bot.health()
    assert status == 200, body
    version: int | None = body["content_version"]
    return version


async def reload_says(bot: WebhookBot, telegram: FakeTelegram, start: str) -> None:
    """Send /reload and wait for the organizer's answer starting with `start`."""
    seen = len(replies_to(telegram, ADMIN))
    assert await bot.post(message_update("/reload", user_id=ADMIN)) == 200
    deadline = time.monotonic() + 15
    while not any(t.startswith(start) for t in replies_to(telegram, ADMIN)[seen:]):
        assert time.monotonic() < deadline, (start, replies_to(telegram, ADMIN)[seen:])
        await asyncio.sleep(0.05)


async def desk_call(bot: WebhookBot, method: str, path: str, body: object = None) -> Any:
    """Call the desk's API as the organizer; return the status and the JSON answer (or its
    text, if it is not JSON: a server error)."""
    headers = {"Authorization": f"tma {init_data()}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{bot.base}/desk/{path}", json=body, headers=headers) as answer,
    ):
        if answer.content_type != "application/json":
            return answer.status, await answer.text()
        return answer.status, await answer.json()


async def slogans(bot: WebhookBot, telegram: FakeTelegram, user: int) -> str:
    seen = len(replies_to(telegram, user))
    assert await bot.post(message_update("/slogans", user_id=user)) == 200
    deadline = time.monotonic() + 15
    while len(replies_to(telegram, user)) == seen:
        assert time.monotonic() < deadline, "no answer to /slogans"
        await asyncio.sleep(0.05)
    return replies_to(telegram, user)[-1]


@contextlib.asynccontextmanager
async def three_hosts(
    telegram: FakeTelegram, tmp_path: Path, **env: str
) -> AsyncIterator[tuple[dict[str, Path], dict[str, WebhookBot]]]:
    """Three webhook processes a, b and c (not started), each with a campaign folder of its
    own as on separate hosts, on one empty PostgreSQL; each stopped at the end if running."""
    await (await open_storage("postgres", tmp_path)).close()  # an empty database
    folders = {name: host_folder(tmp_path, name) for name in "abc"}
    bots = {
        name: WebhookBot(
            telegram, POSTGRES_URL, tmp_path / f"{name}.log", CAMPAIGNS_DIR=str(f), **env
        )
        for name, f in folders.items()
    }
    try:
        yield folders, bots
    finally:
        for bot in bots.values():
            if bot.process is not None and bot.process.returncode is None:
                assert await bot.stop() == 0, bot.log.read_text()[-3000:]


async def test_what_one_process_publishes_every_process_serves(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """A /reload reaches every running process within 5 seconds and a process started later
    with the old files from its first answer; a /reload of old files does not undo it, and a
    broken one switches nobody."""
    async with three_hosts(telegram, tmp_path) as (folders, bots):
        a, b, c = bots["a"], bots["b"], bots["c"]
        await a.start()
        await b.start()
        first = await version_of(a)
        assert first is not None
        assert await version_of(b) == first  # the same files: published once

        # The same edit on both hosts' files, so whichever takes the /reload reads it.
        for name in "ab":
            edit(folders[name], OLD, NEW)
        await reload_says(a, telegram, RELOADED)
        started = time.monotonic()
        while {await version_of(a), await version_of(b)} == {first} or (
            await version_of(a) != await version_of(b)
        ):
            assert time.monotonic() - started < 5.0, "not every process serves the new version"
            await asyncio.sleep(0.05)
        second = await version_of(a)
        assert second is not None
        assert second > first
        assert NEW.strip(" -\n") in await slogans(b, telegram, ANA)

        await c.start()  # its files are the old version: it serves the new one at once
        assert await version_of(c) == second
        assert NEW.strip(" -\n") in await slogans(c, telegram, ANA + 1)
        assert OLD in (folders["c"] / "rafah.yaml").read_text()  # its folder never written

        # C alone: its /reload would publish the old files over the new: refused.
        await a.stop()
        await b.stop()
        await reload_says(c, telegram, "Not reloaded: this server's campaign files hold an older")
        assert await version_of(c) == second

        # Broken files on both running hosts: the /reload fails, nobody switches.
        await a.start()
        for name in "ac":
            (folders[name] / "rafah.yaml").write_text(
                (folders[name] / "rafah.yaml").read_text() + BROKEN
            )
        await reload_says(a, telegram, texts.RELOAD_FAILED.split("{")[0])
        await asyncio.sleep(2.5)  # past two looks for a newer version
        assert [await version_of(bot) for bot in (a, c)] == [second, second]
        assert NEW.strip(" -\n") in await slogans(a, telegram, ANA + 2)


async def test_a_save_in_the_desk_of_one_process_is_served_by_every_process(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """A slogan fixed in the desk that process A serves: B serves it within 5 seconds, a
    process started afterwards from its first answer; a save with a problem switches none."""
    async with three_hosts(telegram, tmp_path, DESK_URL=DESK_URL) as (folders, bots):
        a, b, c = bots["a"], bots["b"], bots["c"]
        await a.start()
        await b.start()
        first = await version_of(a)
        status, opened = await desk_call(a, "GET", "api/campaigns/rafah/file")
        assert status == 200, opened
        fixed = [
            NEW.strip(" -\n") if s == OLD.strip(" -\n") else s for s in opened["fields"]["slogans"]
        ]
        body = {"opened": opened["opened"], "changes": {"slogans": fixed}}
        status, saved = await desk_call(a, "POST", "api/campaigns/rafah/file", body)
        assert status == 200, saved
        started = time.monotonic()
        while await version_of(b) == first:
            assert time.monotonic() - started < 5.0, "B does not serve the desk's save"
            await asyncio.sleep(0.05)
        second = await version_of(a)
        assert await version_of(b) == second
        assert NEW.strip(" -\n") in await slogans(b, telegram, ANA)
        assert OLD in (folders["b"] / "rafah.yaml").read_text()  # B's own files untouched

        status, opened = await desk_call(a, "GET", "api/campaigns/rafah/file")
        broken = {"opened": opened["opened"], "changes": {"actions": [{"title": "No text"}]}}
        status, refused = await desk_call(a, "POST", "api/campaigns/rafah/file", broken)
        assert status == 409
        assert refused["problems"] == [
            {"field": "actions.0.description", "message": "missing required key 'description'"}
        ]
        await asyncio.sleep(2.5)  # past two looks for a newer version
        assert [await version_of(a), await version_of(b)] == [second, second]

        await c.start()
        assert await version_of(c) == second
        await a.stop()
        await b.stop()
        assert NEW.strip(" -\n") in await slogans(c, telegram, ANA + 1)
