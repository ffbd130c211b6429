"""What subscribers, groups and organizers get, through the real Application and handlers."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import texts
from bot.campaign.content import campaign_key, load_campaigns
from bot.campaign.markup import MESSAGE_LIMIT, telegram_length
from bot.preview.updates import my_chat_member_update
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, CAMPAIGNS, GROUP, Harness, serving
from .test_storage import scan_for

KEY = campaign_key("rafah")


def _menu_labels(bot: Harness, chat: int) -> list[str]:
    return list(bot.buttons(chat))


async def test_start_welcomes_with_the_menu(bot: Harness) -> None:
    """/start names the campaign and offers every reply as a button."""
    await bot.command("/start", user=ANA)
    [welcome] = bot.texts(ANA)
    assert "<b>All eyes on Rafah</b>" in welcome
    assert "International League of Peoples' Struggle (ILPS)" in welcome
    buttons = bot.buttons(ANA)
    assert buttons[texts.BUTTON_STATEMENT] == f"st:{KEY}"
    assert buttons[texts.BUTTON_SLOGANS] == f"sl:{KEY}"
    assert buttons[texts.BUTTON_ACTIONS] == f"ac:{KEY}"
    assert buttons[texts.BUTTON_ARCHIVE] == f"ar:{KEY}"
    assert buttons[texts.BUTTON_SUBSCRIBE] == f"sub:{KEY}"
    assert buttons[texts.BUTTON_MYDATA] == "mydata"
    assert buttons[texts.BUTTON_SHARE].startswith("https://t.me/share/url?url=")
    assert "solidarity_preview_bot%3Fstart%3Drafah" in buttons[texts.BUTTON_SHARE]


async def test_deep_link_is_recorded_as_the_sign_up_source(bot: Harness) -> None:
    """/start rafah opens the campaign, and a later sign-up records where it came from."""
    await bot.command("/start rafah", user=ANA)
    await bot.command("/subscribe", user=ANA)
    [record] = [r async for r in bot.storage.subscriptions()]
    assert (record.chat_id, record.source, record.language_code) == (ANA, "rafah", "en")


async def test_unknown_deep_link_falls_back_politely(bot: Harness) -> None:
    """An unknown payload says so and shows the default campaign."""
    await bot.command("/start <b>nope</b>", user=ANA)
    [reply] = bot.texts(ANA)
    assert reply.startswith("I don't know the campaign “&lt;b&gt;nope&lt;/b&gt;”")
    assert "All eyes on Rafah" in reply


async def test_statement_is_split_between_paragraphs_in_order(bot: Harness) -> None:
    """/statement sends the whole statement as HTML messages under 4096 characters, in order."""
    await bot.command("/statement", user=ANA)
    messages = bot.texts(ANA)
    assert len(messages) == 2
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    assert messages[0].startswith("<b>ILPS Statement on the ‘flour massacre’")
    assert messages[0].endswith("anti-Zionist protests and organizations.")
    assert "<b>Enablers of genocide</b>" in messages[0]
    assert "<b>Our last refuge</b>" in messages[1]
    assert "— <b>Len Cooper</b>, ILPS Chairperson" in messages[1]
    sent = bot.api.calls_to("sendMessage")
    assert all(call.params["parse_mode"] == "HTML" for call in sent)


async def test_slogans_actions_and_archive(bot: Harness) -> None:
    """/slogans, /actions and /statements send their lists."""
    await bot.command("/slogans", user=ANA)
    await bot.command("/actions", user=ANA)
    await bot.command("/statements", user=ANA)
    slogans, actions, archive = bot.texts(ANA)
    assert slogans.count("✊") == 6
    assert "✊ <b>Free Palestine!</b>" in slogans
    assert "1. <b>Demand an immediate ceasefire</b>" in actions
    assert "7. <b>Join the protests and mobilizations</b>" in actions
    assert "1. <b>ILPS Statement on the ‘flour massacre’" in archive
    assert "<i>March 2024</i>" in archive


@pytest.mark.parametrize(
    ("command", "button"),
    [("/statement", "st"), ("/slogans", "sl"), ("/actions", "ac"), ("/statements", "ar")],
)
async def test_every_reply_also_works_from_its_button(
    bot: Harness, command: str, button: str
) -> None:
    """A menu button gives the same reply as its command, and the press is answered."""
    await bot.command(command, user=ANA)
    by_command = bot.texts(ANA)
    await bot.press(f"{button}:{KEY}", user=BEN)
    assert bot.texts(BEN) == by_command
    assert len(bot.answers()) == 1


async def test_subscribe_is_idempotent_and_unsubscribe_stops(bot: Harness) -> None:
    """/subscribe says what comes and how to stop; twice is harmless; /unsubscribe stops."""
    await bot.command("/subscribe", user=ANA)
    await bot.command("/subscribe", user=ANA)
    await bot.command("/unsubscribe", user=ANA)
    await bot.command("/unsubscribe", user=ANA)
    first, second, third, fourth = bot.texts(ANA)
    assert "You will get updates from <b>All eyes on Rafah</b>" in first
    assert "/unsubscribe" in first
    assert second.startswith("You already get updates")
    assert third.startswith("Done: no more updates")
    assert fourth.startswith("You were not getting updates")
    assert not await bot.storage.is_subscribed(ANA, "rafah")


async def test_subscribe_button_toggles_the_menu(bot: Harness) -> None:
    """Pressing Get updates subscribes and turns the button into Stop updates."""
    await bot.command("/start", user=ANA)
    menu_id = bot.last(ANA)["message_id"]
    await bot.press(f"sub:{KEY}", user=ANA, message_id=menu_id)
    assert await bot.storage.is_subscribed(ANA, "rafah")
    menu = bot.api.messages[(ANA, menu_id)]
    labels = [b["text"] for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert texts.BUTTON_UNSUBSCRIBE in labels
    assert texts.BUTTON_SUBSCRIBE not in labels
    await bot.press(f"uns:{KEY}", user=ANA, message_id=menu_id)
    assert not await bot.storage.is_subscribed(ANA, "rafah")
    assert len(bot.answers()) == 2


async def test_forged_or_stale_buttons_get_an_answer_and_do_nothing(bot: Harness) -> None:
    """Unknown button data is answered (no spinner) and changes nothing."""
    for data in (f"sub:{'0' * 10}", "sub:rafah", "bc:send:x", "💥" * 20, "old:99999:abc"):
        await bot.press(data, user=ANA)
    assert len(bot.answers()) == 5
    assert all(call.params.get("text") == texts.BUTTON_EXPIRED for call in bot.answers())
    assert await scan_for(bot.storage, ANA) == []


async def test_help_shows_organizer_commands_only_to_organizers(bot: Harness) -> None:
    """/help lists the organizer commands for admins only."""
    await bot.command("/help", user=ANA)
    await bot.command("/help", user=ADMIN)
    assert "/broadcast" not in bot.texts(ANA)[0]
    assert "/broadcast" in bot.texts(ADMIN)[0]
    assert "never stores your name" in bot.texts(ANA)[0]


async def test_mydata_shows_what_is_stored_and_forget_erases_it(bot: Harness) -> None:
    """/mydata lists every stored fact; /forget, once confirmed, leaves no row with the id."""
    await bot.command("/mydata", user=ANA)
    assert bot.texts(ANA)[-1] == f"{texts.MYDATA_NONE}\n{texts.MYDATA_PRIVACY}"
    await bot.command("/start rafah", user=ANA, language_code="ar")
    await bot.command("/subscribe", user=ANA, language_code="ar")
    await bot.command("/mydata", user=ANA)
    shown = bot.texts(ANA)[-1]
    assert f"Telegram id {ANA}" in shown
    assert (
        "campaign <b>rafah</b>: active, chat type private, language ar, topics all, "
        "came from rafah" in shown
    )
    assert "Person" not in shown
    await bot.command("/forget", user=ANA)
    assert bot.texts(ANA)[-1] == texts.FORGET_CONFIRM
    confirm_id = bot.last(ANA)["message_id"]
    await bot.press("forget:no", user=ANA, message_id=confirm_id)
    assert bot.texts(ANA)[-1] == texts.FORGET_CANCELLED
    assert await bot.storage.is_subscribed(ANA, "rafah")
    await bot.press("forget:yes", user=ANA, message_id=confirm_id)
    assert bot.texts(ANA)[-1].startswith("Done: everything stored about you is erased")
    assert await scan_for(bot.storage, ANA) == []


async def test_forget_cannot_be_confirmed_for_someone_else(bot: Harness) -> None:
    """A forget confirmation pressed in a group erases nothing."""
    await bot.command("/subscribe", user=BEN)
    await bot.press("forget:yes", user=BEN, chat=GROUP)
    assert await bot.storage.is_subscribed(BEN, "rafah")


async def test_group_subscription_is_for_group_admins(bot: Harness) -> None:
    """In a group, /subscribe@bot works for its admins (and anonymous admins) only."""
    await bot.command(
        "/subscribe@solidarity_preview_bot", user=ANA, chat=GROUP, chat_type="supergroup"
    )
    assert bot.texts(GROUP)[-1] == texts.GROUP_ADMINS_ONLY
    assert not await bot.storage.is_subscribed(GROUP, "rafah")
    bot.api.member_status[(GROUP, BEN)] = "administrator"
    await bot.command(
        "/subscribe@solidarity_preview_bot", user=BEN, chat=GROUP, chat_type="supergroup"
    )
    assert bot.texts(GROUP)[-1].startswith("This group will get updates")
    await bot.command("/unsubscribe", user=ANA, chat=GROUP, chat_type="supergroup")
    assert await bot.storage.is_subscribed(GROUP, "rafah")
    await bot.command(
        "/unsubscribe", user=ANA, chat=GROUP, chat_type="supergroup", sender_chat_id=GROUP
    )
    assert not await bot.storage.is_subscribed(GROUP, "rafah")
    [record] = [r async for r in bot.storage.subscriptions()]
    assert (record.chat_type, record.language_code) == ("supergroup", None)


async def test_group_reads_content_with_the_bot_suffix(bot: Harness) -> None:
    """Commands addressed as /command@bot work in groups."""
    await bot.command(
        "/slogans@solidarity_preview_bot", user=ANA, chat=GROUP, chat_type="supergroup"
    )
    assert "Free Palestine!" in bot.texts(GROUP)[0]


async def test_removal_from_group_stops_its_subscription(bot: Harness) -> None:
    """When the bot is removed from a group, that group's updates stop."""
    await bot.storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    await bot.feed(
        my_chat_member_update(
            chat_id=GROUP,
            chat_type="supergroup",
            user_id=BEN,
            old_status="member",
            new_status="left",
        )
    )
    assert not await bot.storage.is_subscribed(GROUP, "rafah")
    assert await bot.storage.count_recipients("rafah") == 0


