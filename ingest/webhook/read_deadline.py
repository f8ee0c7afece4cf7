"""uvicorn's HTTP/1.1 protocol with a deadline on reading each request.

uvicorn closes a connection that stays idle after an answer (``timeout_keep_alive``) but
waits forever for a request that arrives slowly: headers a byte at a time, or a body that
never ends (a slowloris). The receiver faces the internet, so each request must be read
within ``read_timeout_s`` of the connection's start (or, on a kept-alive connection, of the
request's first byte: the idle time between requests is uvicorn's keep-alive timeout); a
late one is cut off. Its app, if it had begun, sees the client disconnect and publishes
nothing; no answer is owed to a sender that never finished asking.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class ReadDeadlineProtocol(H11Protocol):
    """:class:`H11Protocol` whose requests must be read within :attr:`read_timeout_s`."""

    read_timeout_s: ClassVar[float] = 10.0
    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def with_timeout(cls, read_timeout_s: float) -> type[ReadDeadlineProtocol]:
        """The protocol class uvicorn is given (it instantiates it per connection)."""
        return type(cls.__name__, (cls,), {"read_timeout_s": read_timeout_s})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # The first bytes of the next request on a kept-alive connection start its clock
        # (bytes arriving while a request is being answered are judged once it is).
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
            self._disarm()  # the request is in: what remains is ours to answer

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.logger.warning(
                "request not read within %.0f s: connection closed", self.read_timeout_s
            )
            self.transport.close()
