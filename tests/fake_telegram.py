"""A fake Telegram Bot API over real HTTP: the LocalBotAPI served by aiohttp on loopback."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.local_api import ApiError, LocalBotAPI, jsonable

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class FakeTelegram:
    """Serves `/bot<token>/<method>` like api.telegram.org, with faults the tests inject."""

    def __init__(self, token: str = TOKEN, *, poll_cap: float = 1.0) -> None:
        self.token = token
        self.api = LocalBotAPI()
        self.poll_cap = poll_cap
        self.latency = 0.0
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Return the value for TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

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

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.filename:  # type: ignore[union-attr]
                    params[part.name] = (part.filename, bytes(await part.read()))  # type: ignore[union-attr]
                else:
                    params[part.name] = await part.text()  # type: ignore[union-attr]
        elif request.can_read_body:
            params.update(await request.post())
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if request.match_info["token"] != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        if method.lower() == "getupdates":
            await self.api.wait_for_updates(min(float(params.get("timeout") or 0), self.poll_cap))
        try:
            result = await self.api.call(method, params)
        except ApiError as error:
            return web.json_response(error.to_json(), status=error.code)
        return web.json_response({"ok": True, "result": jsonable(result)})