async def test_blocking_stops_updates_until_the_user_starts_again(bot: Harness) -> None:
    """A user who blocks the bot is skipped; /start after unblocking resumes their updates."""
    await bot.command("/subscribe", user=ANA)
    await bot.feed(
        my_chat_member_update(
            chat_id=ANA, chat_type="private", user_id=ANA, old_status="member", new_status="kicked"
        )
    )
    assert not await bot.storage.is_subscribed(ANA, "rafah")
    await bot.command("/start", user=ANA)
    assert await bot.storage.is_subscribed(ANA, "rafah")


async def test_group_migration_keeps_the_subscription(bot: Harness) -> None:
    """A group upgraded to a supergroup keeps its subscription under the new id."""
    from bot.preview.updates import migrate_update

    await bot.storage.subscribe(-555, "rafah", chat_type="group")
    await bot.feed(migrate_update(old_chat_id=-555, new_chat_id=GROUP, user_id=BEN))
    assert await bot.storage.is_subscribed(GROUP, "rafah")
    assert not await bot.storage.is_subscribed(-555, "rafah")


@pytest.mark.parametrize("command", ["/broadcast hi", "/announce", "/stats", "/export", "/reload"])
async def test_organizer_commands_refuse_everyone_else(bot: Harness, command: str) -> None:
    """A non-organizer gets a refusal and nothing happens; an organizer in a group too."""
    await bot.storage.subscribe(BEN, "rafah", chat_type="private")
    await bot.command(command, user=ANA)
    assert bot.texts(ANA) == [texts.NOT_ADMIN]
    await bot.command(command, user=ADMIN, chat=GROUP, chat_type="supergroup")
    assert bot.texts(GROUP) == [texts.ADMIN_PRIVATE_ONLY]
    assert await bot.storage.audit_log() == []
    assert await bot.storage.recent_broadcasts() == []
    assert bot.api.calls_to("sendDocument") == []


