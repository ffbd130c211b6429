"""The desk's API over HTTP, with initData signed here as Telegram signs it: who gets in, and
the numbers it gives, which are the chat's."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import texts
from bot.config import Webhook
from bot.desk.api import desk_app
from bot.server.webhook import web_app
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, Harness, serving, until
from .fake_telegram import FakeTelegram
from .test_cli import RunningBot
from .test_desk_auth import USER, telegram_init_data
from .test_webhook import free_port

OUTSIDER = 555


def init_data(user_id: int = ADMIN, language: str = "en", at: dt.datetime | None = None) -> str:
    """Return initData Telegram would give `user_id` opening the desk at `at` (now)."""
    moment = at or dt.datetime.now(dt.UTC)
    user = USER.replace('"id":42', f'"id":{user_id}').replace('"ar"', f'"{language}"')
    return telegram_init_data(
        {
            "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
            "user": user,
            "auth_date": str(int(moment.timestamp())),
            "signature": "c2lnbmVk",
        }
    )


@dataclasses.dataclass
class Desk:
    """The bot, and its desk served on loopback."""

    bot: Harness
    url: str
    session: aiohttp.ClientSession

    async def get(self, path: str, credential: str | None) -> tuple[int, Any, Any]:
        """GET a desk path with `Authorization: tma <credential>`; return status, JSON (or
        text) and headers."""
        headers = {} if credential is None else {"Authorization": f"tma {credential}"}
        async with self.session.get(self.url + path, headers=headers) as answer:
            body = await answer.text()
            is_json = answer.content_type == "application/json"
            return answer.status, json.loads(body) if is_json else body, answer.headers


@contextlib.asynccontextmanager
async def desk_of(bot: Harness) -> AsyncIterator[Desk]:
    """Serve the desk of a running bot under /desk/ on a free loopback port."""
    app = web.Application()
    app.add_subapp("/desk/", desk_app(bot.application))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            yield Desk(bot, f"http://127.0.0.1:{port}/desk/", session)
    finally:
        await runner.cleanup()


@pytest.fixture
async def desk(storage: Storage) -> AsyncIterator[Desk]:
    """The bot with ADMIN as its organizer, and its desk."""
    async with serving(storage) as bot, desk_of(bot) as served:
        yield served


async def test_an_organizer_opening_the_desk_is_known(desk: Desk) -> None:
    """Signed initData of an organizer opens the API: who they are, the campaigns, no cache."""
    status, body, headers = await desk.get("api/me", init_data())
    assert status == 200
    assert body["id"] == ADMIN
    assert body["direction"] == "ltr"
    assert [c["id"] for c in body["campaigns"]] == [
        c.id for c in desk.bot.application.bot_data["services"].content
    ]
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors https://web.telegram.org" in headers["Content-Security-Policy"]


async def test_the_desk_speaks_the_organizers_language(desk: Desk) -> None:
    """An organizer whose Telegram is in Arabic gets the desk right to left."""
    status, body, _headers = await desk.get("api/me", init_data(language="ar"))
    assert (status, body["language"], body["direction"]) == (200, "ar", "rtl")


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        (None, "no initData"),
        ("", "no initData"),
        ("user=%7B%7D&auth_date=1&hash=00", "not signed by this bot"),
    ],
    ids=["no header", "empty", "forged"],
)
async def test_a_call_without_telegrams_signature_is_refused(
    desk: Desk, credential: str | None, reason: str
) -> None:
    """No initData, or initData Telegram did not sign: 401 with the reason, and no data."""
    status, body, _headers = await desk.get("api/overview", credential)
    assert status == 401
    assert body["error"] == "unauthorized"
    assert reason in body["reason"]
    assert body["message"] == texts.DESK_OPEN_AGAIN
    assert set(body) == {"error", "reason", "message"}


async def test_tampered_or_expired_initdata_is_refused(desk: Desk) -> None:
    """Another user's id in signed initData, or initData older than an hour: 401."""
    tampered = init_data(OUTSIDER).replace(f"%22id%22%3A{OUTSIDER}", f"%22id%22%3A{ADMIN}")
    status, body, _ = await desk.get("api/me", tampered)
    assert (status, body["reason"]) == (401, "initData is not signed by this bot")
    old = init_data(at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1, minutes=1))
    status, body, _ = await desk.get("api/me", old)
    assert status == 401
    assert "expired" in body["reason"]


