"""Transport bench: python-telegram-bot's sendMessage through httpx (its default) and aiohttp.

The fake Bot API (no limits) runs in this process; each client runs in its own process, sends
`--requests` messages through `telegram.Bot` with `--concurrency` at once, and reports its own
wall time and CPU time. Side by side, `--runs` times each, medians printed:

    python bench/transport.py --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median
from bench.telegram_limits import LimitedTelegram, Limits

TRANSPORTS = ("httpx", "aiohttp")


async def _client(url: str, transport: str, requests: int, concurrency: int) -> None:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.delivery.http import AiohttpRequest
    from tests.fake_telegram import TOKEN

    request = (
        HTTPXRequest(connection_pool_size=concurrency)
        if transport == "httpx"
        else AiohttpRequest(concurrency)
    )
    chat_ids = iter(range(1, requests + 1))
    async with Bot(TOKEN, base_url=f"{url}/bot", request=request) as bot:

        async def worker() -> None:
            for chat_id in chat_ids:
                await bot.send_message(chat_id, f"Transport test {chat_id}")

        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(f"{wall:.6f} {cpu_seconds:.6f}")


async def _measure(transport: str, requests: int, concurrency: int) -> tuple[float, float]:
    """Return (messages per second, CPU ms per message) of one client run."""
    unlimited = Limits(rate=1e9, paid_rate=1e9)
    async with LimitedTelegram(limits=unlimited) as telegram:
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client",
            telegram.url,
            "--transport",
            transport,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            stdout=subprocess.PIPE,
        )
        out, _ = await client.communicate()
        if client.returncode != 0:
            raise SystemExit(f"the {transport} client failed")
        served = sum(len(arrivals) for arrivals in telegram.by_text.values())
        assert served == requests, (transport, served, requests)
    wall, cpu = (float(value) for value in out.decode().split())
    return requests / wall, cpu / requests * 1000


def main() -> int:
    """Compare the transports, or (with --client) be one client."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--transport", choices=TRANSPORTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(_client(args.client, args.transport, args.requests, args.concurrency))
        return 0
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in TRANSPORTS}
    for run in range(1, args.runs + 1):
        for name in TRANSPORTS:  # side by side in each run
            rate, cpu_ms = asyncio.run(_measure(name, args.requests, args.concurrency))
            results[name].append((rate, cpu_ms))
            print(f"run {run} {name}: {rate:.0f} msg/s, {cpu_ms:.2f} ms CPU per message")
    for name in TRANSPORTS:
        rates = [rate for rate, _ in results[name]]
        cpus = [cpu for _, cpu in results[name]]
        print(
            f"{name}: median {median(rates):.0f} msg/s, {median(cpus):.2f} ms CPU per message "
            f"({args.requests} sendMessage, {args.concurrency} at once, {args.runs} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