async def _prepare(bot: Harness, command: str) -> int:
    """Send an organizer command and return the id of the confirmation message."""
    await bot.command(command, user=ADMIN)
    confirm = bot.last(ADMIN)
    assert "Send it?" in confirm["text"]
    return int(confirm["message_id"])


async def test_broadcast_previews_then_sends_once(bot: Harness) -> None:
    """/broadcast previews exactly, counts recipients, sends once on Send, and reports."""
    for chat in (ANA, BEN):
        await bot.storage.subscribe(chat, "rafah", chat_type="private")
    await bot.storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    await bot.command("/broadcast rafah Rally at noon\n\nBring <flags> & friends", user=ADMIN)
    preview, confirm = bot.texts(ADMIN)
    assert preview == "Rally at noon\n\nBring &lt;flags&gt; &amp; friends"
    assert "Recipients now: <b>3</b>" in confirm
    buttons = bot.buttons(ADMIN)
    confirm_id = bot.last(ADMIN)["message_id"]
    await bot.press(buttons[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
    await bot.settle()
    for chat in (ANA, BEN, GROUP):
        assert bot.texts(chat) == [preview]
    status = await bot.report(ADMIN, confirm_id)
    assert status.startswith("✅ Broadcast #1 to <b>rafah</b> finished in ")
    assert "Recipients: 3\n" in status
    assert "sent 3 · blocked 0 · failed 0" in status
    await bot.press(buttons[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
    await bot.press(buttons[texts.BUTTON_CANCEL], user=ADMIN, message_id=confirm_id)
    await bot.settle()
    assert bot.texts(ANA) == [preview]
    assert bot.api.messages[(ADMIN, confirm_id)]["text"] == status  # the report stays
    assert [a.params.get("text") for a in bot.answers()[-2:]] == [texts.BROADCAST_ALREADY] * 2
    actions = [entry[1] for entry in await bot.storage.audit_log()]
    assert actions == ["broadcast_send", "broadcast_preview"]


async def test_broadcast_keeps_the_organizers_formatting(bot: Harness) -> None:
    """Bold and links the organizer typed in Telegram reach subscribers as typed."""
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    text = "/broadcast Read this now"
    entities = [
        {"type": "bot_command", "offset": 0, "length": 10},
        {"type": "bold", "offset": 11, "length": 4},
        {"type": "text_link", "offset": 16, "length": 4, "url": "https://example.org/"},
    ]
    from bot.preview.updates import message_update

    update = message_update(text, user_id=ADMIN)
    update["message"]["entities"] = entities
    await bot.feed(update)
    assert bot.texts(ADMIN)[0] == '<b>Read</b> <a href="https://example.org/">this</a> now'


async def test_confirmation_is_checked_again_for_the_presser(bot: Harness) -> None:
    """Forged Send data from a non-organizer is refused and sends nothing."""
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    confirm_id = await _prepare(bot, "/broadcast hello")
    await bot.press("bc:send:1", user=ANA, message_id=confirm_id)
    await bot.settle()
    assert bot.texts(ANA) == []
    assert bot.answers()[-1].params["text"] == texts.NOT_ADMIN
    progress = await bot.storage.progress(1)
    assert progress is not None
    assert progress.state == "draft"


async def test_cancel_discards_the_broadcast(bot: Harness) -> None:
    """Cancel sends nothing, and Send afterwards does nothing."""
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    confirm_id = await _prepare(bot, "/broadcast hello")
    await bot.press("bc:cancel:1", user=ADMIN, message_id=confirm_id)
    await bot.press("bc:send:1", user=ADMIN, message_id=confirm_id)
    await bot.settle()
    assert bot.texts(ANA) == []
    assert bot.api.messages[(ADMIN, confirm_id)]["text"] == texts.BROADCAST_CANCELLED
    assert bot.answers()[-1].params["text"] == texts.BROADCAST_ALREADY
    assert bot.answers()[-1].params["show_alert"] is True


async def test_broadcast_without_text_or_recipients_explains(bot: Harness) -> None:
    """An empty /broadcast shows the usage; with no subscribers it says so and stores nothing."""
    await bot.command("/broadcast", user=ADMIN)
    await bot.command("/broadcast hello", user=ADMIN)
    usage, nobody = bot.texts(ADMIN)
    assert usage.startswith("Write the message after the command")
    assert nobody.startswith("Nobody is subscribed")
    assert await bot.storage.audit_log() == []


async def test_announce_sends_the_latest_statement(bot: Harness) -> None:
    """/announce previews and sends the latest statement in its parts."""
    await bot.storage.subscribe(ANA, "rafah", chat_type="private")
    confirm_id = await _prepare(bot, "/announce")
    assert "Messages per recipient: 2." in bot.texts(ADMIN)[-1]
    await bot.press("bc:send:1", user=ADMIN, message_id=confirm_id)
    await bot.settle()
    await bot.command("/statement", user=BEN)
    assert bot.texts(ANA) == bot.texts(BEN)


async def test_stats_and_export_for_organizers(bot: Harness) -> None:
    """/stats counts subscribers; /export sends them as a CSV document."""
    await bot.command("/start rafah", user=ANA)
    await bot.command("/subscribe", user=ANA)
    await bot.storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    await bot.command("/stats", user=ADMIN)
    stats, chart = bot.sent_to(ADMIN)[-2:]
    assert "photo" in chart  # the sign-ups chart follows the numbers
    stats = stats["text"]
    assert "<b>rafah</b>: people 1 · groups 1 · new in the last 7 days 2" in stats
    await bot.command("/export", user=ADMIN)
    document = bot.last(ADMIN)
    assert document["document"]["file_name"].startswith("subscribers-all-")
    rows = list(csv.DictReader(io.StringIO(document["content"].decode())))
    # Oldest sign-up first: ANA subscribed before the group.
    assert [(r["chat_id"], r["source"]) for r in rows] == [(str(ANA), "rafah"), (str(GROUP), "")]
    actions = {entry[1] for entry in await bot.storage.audit_log()}
    assert actions == {"stats", "export"}


async def test_reload_keeps_old_content_when_a_file_is_broken(
    bot: Harness, tmp_path: Path
) -> None:
    """/reload with a broken file lists the located problems and keeps serving the old content."""
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    services = bot.application.bot_data["services"]
    services.config = dataclasses.replace(services.config, campaigns_dir=folder)
    path = folder / "rafah.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "slogans: []\n", encoding="utf-8")
    await bot.command("/reload", user=ADMIN)
    reply = bot.texts(ADMIN)[-1]
    assert reply.startswith("The campaign files have problems")
    assert "rafah.yaml:" in reply
    assert "duplicate key 'slogans': already given on line" in reply
    await bot.command("/slogans", user=ANA)
    assert "Free Palestine!" in bot.texts(ANA)[-1]
    path.write_text(
        (CAMPAIGNS / "rafah.yaml")
        .read_text(encoding="utf-8")
        # One more of the campaign's slogans, not of the statement's closing lines.
        .replace("\n  - Free Palestine!\n", "\n  - Free Palestine!\n  - Ceasefire now!\n"),
        encoding="utf-8",
    )
    await bot.command("/reload", user=ADMIN)
    assert bot.texts(ADMIN)[-1].startswith("Campaign files re-read: rafah: 1 statement(s), 7")
    await bot.command("/slogans", user=ANA)
    assert "Ceasefire now!" in bot.texts(ANA)[-1]
    assert len(load_campaigns(folder).default.slogans) == 7


async def test_commands_are_published_for_everyone_and_for_organizers(bot: Harness) -> None:
    """At start the public commands are set, and the organizer ones in each admin's chat."""
    default = bot.api.commands[json.dumps({"type": "default"}, sort_keys=True)]
    organizer = bot.api.commands[json.dumps({"chat_id": ADMIN, "type": "chat"}, sort_keys=True)]
    assert [c["command"] for c in default] == [name for name, _ in texts.PUBLIC_COMMANDS]
    assert {"broadcast", "announce", "stats", "export", "reload"} <= {
        c["command"] for c in organizer
    }
    assert "broadcast" not in {c["command"] for c in default}


async def test_a_flooding_user_gets_bounded_replies(bot: Harness) -> None:
    """A user sending 30 commands at once gets a bounded number of replies and one warning."""
    for _ in range(30):
        await bot.command("/slogans", user=ANA)
    replies = bot.texts(ANA)
    assert len(replies) <= 10
    assert replies.count(texts.SLOW_DOWN) == 1
    await bot.command("/slogans", user=BEN)
    assert len(bot.texts(BEN)) == 1


async def test_unknown_commands_get_a_hint_in_private(bot: Harness) -> None:
    """An unknown command in a private chat points to /help; in a group the bot stays quiet."""
    await bot.command("/frobnicate", user=ANA)
    await bot.command("/frobnicate", user=ANA, chat=GROUP, chat_type="supergroup")
    assert bot.texts(ANA) == [texts.UNKNOWN_COMMAND]
    assert bot.texts(GROUP) == []


async def test_updates_of_one_chat_are_handled_in_order() -> None:
    """Within a chat updates run one by one in arrival order; other chats run alongside."""
    import asyncio

    from telegram import Update

    from bot.preview.updates import message_update
    from bot.server.app import PerChatOrder

    done: list[str] = []

    async def handle(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        done.append(name)

    def update(n: int, chat: int) -> Update:
        return Update.de_json({"update_id": n, **message_update("/x", user_id=chat)}, None)

    processor = PerChatOrder(8)
    await asyncio.gather(
        processor.process_update(update(1, ANA), handle("ana-start", 0.05)),
        processor.process_update(update(2, ANA), handle("ana-subscribe", 0.0)),
        processor.process_update(update(3, BEN), handle("ben-start", 0.0)),
    )
    assert done == ["ben-start", "ana-start", "ana-subscribe"]


async def test_an_update_waiting_for_its_chat_holds_no_slot() -> None:
    """With two slots, a chat's second update waits without blocking another chat's."""
    import asyncio

    from telegram import Update

    from bot.preview.updates import message_update
    from bot.server.app import PerChatOrder

    done: list[str] = []
    release = asyncio.Event()

    async def handle(name: str, gate: asyncio.Event | None = None) -> None:
        if gate is not None:
            await gate.wait()
        done.append(name)

    def update(n: int, chat: int) -> Update:
        return Update.de_json({"update_id": n, **message_update("/x", user_id=chat)}, None)

    processor = PerChatOrder(2)
    first = asyncio.create_task(processor.process_update(update(1, ANA), handle("ana-1", release)))
    second = asyncio.create_task(processor.process_update(update(2, ANA), handle("ana-2")))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(processor.process_update(update(3, BEN), handle("ben")), timeout=1)
    assert done == ["ben"]
    release.set()
    await asyncio.gather(first, second)
    assert done == ["ben", "ana-1", "ana-2"]


OTHER = """\
id: other
title: Another campaign
organization: Another Org
statements:
  - title: Older word
    date: 2024-01-01
    author: A. Person
    body: The older statement.
  - title: Newest word
    date: 2024-05-01
    author: B. Person
    body: The newest statement.
slogans:
  - Other slogan!
"""


@pytest.fixture
async def two_campaigns(storage: Storage, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot serving the shipped campaign and a second one."""
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    (folder / "other.yaml").write_text(OTHER, encoding="utf-8")
    async with serving(storage, folder) as harness:
        yield harness


async def test_several_campaigns_are_listed_and_picked(two_campaigns: Harness) -> None:
    """/start offers the campaigns; picking one serves its content from then on."""
    bot = two_campaigns
    await bot.command("/start", user=ANA)
    assert bot.texts(ANA)[0].startswith(texts.PICK_CAMPAIGN)
    await bot.command("/campaigns", user=BEN)
    await bot.press("campaigns", user=BEN)
    assert bot.texts(BEN) == [bot.texts(ANA)[0]] * 2
    assert set(bot.buttons(ANA).values()) == {f"pick:{KEY}", f"pick:{campaign_key('other')}"}
    await bot.press(f"pick:{campaign_key('other')}", user=ANA)
    assert "<b>Another campaign</b>" in bot.texts(ANA)[-1]
    assert texts.BUTTON_CAMPAIGNS in bot.buttons(ANA)
    assert texts.BUTTON_ARCHIVE in bot.buttons(ANA)
    await bot.command("/statement", user=ANA)
    assert bot.texts(ANA)[-1].startswith("<b>Newest word</b>")
    await bot.command("/statements", user=ANA)
    assert "1. <b>Newest word</b>" in bot.texts(ANA)[-1]
    assert "2. <b>Older word</b>" in bot.texts(ANA)[-1]
    await bot.press(f"old:1:{campaign_key('other')}", user=ANA)
    assert bot.texts(ANA)[-1].startswith("<b>Older word</b>")
    await bot.command("/subscribe", user=ANA)
    assert await bot.storage.is_subscribed(ANA, "other")
    assert not await bot.storage.is_subscribed(ANA, "rafah")
    await bot.command("/start rafah", user=BEN)
    assert "<b>All eyes on Rafah</b>" in bot.texts(BEN)[-1]
    await bot.press(f"pick:{campaign_key('other')}", user=BEN)
    await bot.command("/subscribe", user=BEN)
    sources = {(r.chat_id, r.campaign_id): r.source async for r in bot.storage.subscriptions()}
    assert sources[(BEN, "other")] is None  # the rafah link does not count for "other"


async def test_organizers_say_which_campaign_when_there_are_several(
    two_campaigns: Harness,
) -> None:
    """With several campaigns, /broadcast needs an id and reaches that campaign only."""
    bot = two_campaigns
    await bot.storage.subscribe(ANA, "other", chat_type="private")
    await bot.storage.subscribe(BEN, "rafah", chat_type="private")
    await bot.command("/broadcast hello", user=ADMIN)
    assert bot.texts(ADMIN)[-1].startswith("Several campaigns are served")
    await bot.command("/broadcast other hello there", user=ADMIN)
    assert bot.texts(ADMIN)[-2] == "hello there"
    assert "subscribers of <b>other</b>" in bot.texts(ADMIN)[-1]
    assert "Recipients now: <b>1</b>" in bot.texts(ADMIN)[-1]
    confirm_id = bot.last(ADMIN)["message_id"]
    await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=confirm_id)
    await bot.report(ADMIN, confirm_id)
    assert bot.texts(ANA) == ["hello there"]
    assert bot.texts(BEN) == []
    await bot.command("/export other", user=ADMIN)
    assert bot.last(ADMIN)["document"]["file_name"].startswith("subscribers-other-")


async def test_edited_commands_and_channel_posts_do_nothing(bot: Harness) -> None:
    """Editing an old command does not run it again; a channel post is ignored without error."""
    from bot.preview.updates import message_update

    edited = message_update("/subscribe", user_id=ANA)
    await bot.feed({"edited_message": {**edited["message"], "edit_date": 1}})
    post = message_update("/subscribe", user_id=ANA, chat_id=-100777, chat_type="channel")
    del post["message"]["from"]
    await bot.feed({"channel_post": post["message"]})
    assert bot.api.calls_to("sendMessage") == []
    assert not await bot.storage.is_subscribed(ANA, "rafah")
    assert not await bot.storage.is_subscribed(-100777, "rafah")


async def test_help_mydata_forget_and_menu_buttons(bot: Harness) -> None:
    """The Help, My data, Erase and Menu buttons give what their commands give."""
    await bot.command("/help", user=BEN)
    await bot.command("/subscribe", user=ANA)
    await bot.command("/mydata", user=ANA)
    await bot.command("/forget", user=ANA)
    await bot.command("/start", user=ANA)
    by_command = bot.texts(ANA)
    for data in ("help", "mydata", "forget", f"menu:{KEY}"):  # 8 updates: within the burst
        await bot.press(data, user=ANA)
    pressed = bot.texts(ANA)[len(by_command) :]
    assert pressed == [bot.texts(BEN)[0], *by_command[1:]]
    assert len(bot.answers()) == 4


async def test_mydata_button_in_a_group_shows_nothing(bot: Harness) -> None:
    """A My data press in a group (forged: the group menu has none) reveals nothing there."""
    await bot.command("/subscribe", user=ANA)
    await bot.press("mydata", user=ANA, chat=GROUP)
    assert bot.texts(GROUP) == [texts.PRIVATE_ONLY]


async def test_group_subscribe_button_answers_non_admins_privately(bot: Harness) -> None:
    """A non-admin pressing Get updates in a group gets an alert; the group hears nothing."""
    await bot.press(f"sub:{KEY}", user=ANA, chat=GROUP)
    assert bot.texts(GROUP) == []
    assert bot.answers()[-1].params["text"] == texts.GROUP_ADMINS_ONLY
    assert not await bot.storage.is_subscribed(GROUP, "rafah")
    bot.api.member_status[(GROUP, BEN)] = "administrator"
    await bot.press(f"sub:{KEY}", user=BEN, chat=GROUP)
    assert await bot.storage.is_subscribed(GROUP, "rafah")
    assert bot.texts(GROUP)[-1].startswith("This group will get updates")


async def test_group_chatter_does_not_trip_the_flood_guard(bot: Harness) -> None:
    """Ordinary group messages are not counted; only commands and presses are."""
    for _ in range(20):
        await bot.command("hello everyone", user=ANA, chat=GROUP, chat_type="supergroup")
    await bot.command("/slogans", user=ANA, chat=GROUP, chat_type="supergroup")
    assert len(bot.texts(GROUP)) == 1
    assert "Free Palestine!" in bot.texts(GROUP)[0]
