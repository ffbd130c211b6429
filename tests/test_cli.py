"""The command line as an organizer uses it: validate, run, preview, export, stats."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from bot.preview.updates import callback_update, message_update
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, CAMPAIGNS, ROOT, until
from .fake_telegram import TOKEN, FakeTelegram


def bot_command(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ...` in a clean environment and return what it printed."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_validate_prints_one_line_per_campaign() -> None:
    """`validate` exits 0 with a one-line summary of each campaign."""
    done = bot_command("validate")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert line.startswith("campaigns/rafah.yaml: ok: rafah — All eyes on Rafah: 1 statement(s)")
    assert "6 slogan(s); 7 action(s)" in line


def test_validate_prints_every_problem_located(tmp_path: Path) -> None:
    """`validate DIR` exits 1 listing each problem as file:line:col: message."""
    valid = (CAMPAIGNS / "rafah.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(
        valid.replace("id: rafah\n", "id: a\nid: b\n"), encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text("id: [\n", encoding="utf-8")
    done = bot_command("validate", str(tmp_path))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    first = valid.splitlines().index("id: rafah") + 1
    assert lines[0] == (
        f"{tmp_path / 'a.yaml'}:{first + 1}:1: duplicate key 'id': already given on line {first}, "
        f"again on line {first + 1}"
    )
    assert lines[1] == f"{tmp_path / 'b.yaml'}:1:5: this [ is never closed: the file ends first"
    assert lines[-1] == "2 problem(s) found"
    assert "Traceback" not in done.stderr


def test_run_without_token_is_one_sentence_and_exit_2() -> None:
    """`run` with no token says how to get one, in one line, exit code 2."""
    done = bot_command("run")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: TELEGRAM_BOT_TOKEN is not set")
    assert "Traceback" not in done.stderr


def test_malformed_admins_stop_every_command() -> None:
    """A malformed BOT_ADMINS stops the bot before it starts."""
    done = bot_command("run", env={"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_ADMINS": "me"})
    assert done.returncode == 2
    assert "BOT_ADMINS: 'me' is not a numeric Telegram user id" in done.stderr
    assert TOKEN not in done.stderr


def test_run_refuses_broken_campaigns_with_located_errors(tmp_path: Path) -> None:
    """`run` with a broken campaign file lists the problems and serves nothing."""
    valid = (CAMPAIGNS / "rafah.yaml").read_text(encoding="utf-8")
    broken = valid.replace("title: All eyes on Rafah", "title: !!python/name:os.system ''")
    (tmp_path / "x.yaml").write_text(broken, encoding="utf-8")
    done = bot_command("run", env={"TELEGRAM_BOT_TOKEN": TOKEN, "CAMPAIGNS_DIR": str(tmp_path)})
    assert done.returncode == 1
    line = valid.splitlines().index("title: All eyes on Rafah") + 1
    assert done.stderr.startswith(f"{tmp_path / 'x.yaml'}:{line}:8: the tag ")
    assert done.stderr.rstrip().endswith("1 problem(s): nothing was served")


def test_preview_shows_the_bot_working_offline() -> None:
    """`preview` with piped input answers /start, a button press and /subscribe offline."""
    done = bot_command("preview", stdin="/start\n2\n/subscribe\n/mydata\n:quit\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Welcome. This bot shares All eyes on Rafah" in out
    assert "[1] 📄 Statement   [2] 📣 Slogans" in out
    assert "✊ Free Palestine!" in out
    assert "You will get updates from All eyes on Rafah" in out
    assert "campaign rafah: active, chat type private" in out
    assert "<b>" not in out


async def test_export_and_stats_from_the_command_line(tmp_path: Path) -> None:
    """`export` prints the CSV and `stats` the numbers, from the configured database."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    storage = await Storage.open(url)
    await storage.subscribe(ANA, "rafah", chat_type="private", source="flyer")
    await storage.subscribe(BEN, "other", chat_type="private")
    await storage.close()
    exported = bot_command("export", "--campaign", "rafah", env={"DATABASE_URL": url})
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[1].startswith(f"{ANA},private,rafah,active,flyer,")
    assert len(exported.stdout.splitlines()) == 2
    stats = bot_command("stats", env={"DATABASE_URL": url})
    assert stats.returncode == 0, stats.stderr
    assert "rafah: people 1 · groups 0" in stats.stdout
    assert "other: people 1" in stats.stdout
    unknown = bot_command("export", "--campaign", "nosuch", env={"DATABASE_URL": url})
    assert unknown.returncode == 1
    assert unknown.stderr == "unknown campaign 'nosuch' (campaigns: rafah)\n"


