"""The /metrics page for Prometheus, beside the webhook or on its own port when polling; and
the one way our own ports are listened on."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from aiohttp import web

from bot.metrics import exposition


class PortError(Exception):
    """A port of ours (/metrics, the desk) cannot be listened on; says which and why."""


async def metrics_page(request: web.Request) -> web.Response:
    """Answer a scrape with every metric, in Prometheus' text format."""
    body, content_type = exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def metrics_app() -> web.Application:
    """Return /metrics alone, for its own port."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_page)
    return app


@contextlib.asynccontextmanager
async def serving_metrics(listen: str, port: int) -> AsyncIterator[None]:
    """Serve /metrics on `listen`:`port` while in the block, or raise PortError."""
    settings = "METRICS_LISTEN and METRICS_PORT, or unset METRICS_PORT"
    async with serving_site(metrics_app(), listen, port, "/metrics", settings):
        yield


@contextlib.asynccontextmanager
async def serving_site(
    app: web.Application, listen: str, port: int, purpose: str, settings: str
) -> AsyncIterator[None]:
    """Serve `app` on `listen`:`port` while in the block, or raise PortError naming the
    `settings` to change."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, listen, port).start()
        except OSError as error:
            raise PortError(
                f"cannot listen on {listen}:{port} for {purpose}: {_reason(error)} "
                f"(set {settings})"
            ) from None
        yield
    finally:
        await runner.cleanup()


def _reason(error: OSError) -> str:
    """Return why a port cannot be listened on, e.g. "Address already in use"."""
    # asyncio words a bind error as "error while attempting to bind on address ...".
    if error.errno is not None and error.errno > 0:
        return os.strerror(error.errno)
    return error.strerror or str(error)  # a host name that does not resolve
