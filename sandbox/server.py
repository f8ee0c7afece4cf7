"""Running the sandbox with uvicorn: in the foreground (the CLI) or in a thread (tests).

:class:`ThreadedServer` serves on a free loopback port in its own thread and event loop, so
a test (or the benchmark) talks to it over real HTTP exactly as leadsync would.
"""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn
from starlette.types import ASGIApp


class ThreadedServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: ASGIApp, *, port: int = 0, access_log: bool = False) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=access_log,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="sandbox-server", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._server.serve())

    def start(self, timeout_s: float = 10.0) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:<port>``)."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        socket = self._server.servers[0].sockets[0]
        return f"http://127.0.0.1:{socket.getsockname()[1]}"

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve in the foreground until interrupted (Ctrl-C stops it cleanly)."""
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
