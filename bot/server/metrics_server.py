"""The /metrics page for Prometheus: beside the webhook, or on its own port when polling."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from aiohttp import web

from bot.metrics import exposition


class MetricsPortError(Exception):
    """The metrics port cannot be listened on; says which and why."""


async def metrics_page(request: web.Request) -> web.Response:
    """Answer a scrape with every metric, in Prometheus' text format."""
    body, content_type = exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


@contextlib.asynccontextmanager
async def serving_metrics(listen: str, port: int) -> AsyncIterator[None]:
    """Serve /metrics on `listen`:`port` while in the block, or raise MetricsPortError."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, listen, port).start()
        except OSError as error:
            raise MetricsPortError(
                f"cannot listen on {listen}:{port} for /metrics: {_reason(error)} "
                "(set METRICS_LISTEN and METRICS_PORT, or unset METRICS_PORT)"
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
