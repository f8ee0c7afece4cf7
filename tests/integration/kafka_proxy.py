"""A loopback proxy in front of a Kafka broker, so a test can make Kafka unreachable for one
client without stopping the shared broker.

A Kafka client only bootstraps through the address it is given: the metadata answer names
the broker's advertised listener, and the client connects there next. This proxy rewrites
that address (host and port, same length, in every response frame) to its own, so every
connection of the client goes through it and :meth:`outage` cuts them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

from harness.tcp_proxy import TcpProxy, pipe


class KafkaProxy(TcpProxy):
    """Forwards ``127.0.0.1:<port>`` to a single broker whose advertised listener is
    ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        host = target_host.encode()
        self._advertised = host + struct.pack(">i", target_port)
        self._ours = host + struct.pack(">i", self.port)

    @classmethod
    def for_bootstrap(cls, bootstrap: str) -> KafkaProxy:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        return cls(host, int(port))

    async def _relay(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_r: asyncio.StreamReader,
        server_w: asyncio.StreamWriter,
    ) -> None:
        await asyncio.gather(pipe(client_r, server_w), self._responses(server_r, client_w))

    async def _responses(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Kafka frames: a 4-byte big-endian size, then the response. Rewriting whole frames
        # means an address is never split across two reads.
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            while True:
                size = await reader.readexactly(4)
                frame = await reader.readexactly(int.from_bytes(size, "big"))
                writer.write(size + frame.replace(self._advertised, self._ours))
                await writer.drain()
        writer.transport.abort()
