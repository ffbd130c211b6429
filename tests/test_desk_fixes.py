"""The desk corrects and decides as the chat does: edit and delete a sent broadcast (with a
colleague's approval when it is big), add or ignore a feed's draft, and download the subscriber
list, over HTTP with initData signed as Telegram signs it."""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import texts
from bot.desk.downloads import sign_link
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, TOKEN, Harness, serving, until
from .test_corrections import PEOPLE, edits_per_message, sent_broadcast
from .test_desk_api import OUTSIDER, Desk, desk_of, init_data, post
from .test_drafts import folder, site, written  # noqa: F401 (fixtures)
from .test_feed_watch import ORGANIZER, offered, watching
from .wordpress import WordPressSite


@pytest.fixture
async def desk(storage: Storage) -> AsyncIterator[Desk]:
    """The bot with ADMIN as its organizer, and its desk."""
    async with serving(storage) as bot, desk_of(bot) as served:
        yield served


async def apply(desk: Desk, correction_id: int) -> int:
    """Press Apply in the desk; return the chat message the correction reports in."""
    before = len(desk.bot.sent_to(ADMIN))
    status, applied = await post(desk, f"api/corrections/{correction_id}/apply", {})
    assert (status, applied["outcome"]) == (200, "started")
    assert applied["message"] == texts.DESK_CORRECTING
    (reporting,) = desk.bot.sent_to(ADMIN)[before:]  # said "corrected from the desk", then edited
    return int(reporting["message_id"])


async def final(bot: Harness, message_id: int, word: str) -> str:
    key = (ADMIN, message_id)
    await until(lambda: word in str(bot.api.messages[key]["text"]), f"the report ({word})")
    return str(bot.api.messages[key]["text"])


async def test_an_edit_in_the_desk_changes_every_copy_once(desk: Desk) -> None:
    """Edit a broadcast sent from the chat: the desk gives its text, counts the copies in the
    chat's words, Apply edits each copy once, reports in the chat, and is audited."""
    bot = desk.bot
    await sent_broadcast(bot, "Rally at noon on Friday")
    _, listed, _headers = await desk.get("api/broadcasts", init_data())
    assert (listed[0]["correctable"], listed[0]["correction"]) == (True, None)
    _, found, _headers = await desk.get("api/broadcasts/1/text", init_data())
    assert found == {"text": "Rally at noon on Friday"}
    status, offer = await post(desk, "api/broadcasts/1/edit", {"text": "Rally at one on Friday"})
    assert status == 200
    assert (offer["kind"], offer["count"]) == ("edit", len(PEOPLE))
    assert offer["question"] == texts.EDIT_PREVIEW.format(id=1, count=len(PEOPLE))
    assert [v["parts"] for v in offer["versions"]] == [["Rally at one on Friday"]]
    number = offer["correction_id"]
    reporting = await apply(desk, number)
    report = await final(bot, reporting, "✅")
    assert texts.EDIT_DONE.format(id=1) in report
    edits = edits_per_message(bot)
    assert sorted(chat for chat, _message in edits) == sorted(PEOPLE)
    assert set(edits.values()) == {1}
    status, again = await post(desk, f"api/corrections/{number}/apply", {})
    assert (status, again["message"]) == (409, texts.CORRECTION_ALREADY)
    _, listed, _headers = await desk.get("api/broadcasts", init_data())
    assert listed[0]["correction"]["kind"] == "edit"
    assert listed[0]["correction"]["state"] == "done"
    actions = [a for who, a, *_ in await bot.storage.audit_log() if who == ADMIN]
    assert "broadcast_edit" in actions


