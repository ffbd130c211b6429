"""Writing a campaign through the organizers' layer, as the desk will (issue 22, items 2 and 5):
the real Application serving a copied campaign folder, its files compared by diff."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot import i18n, texts
from bot.campaign import render
from bot.campaign.content import load_campaign
from bot.campaign.markup import escape, telegram_length
from bot.organizing import writing
from bot.organizing.asking import Organizer, Refused
from bot.storage import Storage

from .conftest import ADMIN, ANA, CAMPAIGNS, Harness, serving
from .test_cli import bot_command
from .test_desk_api import OUTSIDER, desk_of, init_data, post

ORGANIZER = Organizer(ADMIN, "Ana")


def folder_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    return folder


async def save(bot: Harness, opened: writing.Opened, changes: dict[str, Any]) -> None:
    services = bot.application.bot_data["services"]
    services.content = await writing.save_campaign(
        services.storage,
        bot.application.bot,
        services.config,
        services.content,
        services.follower,
        ORGANIZER,
        [(opened, changes)],
    )


def opened_now(bot: Harness) -> writing.Opened:
    return writing.open_campaign(bot.application.bot_data["services"].content, "rafah")[0]


def actions_with(path: Path, extra: dict[str, Any]) -> list[dict[str, Any]]:
    campaign = load_campaign(path)
    return [{"title": a.title, "description": a.description} for a in campaign.actions] + [extra]


RALLY = {
    "title": {"en": "Rally on Saturday", "ar": "تجمّع يوم السبت"},
    "description": {"en": "Meet at the square at noon.", "ar": "نلتقي في الساحة ظهرًا."},
}


async def test_a_fixed_slogan_and_a_new_action_reach_subscribers_in_each_language(
    storage: Storage, tmp_path: Path
) -> None:
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with serving(storage, folder) as bot:
        slogans = list(load_campaign(path).slogans)
        slogans[4] = "Long live international solidarity!"
        await save(
            bot, opened_now(bot), {"slogans": slogans, "actions": actions_with(path, RALLY)}
        )
        after = path.read_text(encoding="utf-8")
        diff = [
            line
            for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        assert diff[:2] == [
            "-  - Long live international Solidarity!",
            "+  - Long live international solidarity!",
        ]
        assert all(line.startswith("+") for line in diff[2:])  # the new action, added
        assert after.count("#") == before.count("#")
        await bot.command("/slogans", user=ANA)
        assert "Long live international solidarity!" in bot.texts(ANA)[-1]
        await bot.command("/actions", user=ANA)
        assert "Rally on Saturday" in "\n".join(bot.texts(ANA)[-3:])
        await bot.command("/actions", user=ANA + 1, language_code="ar")
        assert "تجمّع يوم السبت" in "\n".join(bot.texts(ANA + 1)[-3:])
        latest = await storage.latest_version()
        assert latest is not None
        assert latest.published_by == ADMIN
        actions = [a for _who, a, *_ in await storage.audit_log()]
        assert "campaign_save" in actions


async def test_a_save_with_a_problem_writes_nothing(storage: Storage, tmp_path: Path) -> None:
    """An action without a title: refused in the validator's words, located; nothing written,
    nothing published."""
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with serving(storage, folder) as bot:
        published = await storage.latest_version()
        with pytest.raises(Refused) as refused:
            await save(bot, opened_now(bot), {"actions": actions_with(path, {"title": ""})})
        assert refused.value.text.startswith(texts.SAVE_PROBLEMS.split("{")[0])
        assert f"{path}:" in refused.value.text  # located in the real file
        assert path.read_text(encoding="utf-8") == before
        assert await storage.latest_version() == published


async def test_two_organizers_saving_at_once_one_wins_the_other_is_told(
    storage: Storage, tmp_path: Path
) -> None:
    """Both opened the same file; the first save lands, the second is refused with what the
    first changed, and the file keeps the first's words only."""
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    async with serving(storage, folder) as bot:
        theirs, ours = opened_now(bot), opened_now(bot)
        await save(bot, theirs, {"title": "Eyes on Rafah"})
        with pytest.raises(Refused) as refused:
            await save(bot, ours, {"summary": "What the statement says, and asks."})
        assert refused.value.text.startswith(texts.SAVE_CHANGED_ON_DISK.split("{")[0])
        assert "+title: Eyes on Rafah" in refused.value.text
        campaign = load_campaign(path)
        assert campaign.title == "Eyes on Rafah"
        assert campaign.summary != "What the statement says, and asks."
        # Opened again, the second organizer's change goes in beside the first.
        await save(bot, opened_now(bot), {"summary": "What the statement says, and asks."})
        assert load_campaign(path).summary == "What the statement says, and asks."
        assert load_campaign(path).title == "Eyes on Rafah"


