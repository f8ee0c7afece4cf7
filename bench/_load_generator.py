"""The load generator of bench/ingress.py: signed webhook requests from a process of its own.

Run by ``drive()`` as a program of its own, so that its CPU is not the receiver's: uvloop
with asyncio Protocols, raw HTTP/1.1 keep-alive on bounded connections, each request a
distinct lead signed with HMAC-SHA256 (reading (a)); closed loop (each connection sends its
next request on an answer) or open loop (requests due at fixed times, latency from when
each was due). Prints its figures as one JSON line.

    .venv/bin/python bench/_load_generator.py --port P --path /linkedin/webhook --secret S
        --seconds 10 --connections 64 [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from typing import Any, cast

from sandbox.config import SignatureVariant
from sandbox.signing import notification_signature


def _notification(lead_id: str) -> bytes:
    return json.dumps(
        {
            "type": "LEAD_ACTION",
            "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead_id}",
            "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
            "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"},
            "associatedEntity": {"sponsoredCreative": "urn:li:sponsoredCreative:241257736"},
            "leadType": "SPONSORED",
            "leadAction": "CREATED",
            "occurredAt": int(time.time() * 1000),
        },
        separators=(",", ":"),
    ).encode()


class _Requests:
    """Signed requests, each for a distinct lead: a run prefix and a counter, the body from
    a template (cheap: the generator's CPU is taken from the receiver and the broker)."""

    def __init__(self, path: str, secret: str) -> None:
        self._path = path
        self._secret = secret
        self._run = uuid.uuid4().hex
        self._count = 0
        self._template = _notification("@LEAD@")

    def next(self) -> bytes:
        self._count += 1
        body = self._template.replace(b"@LEAD@", f"{self._run}-{self._count}".encode())
        signature = notification_signature(self._secret, body, SignatureVariant.PREFIXED_BODY)
        head = (
            f"POST {self._path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\n"
            f"X-LI-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; answers parsed from the bytes as
    they arrive (a Protocol, not streams: half the generator's CPU per request)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._answer: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not registered as asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0 or self._answer is None:
            return
        head = self._buffer[:head_end].lower() + b"\r\n"
        at = head.find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
        if len(self._buffer) < head_end + 4 + length:
            return
        self._buffer = self._buffer[head_end + 4 + length :]
        self._answer.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc or ConnectionError("the receiver closed"))

    async def exchange(self, request: bytes) -> int:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._answer


async def _load(args: argparse.Namespace) -> dict[str, Any]:
    requests = _Requests(args.path, args.secret)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    conns = [
        (await loop.create_connection(_Connection, "127.0.0.1", args.port))[1]
        for _ in range(args.connections)
    ]

    async def one(conn: _Connection, due: float) -> None:
        status = await conn.exchange(requests.next())
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    deadline = started + args.seconds
    if args.rate == 0:  # closed loop: each connection sends its next request on an answer

        async def loop_on(conn: _Connection) -> None:
            while time.perf_counter() < deadline:
                await one(conn, time.perf_counter())

        await asyncio.gather(*(loop_on(c) for c in conns))
    else:  # open loop: requests are due at fixed times, whatever the answers do
        idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for conn in conns:
            idle.put_nowait(conn)
        tasks = []

        async def scheduled(due: float) -> None:
            conn = await idle.get()
            try:
                await one(conn, due)
            finally:
                idle.put_nowait(conn)

        for i in range(int(args.rate * args.seconds)):
            due = started + i / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(scheduled(due)))
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "statuses": statuses,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def load(args: argparse.Namespace) -> None:
    import uvloop

    print(json.dumps(uvloop.run(_load(args))))


def drive(
    port: int, path: str, secret: str, seconds: float, connections: int, rate: float = 0
) -> dict[str, Any]:
    """Run the load generator in its own process; its figures."""
    done = subprocess.run(  # noqa: S603 - this interpreter running this file
        [
            sys.executable, __file__, "--port", str(port), "--path", path,
            "--secret", secret, "--seconds", str(seconds),
            "--connections", str(connections), "--rate", str(rate),
        ],
        capture_output=True, text=True, timeout=seconds + 120, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0, help="0: closed loop")
    load(parser.parse_args())


if __name__ == "__main__":
    main()