async def test_the_desk_refuses_a_correction_in_the_chats_words(desk: Desk) -> None:
    """The same text, a language the broadcast lacks, a broadcast that reached nobody: the
    sentences the chat says, and nothing stored to apply."""
    bot = desk.bot
    await sent_broadcast(bot, "Rally at noon")
    status, body = await post(desk, "api/broadcasts/1/edit", {"text": "Rally at noon"})
    assert (status, body["message"]) == (409, texts.EDIT_REFUSED_SAME.format(id=1))
    status, body = await post(desk, "api/broadcasts/1/edit", {"text": "Rally\n\n[fr]\nMarche"})
    assert status == 409
    assert body["message"].startswith(texts.EDIT_REFUSED_LANGUAGE.split("{")[0])
    for path in ("api/broadcasts/99/edit", "api/broadcasts/99/delete"):
        status, body = await post(desk, path, {"text": "x"})
        assert (status, body["message"]) == (409, texts.CORRECTION_NOTHING.format(id=99))
    status, body = await post(desk, "api/corrections/99/apply", {})
    assert (status, body["message"]) == (409, texts.CORRECTION_ALREADY)
    status, body = await post(desk, "api/broadcasts/1/edit", {"text": "x"}, init_data(OUTSIDER))
    assert (status, body["error"]) == (403, "forbidden")
    assert edits_per_message(bot) == {}


async def test_a_delete_in_the_desk_removes_every_copy(desk: Desk) -> None:
    """Delete asks the chat's question with the count; Apply deletes each copy for everyone."""
    bot = desk.bot
    await sent_broadcast(bot, "Wrong date")
    status, offer = await post(desk, "api/broadcasts/1/delete", {})
    assert status == 200
    assert offer["question"] == texts.DELETE_CONFIRM.format(id=1, count=len(PEOPLE))
    reporting = await apply(desk, offer["correction_id"])
    report = await final(bot, reporting, "✅")
    assert texts.DELETE_DONE.format(id=1) in report
    deleted = {
        call.params["chat_id"]
        for method in ("deleteMessage", "deleteMessages")
        for call in bot.api.calls_to(method)
        if call.error is None
    }
    assert deleted == set(PEOPLE)


async def test_a_cancelled_correction_changes_nothing(desk: Desk) -> None:
    """An edit offered then cancelled in the desk cannot be applied afterwards."""
    bot = desk.bot
    await sent_broadcast(bot, "Rally at noon")
    _, offer = await post(desk, "api/broadcasts/1/edit", {"text": "Rally at one"})
    number = offer["correction_id"]
    status, cancelled = await post(desk, f"api/corrections/{number}/cancel", {})
    assert (status, cancelled["message"]) == (200, texts.CORRECTION_CANCELLED)
    status, body = await post(desk, f"api/corrections/{number}/apply", {})
    assert (status, body["message"]) == (409, texts.CORRECTION_ALREADY)
    assert edits_per_message(bot) == {}


async def test_a_big_edit_waits_for_a_colleague_who_approves_it_in_the_desk(
    storage: Storage,
) -> None:
    """Above APPROVAL_THRESHOLD, Apply in the desk asks the other organizer in their chat; the
    desk lists it waiting; its author cannot approve it; the colleague approves in the desk."""
    async with serving(storage, admins=frozenset({ADMIN, BEN})) as bot, desk_of(bot) as desk:
        await sent_broadcast(bot, "Rally at noon", [ANA, 3001, 3002])
        services = bot.application.bot_data["services"]
        services.config = dataclasses.replace(services.config, approval_threshold=1)
        _, offer = await post(desk, "api/broadcasts/1/edit", {"text": "Rally at one"})
        number = offer["correction_id"]
        status, held = await post(desk, f"api/corrections/{number}/apply", {})
        assert (status, held["outcome"], held["message"]) == (200, "held", texts.DESK_HELD)
        ask = texts.CORRECTION_ASK_EDIT.format(who=f"Ana ({ADMIN})", id=1, count=3)
        assert bot.texts(BEN)[-1] == ask
        asked = bot.api.messages[(BEN, int(bot.last(BEN)["message_id"]))]
        _, listed, _headers = await desk.get("api/broadcasts", init_data())
        assert listed[0]["correction"]["state"] == "awaiting"
        assert listed[0]["correction"]["created_by"] == ADMIN
        status, own = await post(desk, f"api/corrections/{number}/approve", {})
        assert (status, own["message"]) == (409, texts.APPROVAL_OWN)
        assert edits_per_message(bot) == {}
        status, approved = await post(
            desk, f"api/corrections/{number}/approve", {}, init_data(BEN)
        )
        said = texts.CORRECTION_APPROVED.format(id=1, who=f"Ana ({BEN})")
        assert (status, approved["message"]) == (200, said)
        assert (asked["text"], "reply_markup" in asked) == (said, False)  # BEN's chat knows

        def copies_edited() -> int:
            return len([chat for chat, _message in edits_per_message(bot) if chat != BEN])

        await until(lambda: copies_edited() == 3, "every copy edited")
        actions = [(who, a) for who, a, *_ in await bot.storage.audit_log()]
        assert (BEN, "correction_approve") in actions
        assert (ADMIN, "correction_approval_asked") in actions


