"""A fake Telegram Bot API over real HTTP: the LocalBotAPI served by aiohttp on loopback."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web

from bot.preview.local_api import LocalBotAPI
from bot.preview.messages import Upload
from bot.preview.refusals import ApiError

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class FakeTelegram:
    """Serves `/bot<token>/<method>` like api.telegram.org, with faults the tests inject."""

    def __init__(self, token: str = TOKEN, *, poll_cap: float = 1.0) -> None:
        self.token = token
        self.api = LocalBotAPI()
        self.api.poll_cap = poll_cap
        self.latency = 0.0  # seconds added to every answer, to let calls overlap
        self.slow_methods: set[str] | None = None  # only these get the latency (None: all)
        self.received: list[str] = []  # every method asked for, as it arrived
        # While `gate` is clear, sendMessage calls to these chats wait before being answered:
        # a test makes "some copies are in flight" certain instead of likely.
        self.gate = asyncio.Event()
        self.gate.set()
        self.gated_chats: frozenset[int] = frozenset()
        self.at_gate = 0  # calls waiting at the gate now
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Return the server's root, the value for TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Return the value for PTB's `base_url`, to which PTB appends the token."""
        return f"{self.url}/bot"

    async def start(self) -> None:
        """Listen on a free loopback port (after a stop, on the same port again)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)  # Telegram's upload limit is 50 MB
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        params = await _params(request)
        self.received.append(request.match_info["method"])
        method = request.match_info["method"]
        if self.latency and (self.slow_methods is None or method in self.slow_methods):
            await asyncio.sleep(self.latency)
        if method == "sendMessage" and _chat_id(params) in self.gated_chats:
            self.at_gate += 1
            try:
                await self.gate.wait()
            finally:
                self.at_gate -= 1
        try:
            result = await self.api.call(request.match_info["method"], params)
        except ApiError as error:
            return web.json_response(error.to_json(), status=error.code)
        return web.json_response({"ok": True, "result": result})


def _chat_id(params: dict[str, Any]) -> int | None:
    """Return a call's numeric chat_id, if it has one."""
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


async def _params(request: web.Request) -> dict[str, Any]:
    """Read a request's parameters from its query and its JSON, form or multipart body."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(json.loads(await request.text() or "{}"))
    elif request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            assert isinstance(part, BodyPartReader)  # PTB never nests multiparts
            if part.filename:
                params[str(part.name)] = Upload(part.filename, bytes(await part.read()))
            else:
                params[str(part.name)] = await part.text()
    elif request.can_read_body:
        params.update({key: str(value) for key, value in (await request.post()).items()})
    return params