def test_reports_refuse_a_database_that_does_not_exist(tmp_path: Path) -> None:
    """`stats` and `export` do not create an empty database where there is none."""
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    for command in ("stats", "export"):
        done = bot_command(command, env={"DATABASE_URL": url})
        assert done.returncode == 1
        assert done.stderr.startswith(f"no database at {tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()


# `python -m bot run` for real, over HTTP, against the fake Bot API.


class RunningBot:
    """A `python -m bot run` process talking to a FakeTelegram."""

    def __init__(self, telegram: FakeTelegram, tmp_path: Path) -> None:
        self.telegram = telegram
        self.log = tmp_path / "bot.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "BOT_ADMINS": str(ADMIN),
            "LOG_LEVEL": "DEBUG",
            "CAMPAIGNS_DIR": str(CAMPAIGNS),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        polls = len(self.telegram.api.calls_to("getUpdates"))
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, cwd=ROOT, stdout=log, stderr=log
            )
        await until(lambda: len(self.telegram.api.calls_to("getUpdates")) > polls, "the bot polls")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 30)


async def test_run_serves_subscribers_and_broadcasts_over_http(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """The real process answers, broadcasts through 403/429/migration, and logs no secrets."""
    api = telegram.api
    bot = RunningBot(telegram, tmp_path)
    await bot.start()
    people = [ANA, BEN, 3001, 3002]
    for person in people:
        api.push_update(message_update("/start rafah", user_id=person))
        api.push_update(message_update("/subscribe", user_id=person))
    group = -100200300
    api.member_status[(group, ANA)] = "creator"
    api.push_update(
        message_update(
            "/subscribe@solidarity_preview_bot", user_id=ANA, chat_id=group, chat_type="group"
        )
    )
    await until(lambda: all(len(api.texts_to(p)) == 2 for p in people), "everyone is subscribed")
    await until(lambda: len(api.texts_to(group)) == 1, "the group is subscribed")
    assert "You will get updates" in api.texts_to(ANA)[1]

    api.push_update(callback_update("sl:" + "x" * 10, user_id=BEN, message_id=1))
    await until(lambda: len(api.calls_to("answerCallbackQuery")) == 1, "the press is answered")

    api.blocked.add(3001)
    api.migrated[group] = -1009990001
    api.push_update(message_update("/broadcast Rally at noon", user_id=ADMIN))
    await until(lambda: "Send it?" in "".join(api.texts_to(ADMIN)), "the preview")
    confirm_id = api.sent_to(ADMIN)[-1]["message_id"]
    api.fail_next(429, "Too Many Requests: retry after 1", {"retry_after": 1}, chat_id=BEN)
    api.push_update(callback_update("bc:send:1", user_id=ADMIN, message_id=confirm_id))
    await until(lambda: "finished" in api.messages[(ADMIN, confirm_id)]["text"], "the report", 60)
    report = api.messages[(ADMIN, confirm_id)]["text"]
    assert "Recipients: 5" in report
    assert "sent 4 · blocked 1 · failed 0" in report
    for person in (ANA, BEN, 3002):
        assert api.texts_to(person)[-1] == "Rally at noon"
    assert api.texts_to(-1009990001) == ["Rally at noon"]

    api.push_update(message_update("/export", user_id=ADMIN))
    await until(lambda: "document" in api.sent_to(ADMIN)[-1], "the export")
    exported = api.sent_to(ADMIN)[-1]["content"].decode()
    assert f"\n{ANA},private,rafah,active,rafah,en," in exported
    assert "\n3001,private,rafah,blocked,rafah,en," in exported
    assert "\n-1009990001,supergroup,rafah,active,,," in exported

    assert await bot.stop() == 0
    log = bot.log.read_text(encoding="utf-8")
    assert " DEBUG " in log  # the most verbose level we ship was on
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log
    assert "Person" not in log  # first names Telegram sent are never logged
    assert "Rally at noon" not in log


async def test_run_resumes_a_broadcast_after_a_kill(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Killed mid-broadcast and restarted, the bot reaches all, repeating only in-flight ones."""
    api = telegram.api
    telegram.latency = 0.02
    bot = RunningBot(telegram, tmp_path)
    storage = await Storage.open(bot.env["DATABASE_URL"])
    people = list(range(5000, 5090))
    for person in people:
        await storage.subscribe(person, "rafah", chat_type="private")
    await storage.close()
    await bot.start()
    api.push_update(message_update("/broadcast Strike tomorrow", user_id=ADMIN))
    await until(lambda: "Send it?" in "".join(api.texts_to(ADMIN)), "the preview")
    confirm_id = api.sent_to(ADMIN)[-1]["message_id"]
    api.push_update(callback_update("bc:send:1", user_id=ADMIN, message_id=confirm_id))
    await until(lambda: sum(bool(api.texts_to(p)) for p in people) >= 30, "a third is sent")
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    await bot.start()
    await until(lambda: "finished" in api.messages[(ADMIN, confirm_id)]["text"], "the report", 60)
    counts = [len(api.texts_to(p)) for p in people]
    assert min(counts) == 1
    repeats = sum(count - 1 for count in counts)
    report = api.messages[(ADMIN, confirm_id)]["text"]
    assert "Recipients: 90" in report
    assert "sent 90 · blocked 0 · failed 0" in report
    # Repeats are bounded by what the kill left in flight, and the report owns up to them.
    uncertain = re.search(r"(\d+) were in flight when the bot restarted", report)
    assert uncertain is not None
    assert repeats <= int(uncertain[1]) <= 40
    await bot.stop()
