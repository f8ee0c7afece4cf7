"""A loopback TCP proxy that can make a server unreachable without stopping it.

``outage()`` closes every open connection (both sides) and the listening socket, so
clients see their sessions drop and new connections refused; ``recover()`` listens on the
same port again. The shared PostgreSQL server keeps running for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from harness.children import free_port
from leadsync.settings import Settings

T = TypeVar("T")
_CHUNK = 64 * 1024


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port`` from its own thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.connections_accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.recover()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.outage()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def outage(self) -> int:
        """Drop every connection and refuse new ones until :meth:`recover`; how many dropped."""
        return self._run(self._outage())

    def recover(self) -> None:
        """Listen on the same port again."""
        self._run(self._listen())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is None:
            # asyncio sets SO_REUSEADDR, so the port is free again right after an outage.
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _outage(self) -> int:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        dropped = len(self._writers) // 2  # a client side and a server side each
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        return dropped

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        pair = {client_w, server_w}
        self._writers |= pair
        try:
            await self._relay(client_r, client_w, server_r, server_w)
        finally:
            for writer in pair:
                writer.transport.abort()
            self._writers -= pair

    async def _relay(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_r: asyncio.StreamReader,
        server_w: asyncio.StreamWriter,
    ) -> None:
        """Copy bytes both ways until either side closes; subclasses may rewrite them."""
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes from ``reader`` to ``writer`` until either side closes, then drop ``writer``."""
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


def database_through(settings: Settings, proxy: TcpProxy) -> Settings:
    """The settings with PostgreSQL reached through ``proxy`` (same user, password and
    database; the app role's login follows the URL's address)."""
    url = urlsplit(settings.database_conninfo())
    credentials, _, _ = url.netloc.rpartition("@")
    address = f"127.0.0.1:{proxy.port}"
    netloc = f"{credentials}@{address}" if credentials else address
    return settings.model_copy(
        update={"database_url": SecretStr(urlunsplit(url._replace(netloc=netloc)))}
    )
