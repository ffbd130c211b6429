"""A campaign folder the bot cannot write (issue 22): a save from the desk is refused in the
sentence that names why, and nothing is lost: the file as it was, nothing left aside, the old
slogan served.

Root writes anywhere, whatever a folder's mode says, so when the tests run as root the bot runs
as `nobody` (setpriv): a real `python -m bot run` webhook process, its database and temporary
files in a folder of that user's own, its campaign folder a copy made read-only (chmod a-w).
The desk is called over HTTP with initData signed as Telegram signs it."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import texts

from .conftest import ANA, CAMPAIGNS, ROOT
from .fake_telegram import FakeTelegram
from .test_desk_api import DESK_URL
from .test_published_processes import desk_call, slogans, version_of
from .test_webhook import WebhookBot

NOBODY = 65534  # Debian's `nobody` and `nogroup`
OLD = "Free Palestine!"  # the shipped campaign's fourth slogan
NEW = "Free, free Palestine!"


def as_another_user() -> list[str]:
    """Return the command prefix that runs the bot as a user the folder's mode binds: none
    when the tests are not root, else setpriv to `nobody` (skipped without setpriv)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("runs as root without setpriv (util-linux) to run the bot as another user")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


@pytest.fixture
def home() -> Iterator[Path]:
    """A folder of the bot's user's own, outside pytest's temporary folder (which only the
    user running the tests may enter)."""
    made = Path(tempfile.mkdtemp(prefix="solidarity-read-only-"))
    try:
        yield made
    finally:
        for folder, _directories, _files in os.walk(made):
            os.chmod(folder, 0o700)  # the read-only folder too, to remove it
        shutil.rmtree(made)


def own(path: Path) -> None:
    """Give `path` and what it holds to the bot's user, if the tests run as root."""
    if os.geteuid() != 0:
        return
    for folder, _directories, files in os.walk(path):
        os.chown(folder, NOBODY, NOBODY)
        for name in files:
            os.chown(Path(folder) / name, NOBODY, NOBODY)


def can_run_the_bot(prefix: list[str], env: dict[str, str]) -> None:
    """Fail, saying why, unless the bot's user can run this checkout's Python and import it."""
    check = [*prefix, sys.executable, "-c", "import bot.cli"]
    try:
        done = subprocess.run(check, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    except OSError as error:
        pytest.fail(f"{check} cannot start: {error}")
    assert done.returncode == 0, f"{check} cannot import the bot: {done.stderr[-2000:]}"


async def test_a_save_into_a_read_only_folder_is_refused_and_loses_nothing(
    telegram: FakeTelegram, home: Path
) -> None:
    """The desk opens the file, a changed slogan is saved: 409 with SAVE_CANNOT_WRITE naming
    "Permission denied"; the file byte for byte as it was, no `.rafah.yaml.saving` left, the
    old slogan still served and no new version published."""
    prefix = as_another_user()
    folder = home / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    (home / "tmp").mkdir()
    own(home)
    campaign = folder / "rafah.yaml"
    campaign.chmod(0o444)
    folder.chmod(0o555)
    before = campaign.read_bytes()

    bot = WebhookBot(
        telegram,
        f"sqlite:///{home / 'bot.db'}",
        home / "bot.log",
        CAMPAIGNS_DIR=str(folder),
        DESK_URL=DESK_URL,
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        PYTHONDONTWRITEBYTECODE="1",  # the checkout is not the bot user's to write
    )
    bot.command = [*prefix, sys.executable, "-m", "bot", "run"]
    can_run_the_bot(prefix, bot.env)
    await bot.start()
    try:
        assert bot.process is not None
        if prefix:  # the premise: the bot is not root, so the folder's mode binds it
            assert os.stat(f"/proc/{bot.process.pid}").st_uid == NOBODY
        served = await version_of(bot)
        assert served is not None

        status, opened = await desk_call(bot, "GET", "api/campaigns/rafah/file")
        assert status == 200, (opened, bot.log.read_text()[-3000:])
        changed = opened["fields"]["slogans"]
        assert changed[3] == OLD
        changed[3] = NEW
        body = {"opened": opened["opened"], "changes": {"slogans": changed}}
        status, saved = await desk_call(bot, "POST", "api/campaigns/rafah/file", body)

        assert campaign.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in CAMPAIGNS.iterdir()
        )  # no `.rafah.yaml.saving`, nothing else
        reason = os.strerror(errno.EACCES)  # "Permission denied"
        message = texts.SAVE_CANNOT_WRITE.format(error=reason)
        assert (status, saved) == (409, {"error": "refused", "message": message}), (
            bot.log.read_text()[-3000:]
        )
        answer = await slogans(bot, telegram, ANA)
        assert OLD in answer
        assert NEW not in answer
        assert await version_of(bot) == served
    finally:
        assert await bot.stop() == 0, bot.log.read_text()[-3000:]
    assert list((home / "tmp").iterdir()) == []  # the check's scratch copy removed too