async def test_a_feeds_draft_is_added_in_the_desk_and_the_chat_knows(
    storage: Storage,
    folder: Path,  # noqa: F811
    site: WordPressSite,  # noqa: F811
) -> None:
    """The desk lists the draft offered in the chat; Add there writes the statement file and
    serves it; the draft leaves the list, and the chat's button then says who added it."""
    async with watching(storage, folder) as bot, desk_of(bot) as desk:
        await offered(bot)
        _, drafts, _headers = await desk.get("api/drafts", init_data())
        assert [(d["item_id"], d["campaign_id"]) for d in drafts] == [(1, "demo")]
        assert drafts[0]["title"] == "The Last Refuge is Resistance"
        status, added = await post(desk, "api/drafts/1/add", {})
        [path] = written(folder)
        assert status == 200
        assert added["message"] == texts.DRAFT_ADDED.format(campaign="demo", path=path)
        services = bot.application.bot_data["services"]
        assert services.content.get("demo").base.statement.title == drafts[0]["title"]
        assert (await desk.get("api/drafts", init_data()))[1] == []
        status, again = await post(desk, "api/drafts/1/ignore", {}, init_data(ORGANIZER))
        assert status == 409
        assert again["message"].startswith(texts.DRAFT_ALREADY_ADDED.split("{")[0])
        actions = [(who, a) for who, a, *_ in await bot.storage.audit_log()]
        assert (ADMIN, "draft_add") in actions


async def test_a_draft_ignored_in_the_chat_cannot_be_added_in_the_desk(
    storage: Storage,
    folder: Path,  # noqa: F811
    site: WordPressSite,  # noqa: F811
) -> None:
    """Ignored from the chat's button: the desk's Add says who ignored it, and writes nothing."""
    async with watching(storage, folder) as bot, desk_of(bot) as desk:
        await offered(bot)
        (question,) = [m for m in bot.sent_to(ADMIN) if "fd:ign:1" in str(m.get("reply_markup"))]
        await bot.press("fd:ign:1", user=ADMIN, message_id=int(question["message_id"]))
        status, body = await post(desk, "api/drafts/1/add", {})
        assert status == 409
        assert body["message"].startswith(texts.DRAFT_ALREADY_IGNORED.split("{")[0])
        assert written(folder) == []


async def test_the_subscriber_list_downloads_by_a_short_lived_link(desk: Desk) -> None:
    """The desk asks for a link (initData checked), the link alone downloads the CSV /export
    sends, once audited per download; forged, expired, or for someone no longer an organizer,
    it gives nothing."""
    bot = desk.bot
    for person in (ANA, BEN):
        await bot.command("/subscribe", user=person)
    status, link = await post(desk, "api/export", {"campaign": "rafah"})
    assert status == 200
    assert link["file_name"] == "subscribers-rafah.csv"
    async with desk.session.get(desk.url + link["path"]) as answer:  # no Authorization
        assert answer.status == 200
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        rows = list(csv.reader(io.StringIO(await answer.text())))
    assert rows[0][0] == "chat_id"
    assert sorted(int(row[0]) for row in rows[1:]) == [ANA, BEN]
    actions = [(who, a) for who, a, *_ in await bot.storage.audit_log()]
    assert (ADMIN, "export") in actions
    forged = link["path"][:-1] + ("0" if link["path"][-1] != "0" else "1")
    expired = "export/" + sign_link(TOKEN, ADMIN, "rafah", int(time.time()) - 1)
    for path in (forged, expired):
        async with desk.session.get(desk.url + path) as answer:
            assert answer.status == 401
    status, refused = await post(desk, "api/export", {"campaign": "rafah"}, init_data(OUTSIDER))
    assert (status, refused["error"]) == (403, "forbidden")
    services = bot.application.bot_data["services"]
    services.config = dataclasses.replace(services.config, admins=frozenset({BEN}))
    async with desk.session.get(desk.url + link["path"]) as answer:
        assert answer.status == 403