async def test_someone_who_is_not_an_organizer_sees_a_refusal_and_no_data(desk: Desk) -> None:
    """Signed by Telegram, but not in BOT_ADMINS: 403 on every call, nothing else."""
    await desk.bot.command("/subscribe", user=ANA)
    for path in ("api/me", "api/overview", "api/broadcasts"):
        status, body, _ = await desk.get(path, init_data(OUTSIDER))
        assert status == 403
        assert body == {
            "error": "forbidden",
            "reason": "not in BOT_ADMINS",
            "message": texts.DESK_NOT_ORGANIZER,
        }


async def test_an_organizer_removed_since_loses_the_desk_at_once(desk: Desk) -> None:
    """The same initData that opened the desk is refused once its organizer is not one."""
    credential = init_data()
    assert (await desk.get("api/overview", credential))[0] == 200
    services = desk.bot.application.bot_data["services"]
    services.config = dataclasses.replace(services.config, admins=frozenset({BEN}))
    status, body, _ = await desk.get("api/overview", credential)
    assert (status, body["error"]) == (403, "forbidden")


async def test_the_overview_counts_what_stats_counts(desk: Desk) -> None:
    """Subscribers, sources, languages and today's joins in the desk are /stats' numbers."""
    bot = desk.bot
    await bot.command("/start rafah-flyer", user=ANA)
    await bot.command("/subscribe", user=ANA)
    await bot.command("/subscribe", user=BEN, language_code="es")
    await bot.command("/subscribe", user=ADMIN)
    await bot.command("/unsubscribe", user=ADMIN)
    status, overviews, _ = await desk.get("api/overview", init_data())
    assert status == 200
    (rafah,) = [o for o in overviews if o["campaign_id"] == "rafah"]
    assert (rafah["private"], rafah["groups"], rafah["unsubscribed"]) == (2, 0, 1)
    assert rafah["net_7_days"] == rafah["net_30_days"] == 2  # 3 joined, 1 left
    assert rafah["days"][-1]["joins"] == 3
    assert rafah["days"][-1]["leaves"] == 1
    assert len(rafah["days"]) == 30
    assert {s["source"]: s["active"] for s in rafah["sources"]}["flyer"] == 1
    assert sorted(count for _name, count in rafah["languages"]) == [1, 1]
    assert [p[1] for p in rafah["pledges"]] == [0] * len(rafah["pledges"]) != []
    await bot.command("/stats", user=ADMIN)
    line = texts.STATS_LINE.format(
        campaign="rafah",
        private=rafah["private"],
        groups=rafah["groups"],
        new=rafah["new_last_7_days"],
        unsubscribed=rafah["unsubscribed"],
        blocked=rafah["blocked"],
    )
    assert any(line in sent for sent in bot.texts(ADMIN))


async def test_the_broadcasts_listed_are_those_of_the_chat(desk: Desk) -> None:
    """A broadcast sent from the chat is in the desk's list: sent of total, rate, no failures."""
    bot = desk.bot
    for person in (ANA, BEN):
        await bot.command("/subscribe", user=person)
    await bot.command("/broadcast rafah Strike on Monday", user=ADMIN)
    send = bot.buttons(ADMIN)[texts.BUTTON_SEND]
    await bot.press(send, user=ADMIN, message_id=int(bot.last(ADMIN)["message_id"]))
    await bot.settle()
    status, listed, _ = await desk.get("api/broadcasts", init_data())
    assert status == 200
    (first,) = listed
    assert (first["broadcast_id"], first["state"], first["sent"], first["total"]) == (
        1,
        "done",
        2,
        2,
    )
    assert first["failures"] == []
    assert first["approved_by"] is None
    assert first["rate"] > 0
    assert first["correctable"] is True
    await bot.command("/broadcasts", user=ADMIN)
    assert "#1 <b>rafah</b>" in bot.texts(ADMIN)[-1]