async def test_a_file_edited_by_hand_meanwhile_is_not_overwritten(
    storage: Storage, tmp_path: Path
) -> None:
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    async with serving(storage, folder) as bot:
        opened = opened_now(bot)
        by_hand = opened.text.replace("title: All eyes on Rafah", "title: Rafah by hand")
        path.write_text(by_hand, encoding="utf-8")
        with pytest.raises(Refused) as refused:
            await save(bot, opened, {"slogans": ["Free Palestine!"]})
        assert "+title: Rafah by hand" in refused.value.text
        assert path.read_text(encoding="utf-8") == by_hand


async def test_the_desk_opens_and_saves_a_campaign_over_http(
    storage: Storage, tmp_path: Path
) -> None:
    """GET the file and its fields, POST the changes with what was opened: saved and served;
    a key the desk does not change, a stale copy, an outsider: refused, nothing written."""
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    async with serving(storage, folder) as bot, desk_of(bot) as desk:
        status, opened, _headers = await desk.get("api/campaigns/rafah/file", init_data())
        assert status == 200
        assert opened["opened"]["text"] == path.read_text(encoding="utf-8")
        slogans = opened["fields"]["slogans"]
        assert slogans[3] == "Free Palestine!"
        slogans[3] = "Free, free Palestine!"
        body = {"opened": opened["opened"], "changes": {"slogans": slogans}}
        status, saved = await post(desk, "api/campaigns/rafah/file", body)
        assert status == 200, saved
        assert saved["message"].startswith(texts.RELOADED.split("{")[0])
        assert load_campaign(path).slogans[3] == "Free, free Palestine!"
        await bot.command("/slogans", user=ANA)
        assert "Free, free Palestine!" in bot.texts(ANA)[-1]

        again = await post(desk, "api/campaigns/rafah/file", body)  # the copy opened before
        assert again[0] == 409
        assert again[1]["message"].startswith(texts.SAVE_CHANGED_ON_DISK.split("{")[0])
        status, wrong = await post(
            desk, "api/campaigns/rafah/file", {"opened": opened["opened"], "changes": {"id": "x"}}
        )
        assert (status, wrong["reason"]) == (400, "not changed from the desk: id")
        status, _body, _headers = await desk.get("api/campaigns/rafah/file", init_data(OUTSIDER))
        assert status == 403
        status, versions, _headers = await desk.get("api/versions", init_data())
        assert status == 200
        assert [v["published_by"] for v in versions["versions"]][:2] == [ADMIN, None]
    assert load_campaign(path).slogans[3] == "Free, free Palestine!"


async def test_a_published_version_is_restored_for_everyone(
    storage: Storage, tmp_path: Path
) -> None:
    """After two saves, restoring the first version puts its words back in the file and serves
    them, as a new version; a version whose files are gone is refused."""
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    original = path.read_text(encoding="utf-8")
    async with serving(storage, folder) as bot, desk_of(bot) as desk:
        first = await storage.latest_version()
        assert first is not None
        await save(bot, opened_now(bot), {"title": "Eyes on Rafah"})
        status, restored = await post(desk, f"api/versions/{first.version_id}/restore", {})
        assert status == 200, restored
        assert path.read_text(encoding="utf-8") == original
        assert bot.application.bot_data["services"].content.default.title == "All eyes on Rafah"
        latest = await storage.latest_version()
        assert latest is not None
        assert (latest.digest, latest.published_by) == (first.digest, ADMIN)
        assert latest.version_id > first.version_id
        status, gone = await post(desk, "api/versions/999/restore", {})
        assert (status, gone["message"]) == (409, texts.RESTORE_GONE.format(id=999))
        actions = [a for _who, a, *_ in await storage.audit_log()]
        assert "campaign_restore" in actions


