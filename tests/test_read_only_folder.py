"""A campaign folder the bot cannot write (issue 22): a save from the desk is refused in the
sentence that names why, and nothing is lost: the file as it was, nothing left aside, the old
slogan served.

Root writes anywhere, whatever a folder's mode says, because it holds CAP_DAC_OVERRIDE; so when
the tests run as root the bot runs as root without it (setpriv drops it, and the capabilities
that would do the same, from the bounding set): a real `python -m bot run` webhook process, its
database and temporary files in a folder of its own, its campaign folder a copy made read-only
(chmod a-w). It stays the checkout's owner, so it reads the checkout wherever CI put it. The
desk is called over HTTP with initData signed as Telegram signs it."""

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

OLD = "Free Palestine!"  # the shipped campaign's fourth slogan
NEW = "Free, free Palestine!"
# What lets root past a file's mode: without these, root is bound by it as its owner is.
PAST_MODES = "-dac_override,-dac_read_search,-fowner,-linux_immutable"
CAP_DAC_OVERRIDE = 1  # linux/capability.h


def bound_by_modes() -> list[str]:
    """Return the command prefix that runs the bot bound by the folder's mode: none when the
    tests are not root, else setpriv dropping root's power over modes (skipped without it)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("runs as root without setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set", PAST_MODES, "--"]


def bounding_set(pid: int) -> int:
    """Return the capabilities a process may ever hold (its CapBnd, a bit for each)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    line = next(line for line in status.splitlines() if line.startswith("CapBnd:"))
    return int(line.split()[1], 16)


@pytest.fixture
def home() -> Iterator[Path]:
    """A folder of the bot's own, for its database, temporary files and campaigns."""
    made = Path(tempfile.mkdtemp(prefix="solidarity-read-only-"))
    try:
        yield made
    finally:
        for folder, _directories, _files in os.walk(made):
            os.chmod(folder, 0o700)  # the read-only folder too, to remove it
        shutil.rmtree(made)


def can_run_the_bot(prefix: list[str], env: dict[str, str]) -> None:
    """Fail, saying why, unless the bot so started can run this checkout's Python and import
    it."""
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
    prefix = bound_by_modes()
    folder = home / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    (home / "tmp").mkdir()
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
        PYTHONDONTWRITEBYTECODE="1",  # nothing written into the checkout
    )
    bot.command = [*prefix, sys.executable, "-m", "bot", "run"]
    can_run_the_bot(prefix, bot.env)
    await bot.start()
    try:
        assert bot.process is not None
        if prefix:  # the premise: the bot cannot write past the folder's mode
            assert not bounding_set(bot.process.pid) & (1 << CAP_DAC_OVERRIDE)
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