async def test_the_page_and_its_files_keep_to_their_own_origin(desk: Desk) -> None:
    """The page needs no credential, loads Telegram's script, and says where it may load from."""
    status, page, headers = await desk.get("", None)
    assert status == 200
    assert '<script src="https://telegram.org/js/telegram-web-app.js"></script>' in page
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self' https://telegram.org;" in policy
    assert "default-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, _script, headers = await desk.get("static/desk.js", None)
    assert status == 200
    assert headers["Content-Type"].startswith(("text/javascript", "application/javascript"))


DESK_URL = "https://bot.example.org/desk/"


async def test_organizers_get_the_dashboard_button_and_lose_it_when_they_stop(
    storage: Storage,
) -> None:
    """Each organizer's chat gets a Dashboard menu button opening the desk, nobody else's; a
    bot started later without them takes it back."""
    async with serving(storage, desk_url=DESK_URL, admins=frozenset({ADMIN, BEN})) as bot:
        buttons = bot.api.menu_buttons
        for organizer in (ADMIN, BEN):
            assert buttons[organizer] == {
                "type": "web_app",
                "text": texts.DASHBOARD_BUTTON,
                "web_app": {"url": DESK_URL},
            }
        assert ANA not in buttons
        assert None not in buttons  # everyone else keeps Telegram's default
    async with serving(storage, desk_url=DESK_URL, admins=frozenset({BEN})) as bot:
        assert bot.api.menu_buttons[ADMIN] == {"type": "default"}
        assert bot.api.menu_buttons[BEN]["type"] == "web_app"
        actions = [(who, action) for who, action, *_ in await bot.storage.audit_log()]
    assert actions.count((ADMIN, "desk_menu_set")) == 1
    assert actions.count((BEN, "desk_menu_set")) == 1  # given once, not at every start
    assert (ADMIN, "desk_menu_removed") in actions
    async with serving(storage, admins=frozenset({BEN})) as bot:  # the desk turned off
        assert bot.api.menu_buttons[BEN] == {"type": "default"}


async def test_the_dashboard_button_speaks_the_organizers_language(storage: Storage) -> None:
    """The menu button is labelled in the language an organizer chose with /language, else in
    the one their /dashboard came in; choosing another relabels it."""
    await storage.set_language(BEN, "ar")
    admins = frozenset({ADMIN, BEN})
    async with serving(storage, desk_url=DESK_URL, admins=admins) as bot:
        assert bot.api.menu_buttons[BEN]["text"] == "لوحة التحكم"
        assert bot.api.menu_buttons[ADMIN]["text"] == "Dashboard"
        await bot.command("/dashboard", user=ADMIN, language_code="es")
        assert bot.api.menu_buttons[ADMIN]["text"] == "Panel"
        assert bot.last(ADMIN)["reply_markup"]["inline_keyboard"][0][0]["text"] == "Panel"
        await bot.press("lang:auto", user=BEN, language_code="es")
        assert bot.api.menu_buttons[BEN]["text"] == "Panel"
        await bot.press("lang:ar", user=ANA)  # not an organizer: no button for them
        assert ANA not in bot.api.menu_buttons
        actions = [(who, action) for who, action, *_ in await bot.storage.audit_log()]
    assert actions.count((ADMIN, "desk_menu_set")) == 1  # relabelled, not given again