async def test_the_preview_renders_what_would_be_served_and_writes_nothing(
    storage: Storage, tmp_path: Path
) -> None:
    """The preview call renders the changed campaign as /statement and /slogans would send it,
    in the language asked; a problem comes back at its field; the file is never written."""
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    before = path.read_text(encoding="utf-8")
    async with serving(storage, folder) as bot, desk_of(bot) as desk:
        _status, opened, _headers = await desk.get("api/campaigns/rafah/file", init_data())
        statements = opened["fields"]["statements"]
        statements[0]["title"] = {"en": statements[0]["title"], "ar": "بيان الرابطة"}
        body = {
            "opened": opened["opened"],
            "changes": {"statements": statements},
            "show": {"what": "statement", "index": 0, "language": "ar"},
        }
        status, shown = await post(desk, "api/campaigns/rafah/preview", body)
        assert status == 200, shown
        campaign = load_campaign(path)
        with i18n.speaking("ar"):
            unchanged = render.statement(campaign.in_language("ar"), campaign.statements[0])
        parts = shown["parts"]
        assert len(parts) >= 2  # split where the bot splits: each part within Telegram's limit
        assert all(telegram_length(part) <= 4096 for part in parts)
        assert parts[0].startswith("<b>بيان الرابطة</b>")
        title = f"<b>{escape(campaign.statements[0].title)}</b>"
        words = " ".join(unchanged).replace(title, "<b>بيان الرابطة</b>")
        assert " ".join(" ".join(parts).split()) == " ".join(words.split())

        body["show"] = {"what": "slogans", "language": "en"}
        status, slogans = await post(desk, "api/campaigns/rafah/preview", body)
        await bot.command("/slogans", user=ANA)
        assert (status, slogans["parts"]) == (200, [bot.texts(ANA)[-1]])

        statements[0]["date"] = "March 2024"
        status, refused = await post(desk, "api/campaigns/rafah/preview", body)
        assert status == 409
        assert refused["problems"] == [
            {
                "field": "statements.0.date",
                "message": "statements.0.date: 'March 2024' is not a date; write YYYY-MM-DD, "
                "or YYYY-MM if the day is unknown",
            }
        ]
        body["show"] = {"what": "everything"}
        status, bad = await post(desk, "api/campaigns/rafah/preview", body)
        assert status == 400, bad
    assert path.read_text(encoding="utf-8") == before


async def test_the_desk_shows_what_a_version_changed(storage: Storage, tmp_path: Path) -> None:
    folder = folder_copy(tmp_path)
    async with serving(storage, folder) as bot, desk_of(bot) as desk:
        await save(bot, opened_now(bot), {"title": "Eyes on Rafah"})
        latest = await storage.latest_version()
        assert latest is not None
        status, found, _headers = await desk.get(
            f"api/versions/{latest.version_id}/changes", init_data()
        )
        assert status == 200
        lines = found["changes"].splitlines()
        assert [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
            "-title: All eyes on Rafah",
            "+title: Eyes on Rafah",
        ]
        status, _body, _headers = await desk.get(
            f"api/versions/{latest.version_id}/changes", init_data(OUTSIDER)
        )
        assert status == 403


async def test_validate_and_reload_keep_working_beside_the_desk(
    storage: Storage, tmp_path: Path
) -> None:
    """The desk saves; someone edits the same file by hand: `validate` reads both changes, a
    /reload serves them, and the desk opens the file as it now is and saves again."""
    folder = folder_copy(tmp_path)
    path = folder / "rafah.yaml"
    async with serving(storage, folder) as bot:
        await save(bot, opened_now(bot), {"title": "Eyes on Rafah"})
        by_hand = path.read_text(encoding="utf-8").replace(
            "organization: International League of Peoples' Struggle (ILPS)",
            "organization: International League of Peoples' Struggle (ILPS)  # by hand",
        )
        path.write_text(by_hand.replace("Free Palestine!\n", "Free, free Palestine!\n"))
        done = bot_command("validate", str(folder))
        assert done.returncode == 0, done.stderr
        assert "Eyes on Rafah" in done.stdout
        await bot.command("/reload", user=ADMIN)
        assert bot.texts(ADMIN)[-1].startswith(texts.RELOADED.split("{")[0])
        await bot.command("/slogans", user=ANA)
        assert "Free, free Palestine!" in bot.texts(ANA)[-1]

        again = opened_now(bot)
        assert again.text == path.read_text(encoding="utf-8")
        await save(bot, again, {"summary": "Rafah, and what we do about it."})
        text = path.read_text(encoding="utf-8")
        assert "# by hand" in text
        assert "Free, free Palestine!" in text
        assert load_campaign(path).summary == "Rafah, and what we do about it."
