"""The HTTP transport to the Bot API: python-telegram-bot's BaseRequest over aiohttp.

python-telegram-bot ships an httpx transport. Measured on this project's 2-core machine against
the same loopback server, httpx spends about 2.5 ms of CPU per request and tops out near 400
requests a second; aiohttp spends about 0.2 ms. Paid broadcasts go out at up to 1,000 messages
a second, so the bot talks to Telegram through aiohttp (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import json

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0


class Unreachable(NetworkError):
    """Telegram could not be reached: the request never left, so sending it again is safe."""


def parse_answer(payload: bytes) -> JSONDict:
    """Parse Telegram's answer; one that is not JSON is reported by size, never by content.

    (PTB's own parse_json_payload logs the whole answer, and answers hold people's messages.)
    """
    try:
        answer: JSONDict = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        raise TelegramError(f"Invalid server response ({len(payload)} bytes)") from None
    return answer


class AiohttpRequest(BaseRequest):
    """Sends the Bot API's requests through one aiohttp session with a connection pool."""

    parse_json_payload = staticmethod(parse_answer)

    def __init__(self, connection_pool_size: int = 256, read_timeout: float = READ_TIMEOUT):
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        """Return the default read timeout; PTB adds it to getUpdates' long-polling timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (sessions bind to the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request and return Telegram's status code and body."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        fields = request_data.json_parameters if request_data else {}
        body: aiohttp.FormData | dict[str, str] = fields
        if files:
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            for name, upload in files.items():
                filename, content = upload[0], upload[1]
                content_type = upload[2] if len(upload) > 2 else None
                form.add_field(name, content, filename=filename, content_type=content_type)
            body = form
        read = _value(read_timeout, self._read_timeout)
        write = _value(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        pool = _value(pool_timeout, POOL_TIMEOUT)
        connect = _value(connect_timeout, CONNECT_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            # aiohttp has no write timeout of its own: the whole request gets read + write.
            total=None if read is None or write is None else read + write,
            connect=None if pool is None or connect is None else pool + connect,
            sock_read=read,
        )
        headers = {"User-Agent": self.USER_AGENT}
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:  # a TimeoutError, but nothing was sent
            raise Unreachable(f"aiohttp.ConnectionTimeoutError: {error}") from error
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientConnectorError as error:  # refused, no route, name not found
            raise Unreachable(f"aiohttp.{type(error).__name__}: {error}") from error
        except aiohttp.ClientError as error:
            # The class name says most when the message is empty.
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


class WrappedRequest(BaseRequest):
    """A transport that wraps another: what it adds is in its `do_request`."""

    parse_json_payload = staticmethod(parse_answer)

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        """Return the wrapped transport's read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Initialize the wrapped transport."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Shut the wrapped transport down."""
        await self.inner.shutdown()


def _value(given: ODVInput[float], default: float) -> float | None:
    """Return a timeout passed to a bot method (None: no limit), or the default if none was."""
    if isinstance(given, DefaultValue):
        return default
    return None if given is None else float(given)