async def test_dashboard_answers_with_a_button_that_opens_the_desk(storage: Storage) -> None:
    """/dashboard gives an organizer an inline web_app button (which carries initData); without
    DESK_URL it says the desk is off; to anyone else it is an organizer command refused."""
    async with serving(storage, desk_url=DESK_URL) as bot:
        await bot.command("/dashboard", user=ADMIN)
        markup = bot.last(ADMIN)["reply_markup"]
        assert markup["inline_keyboard"] == [
            [{"text": texts.DASHBOARD_BUTTON, "web_app": {"url": DESK_URL}}]
        ]
        await bot.command("/dashboard", user=ANA)
        assert bot.texts(ANA) == [texts.NOT_ADMIN]
    async with serving(storage) as bot:
        await bot.command("/dashboard", user=ADMIN)
        assert bot.texts(ADMIN)[-1] == texts.DASHBOARD_OFF


async def test_run_serves_the_desk_on_its_own_port_when_polling(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`python -m bot run` with DESK_URL, polling: the desk on DESK_LISTEN:DESK_PORT, the
    organizer let in and given the menu button, an outsider refused."""
    port = free_port()
    bot = RunningBot(telegram, tmp_path)
    bot.env.update({"DESK_URL": DESK_URL, "DESK_PORT": str(port)})
    await bot.start()
    try:
        await until(lambda: ADMIN in telegram.api.menu_buttons, "the menu button")
        base = f"http://127.0.0.1:{port}/desk/"
        async with aiohttp.ClientSession() as session:
            async with session.get(base) as answer:
                assert answer.status == 200
                assert "telegram-web-app.js" in await answer.text()
            for user, status in ((ADMIN, 200), (OUTSIDER, 403)):
                headers = {"Authorization": f"tma {init_data(user)}"}
                async with session.get(base + "api/me", headers=headers) as answer:
                    assert answer.status == status
    finally:
        assert await bot.stop() == 0
    assert telegram.api.menu_buttons[ADMIN]["web_app"] == {"url": DESK_URL}


async def test_the_webhook_serves_the_desk_beside_it(storage: Storage) -> None:
    """With a webhook and DESK_URL, the desk is at /desk/ on the webhook's own port."""
    webhook = Webhook("https://bot.example.org/telegram", "s" * 32)
    async with serving(storage, desk_url=DESK_URL, webhook=webhook) as bot:
        server = TestServer(web_app(bot.application, webhook))
        async with TestClient(server) as client:
            answer = await client.get("/desk/api/me", headers={"Authorization": "tma x=1"})
            assert answer.status == 401
            signed = {"Authorization": f"tma {init_data()}"}
            answer = await client.get("/desk/api/me", headers=signed)
            assert answer.status == 200
            assert (await answer.json())["id"] == ADMIN


async def post(desk: Desk, path: str, body: object, credential: str | None = None) -> Any:
    """POST JSON to the desk as the organizer (or `credential`); return status and JSON."""
    headers = {"Authorization": f"tma {credential or init_data()}"}
    async with desk.session.post(desk.url + path, json=body, headers=headers) as answer:
        return answer.status, await answer.json()


async def test_a_broadcast_composed_and_sent_in_the_desk_is_the_chats(desk: Desk) -> None:
    """Compose, test and send in the desk: each subscriber gets it once, the organizer's chat
    shows its progress, and the audit log says what the chat's buttons would have."""
    bot = desk.bot
    await subscribe_all(bot, ANA, BEN)
    status, prepared = await post(
        desk, "api/broadcasts", {"campaign": "rafah", "text": "Strike on <b>Monday</b>"}
    )
    assert status == 200
    assert (prepared["count"], prepared["messages"]) == (2, 1)
    (version,) = prepared["versions"]
    assert (version["readers"], version["parts"]) == (2, ["Strike on <b>Monday</b>"])
    number = prepared["broadcast_id"]
    status, tested = await post(desk, f"api/broadcasts/{number}/test", {})
    assert (status, tested) == (200, {"failed": []})
    test = [texts.TEST_SENT.format(id=number), "Strike on <b>Monday</b>"]
    assert bot.texts(ADMIN)[-2:] == test
    before = len(bot.sent_to(ADMIN))
    status, sent = await post(desk, f"api/broadcasts/{number}/send", {})
    assert status == 200
    assert (sent["outcome"], sent["total"]) == ("queued", 2)
    await bot.settle()
    assert [bot.texts(p).count("Strike on <b>Monday</b>") for p in (ANA, BEN)] == [1, 1]
    (status_message,) = bot.sent_to(ADMIN)[before:]  # in the organizer's chat, then edited
    report = await bot.report(ADMIN, int(status_message["message_id"]))
    assert f"#{number}" in report
    status, again = await post(desk, f"api/broadcasts/{number}/send", {})
    assert (status, again["message"]) == (409, texts.BROADCAST_ALREADY)
    actions = [a for who, a, *_ in await bot.storage.audit_log() if who == ADMIN]
    assert actions[:3] == ["broadcast_send", "broadcast_test", "broadcast_preview"]


async def subscribe_all(bot: Harness, *people: int) -> None:
    for person in people:
        await bot.command("/subscribe", user=person)


async def test_the_desk_refuses_in_the_chats_words(desk: Desk) -> None:
    """Nobody to send to, an unknown topic, a bad time, an empty text: the chat's sentences."""
    bot = desk.bot
    status, body = await post(desk, "api/broadcasts", {"campaign": "rafah", "text": "Hi"})
    no_one = texts.BROADCAST_NO_RECIPIENTS.format(campaign="rafah")
    assert (status, body["message"]) == (409, no_one)
    await bot.command("/broadcast rafah Hi", user=ADMIN)
    assert bot.texts(ADMIN)[-1] == no_one
    await subscribe_all(bot, ANA)
    status, body = await post(
        desk, "api/broadcasts", {"campaign": "rafah", "text": "Hi", "topic": "nope"}
    )
    await bot.command("/broadcast rafah topic:nope Hi", user=ADMIN)
    assert (status, body["message"]) == (409, bot.texts(ADMIN)[-1])
    status, body = await post(
        desk, "api/broadcasts", {"campaign": "rafah", "text": "Hi", "schedule": "at 25:99"}
    )
    await bot.command("/broadcast rafah at 25:99 Hi", user=ADMIN)
    assert (status, body["message"]) == (409, bot.texts(ADMIN)[-1])
    status, body = await post(desk, "api/broadcasts", {"campaign": "rafah", "text": "  "})
    assert (status, body["message"]) == (409, texts.DESK_EMPTY)
    status, body = await post(desk, "api/broadcasts", {"campaign": "nope", "text": "Hi"})
    assert (status, body["message"]) == (400, texts.DESK_NO_CAMPAIGN)
    async with desk.session.post(
        desk.url + "api/broadcasts",
        data="not json",
        headers={"Authorization": f"tma {init_data()}"},
    ) as answer:
        assert answer.status == 400
    status, body = await post(
        desk, "api/broadcasts", {"campaign": "rafah", "text": "Hi"}, init_data(OUTSIDER)
    )
    assert (status, body["error"]) == (403, "forbidden")
    assert await bot.storage.recent_broadcasts() == []  # nothing was confirmed


async def test_a_big_send_from_the_desk_waits_for_a_colleague_in_the_chat(
    storage: Storage,
) -> None:
    """Above APPROVAL_THRESHOLD, Send in the desk asks the other organizer in their chat; their
    Approve there sends it."""
    settings = {"admins": frozenset({ADMIN, BEN}), "approval_threshold": 1}
    async with serving(storage, **settings) as bot, desk_of(bot) as desk:
        await subscribe_all(bot, ANA, 3001)
        _, prepared = await post(desk, "api/broadcasts", {"campaign": "rafah", "text": "Big"})
        number = prepared["broadcast_id"]
        status, sent = await post(desk, f"api/broadcasts/{number}/send", {})
        assert (status, sent["outcome"], sent["total"]) == (200, "held", 2)
        ask = texts.APPROVAL_ASK.format(
            who=f"Ana ({ADMIN})",
            id=number,
            count=2,
            campaign="rafah",  # as Telegram names them
        )
        assert bot.texts(BEN)[-1] == ask
        await bot.press(f"ap:yes:{number}", user=BEN, message_id=int(bot.last(BEN)["message_id"]))
        await bot.settle()
        assert bot.texts(ANA).count("Big") == 1
        _, listed, _headers = await desk.get("api/broadcasts", init_data())
        assert (listed[0]["approved_by"], listed[0]["state"]) == (BEN, "done")


async def test_a_scheduled_broadcast_is_stopped_from_the_desk(desk: Desk) -> None:
    """Scheduled in the desk ("in 2h"), it is listed as scheduled, and Stop unschedules it."""
    await subscribe_all(desk.bot, ANA)
    _, prepared = await post(
        desk, "api/broadcasts", {"campaign": "rafah", "text": "Later", "schedule": "in 2h"}
    )
    number = prepared["broadcast_id"]
    assert prepared["send_at"] is not None
    _, sent = await post(desk, f"api/broadcasts/{number}/send", {})
    assert sent["outcome"] == "scheduled"
    _, listed, _headers = await desk.get("api/broadcasts", init_data())
    assert listed[0]["state"] == "scheduled"
    status, stopped = await post(desk, f"api/broadcasts/{number}/stop", {})
    assert (status, stopped["message"]) == (200, texts.UNSCHEDULED.format(id=number))
    status, again = await post(desk, f"api/broadcasts/{number}/stop", {})
    assert (status, again["message"]) == (409, texts.BROADCAST_ALREADY)
    assert desk.bot.texts(ANA).count("Later") == 0


async def test_a_colleagues_broadcast_is_approved_or_rejected_in_the_desk(
    storage: Storage,
) -> None:
    """A big broadcast sent from the chat waits; its author cannot approve it in the desk (the
    chat's words), a colleague can, once; another one rejected there is never sent."""
    settings = {"admins": frozenset({ADMIN, BEN}), "approval_threshold": 1}
    async with serving(storage, **settings) as bot, desk_of(bot) as desk:
        await subscribe_all(bot, ANA, 3001)
        asks = []
        for text in ("First", "Second"):
            await bot.command(f"/broadcast rafah {text}", user=ADMIN)
            preview = int(bot.last(ADMIN)["message_id"])
            await bot.press(bot.buttons(ADMIN)[texts.BUTTON_SEND], user=ADMIN, message_id=preview)
            asks.append(bot.api.messages[(BEN, int(bot.last(BEN)["message_id"]))])
        assert all("reply_markup" in ask for ask in asks)  # Approve / Reject, in BEN's chat
        _, listed, _headers = await desk.get("api/broadcasts", init_data())
        assert [(b["broadcast_id"], b["state"]) for b in listed] == [
            (2, "awaiting"),
            (1, "awaiting"),
        ]
        status, own = await post(desk, "api/broadcasts/1/approve", {})
        assert (status, own["message"]) == (409, texts.APPROVAL_OWN)
        ben = init_data(BEN)
        status, approved = await post(desk, "api/broadcasts/1/approve", {}, ben)
        assert (status, approved["message"]) == (200, texts.APPROVED_BY_YOU.format(id=1, total=2))
        status, again = await post(desk, "api/broadcasts/1/approve", {}, ben)
        assert (status, again["message"]) == (409, texts.BROADCAST_ALREADY)
        status, rejected = await post(desk, "api/broadcasts/2/reject", {}, ben)
        assert (status, rejected["message"]) == (200, texts.REJECTED_BY_YOU.format(id=2))
        await bot.settle()
        assert (bot.texts(ANA).count("First"), bot.texts(ANA).count("Second")) == (1, 0)
        # Decided in the desk: BEN's chat no longer offers the buttons, and says what became.
        who = f"Ana ({BEN})"
        assert [(ask["text"], "reply_markup" in ask) for ask in asks] == [
            (texts.APPROVED_NOTICE.format(id=1, who=who, total=2), False),
            (texts.REJECTED_NOTICE.format(id=2, who=who), False),
        ]
        actions = [(who, a) for who, a, *_ in await bot.storage.audit_log()]
        assert (BEN, "broadcast_approve") in actions
        assert (BEN, "broadcast_reject") in actions
