"""How fast the webhook receiver makes notifications durable, against a bare endpoint.

A program, not a test. On loopback, with its own topic prefixes (and, for the last figure,
its own throwaway database), it:

1. starts the receiver in a subprocess (uvicorn on a free port, as ``leadsync ingress``
   serves it) against the local Kafka. For the baseline, the app is wrapped (here, not in
   production code) with a bare route ``POST /bench/bare`` that reads the body and answers
   the same JSON: same server, same HTTP stack, no signature check, no Kafka;
2. from ANOTHER process (the load generator: uvloop with asyncio Protocols, raw HTTP/1.1
   keep-alive, bounded connections, each request a distinct lead signed with HMAC-SHA256,
   reading (a)):
   - closed loop, C connections for D seconds, on the bare route, then on the webhook, in
     R rounds: accepts/s and p50/p99 of each (every webhook 200 is an acks=all Kafka
     delivery), and the median of the rounds' ratios (one round's baseline is noisy);
   - open loop at 500 notifications/s (scheduled start times, so a slow answer delays
     nothing and is measured from when it was due): p50/p99 of durable accepts;
3. POST to contact committed at 200 leads/s: the LinkedIn sandbox (in a thread) creates
   leads at that rate and pushes their notifications to a second receiver; ``leadsync
   worker`` hydrates and imports them into a throwaway database. Per lead: from the
   receiver's ``received_at`` (on the notification topic) to ``imported_leads.imported_at``
   (the import transaction; same host clock).

    .venv/bin/python bench/ingress.py [--seconds 10] [--connections 64] [--rounds 3]
        [--leads 2000]

Kafka and PostgreSQL are the local stack (127.0.0.1:29092, 127.0.0.1:25432) unless
LEADSYNC_KAFKA_BOOTSTRAP_SERVERS / LEADSYNC_DATABASE_URL say otherwise. Everything it
creates is removed at the end; every phase is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from bench._processes import cpu_seconds, remove_leftovers
from leadsync.settings import Settings, load_settings
from sandbox.config import SignatureVariant
from sandbox.signing import notification_signature
from tests.faults.proxy import free_port

BARE = "/bench/bare"
WEBHOOK = "/linkedin/webhook"
FORM_ID = 7571309  # a sponsored form of the sandbox (seed 7), ad account 1234567


# --- the receiver (subprocess) ---------------------------------------------------------


def serve(port: int) -> None:
    """The production app wrapped with a bare route; served like ``leadsync ingress``."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.types import Receive, Scope, Send

    from ingest.webhook import server as webhook_server
    from ingest.webhook.app import create_app

    settings = load_settings()
    app = create_app(settings)

    async def with_bare_route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == BARE:
            await Request(scope, receive).body()
            await JSONResponse({"status": "accepted"})(scope, receive, send)
            return
        await app(scope, receive, send)

    on_port = settings.model_copy(
        update={"ingress_host": "127.0.0.1", "ingress_port": port, "log_level": "warning"}
    )
    webhook_server.serve(on_port, with_bare_route)  # as `leadsync ingress` serves it


class Receiver:
    """``bench/ingress.py serve`` as a subprocess with the given settings."""

    def __init__(self, settings: Settings, port: int) -> None:
        from tests.integration.worker import settings_env

        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter running this file
            [sys.executable, __file__, "serve", "--port", str(port)],
            env=settings_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        import httpx

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise SystemExit(f"the receiver did not start:\n{err[-2000:]}")
            time.sleep(0.2)

    def cpu_s(self) -> float:
        """CPU time the receiver process (all its threads) used so far."""
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- the load generator (subprocess) ---------------------------------------------------


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
            sys.executable, __file__, "load", "--port", str(port), "--path", path,
            "--secret", secret, "--seconds", str(seconds),
            "--connections", str(connections), "--rate", str(rate),
        ],
        capture_output=True, text=True, timeout=seconds + 120, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the orchestration -----------------------------------------------------------------


def _base_settings(prefix: str, **overrides: Any) -> Settings:
    return load_settings(
        demo=True,
        topic_prefix=prefix,
        topic_partitions=6,
        **overrides,
    )


@contextlib.contextmanager
def _topics(settings: Settings) -> Iterator[None]:
    """The topics under the settings' prefix, removed afterwards with the worker's consumer
    group and data directory, if a worker ran."""
    from leadsync.kafka.topics import ensure_topics, wait_for_kafka

    wait_for_kafka(settings, 30)
    ensure_topics(settings)
    try:
        yield
    finally:
        remove_leftovers(settings, [settings.topic_prefix], [settings.worker_app_id])


def _measured(
    receiver: Receiver,
    port: int,
    secret: str,
    path: str,
    seconds: float,
    connections: int,
    rate: float = 0,
) -> dict[str, Any]:
    """One phase driven at the receiver, with the receiver's CPU per request."""
    cpu = receiver.cpu_s()
    result = drive(port, path, secret, seconds, connections, rate)
    result["rate"] = result["requests"] / result["seconds"]
    result["server_cpu_us"] = 1e6 * (receiver.cpu_s() - cpu) / result["requests"]
    return result


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    """Closed-loop rounds, bare then durable in each (so both see the same machine), and
    the open-loop phases once."""
    settings = _base_settings(f"leadsync-bench-ingress-{uuid.uuid4().hex[:8]}")
    secret = settings.linkedin_client_secret.get_secret_value()
    port = free_port()
    rounds: list[dict[str, dict[str, Any]]] = []
    results: dict[str, Any] = {"rounds": rounds}
    with _topics(settings):
        receiver = Receiver(settings, port)
        try:
            drive(port, WEBHOOK, secret, 2, 8)  # warm-up: connections, producer id, caches
            drive(port, BARE, secret, 1, 8)
            closed = (args.seconds, args.connections)
            for _ in range(args.rounds):
                rounds.append(
                    {
                        "bare": _measured(receiver, port, secret, BARE, *closed),
                        "durable": _measured(receiver, port, secret, WEBHOOK, *closed),
                    }
                )
            at_500 = (args.seconds, 32, 500)
            results["durable_500"] = _measured(receiver, port, secret, WEBHOOK, *at_500)
            results["bare_500"] = _measured(receiver, port, secret, BARE, *at_500)
        finally:
            receiver.stop()
    return results


def end_to_end(args: argparse.Namespace) -> dict[str, Any]:
    """POST → contact committed at 200 leads/s, through the sandbox, receiver and worker."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    from pydantic import SecretStr

    from sandbox.config import SandboxConfig
    from sandbox.state import SandboxState
    from schemas.notifications import ReceivedNotification
    from sinks.migrate import upgrade
    from tests.e2e.conftest import Sandbox, leadsync
    from tests.integration.worker import Worker
    from tests.services import run_database

    probe = _base_settings("unused")
    port = free_port()
    with run_database(probe.database_conninfo()) as database_url:
        sandbox = Sandbox(
            SandboxState(
                SandboxConfig(
                    seed=7,
                    client_id=probe.linkedin_client_id,
                    client_secret=probe.linkedin_client_secret,
                )
            )
        )
        settings = _base_settings(
            f"leadsync-bench-push-{uuid.uuid4().hex[:8]}",
            database_url=SecretStr(database_url),
            linkedin_api_url=f"{sandbox.url}/rest",
            linkedin_oauth_url=f"{sandbox.url}/oauth/v2",
            ingress_port=port,
            ingress_public_url=f"http://127.0.0.1:{port}{WEBHOOK}",
            kafka_session_timeout_s=6,
            kafka_heartbeat_interval_s=1,
        )
        upgrade(settings.database_conninfo())
        with _topics(settings):
            receiver = Receiver(settings, port)
            try:
                leadsync(settings, "linkedin", "connect")
                leadsync(settings, "forms", "import", str(FORM_ID), "on")
                leadsync(settings, "subscribe")
                with Worker(settings) as worker:
                    # Warm-up: the worker's first assignment and first imports.
                    _leads_at(sandbox, 20, 20)
                    worker.wait_caught_up(settings.topics.notifications, 120)
                    worker.settle(120)
                    started = time.time()
                    lead_ids = _leads_at(sandbox, args.leads, 200)
                    worker.wait_caught_up(settings.topics.notifications, 300)
                    worker.settle(300)
                    drained = time.time() - started
            finally:
                receiver.stop()
                sandbox.close()

            received: dict[str, datetime] = {}
            topic = settings.topics.notifications
            consumer = Consumer(
                {"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "bench-read"}
            )
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions
            }
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
            remaining = sum(ends.values())
            deadline = time.monotonic() + 60
            while remaining and time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None or message.error():
                    continue
                remaining -= 1
                envelope = ReceivedNotification.model_validate_json(message.value() or b"")
                lead_id = envelope.notification().lead_id()
                received.setdefault(lead_id, envelope.received_at)
            consumer.close()

        import psycopg

        with psycopg.connect(settings.database_conninfo()) as conn:
            rows = conn.execute(
                "SELECT lead_id, imported_at FROM imported_leads WHERE lead_id = ANY(%s)",
                (sorted(lead_ids),),
            ).fetchall()
    delays = sorted(
        (imported_at - received[lead_id]).total_seconds()
        for lead_id, imported_at in rows
        if lead_id in received
    )
    return {
        "leads": len(lead_ids),
        "imported": len(delays),
        "drained_s": drained,
        "p50_ms": 1000 * delays[len(delays) // 2],
        "p99_ms": 1000 * delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "max_ms": 1000 * delays[-1],
    }


def _leads_at(sandbox: Any, count: int, rate: float) -> set[str]:
    before = sandbox.lead_ids({FORM_ID})
    job = sandbox.control.post("/leads", json={"count": count, "rate": rate, "formId": FORM_ID})
    job.raise_for_status()
    job_id = job.json()["id"]
    deadline = time.monotonic() + count / rate + 60
    while not next(j for j in sandbox.control.get("/status").json()["jobs"] if j["id"] == job_id)[
        "done"
    ]:
        if time.monotonic() > deadline:
            raise SystemExit("the sandbox did not create the leads in time")
        time.sleep(0.2)
    sandbox.control.post("/pushes/flush").raise_for_status()
    failed = [
        p for p in sandbox.control.get("/pushes").json()["pushes"] if p["outcome"] != "delivered"
    ]
    if failed:
        raise SystemExit(f"{len(failed)} notifications not accepted, e.g. {failed[0]}")
    lead_ids: set[str] = sandbox.lead_ids({FORM_ID}) - before
    return lead_ids


def report(args: argparse.Namespace) -> None:
    print(
        "method: load generator in a separate process (uvloop, asyncio Protocols, raw HTTP/1.1"
        f" keep-alive, {args.connections} connections closed loop for {args.seconds:g} s;"
        " open loop at 500/s on 32 connections, latency from each request's due time);"
        " every request a distinct lead, signed (reading a); receiver: uvicorn (uvloop,"
        " httptools) in its own process, local Kafka (acks=all, idempotent). The bare route is"
        " an ASGI wrapper around the app: same server and HTTP stack, no routing, no signature,"
        " no Kafka. Load generator, receiver and broker share this machine's"
        f" {os.cpu_count()} cores."
    )
    results = throughput(args)

    def line(name: str, r: dict[str, Any]) -> str:
        return (
            f"  {name:<44} {r['rate']:>8,.0f}/s  p50 {r['p50_ms']:6.1f} ms"
            f"  p99 {r['p99_ms']:6.1f} ms  receiver CPU {r['server_cpu_us']:4.0f} us/request"
            f"  statuses {r['statuses']}"
        )

    print(
        f"closed loop, {args.connections} connections, {args.seconds:g} s each;"
        f" {args.rounds} rounds of bare then durable:"
    )
    ratios = []
    for number, measured in enumerate(results["rounds"], 1):
        bare, durable = measured["bare"], measured["durable"]
        ratios.append(durable["rate"] / bare["rate"])
        print(f" round {number}: durable / bare {ratios[-1]:.2f}")
        print(line("bare endpoint (POST /bench/bare, baseline)", bare))
        print(line("durable accepts (POST /linkedin/webhook)", durable))
    durable_rates = [r["durable"]["rate"] for r in results["rounds"]]
    print(
        f"  median of {len(ratios)} rounds: durable / bare {statistics.median(ratios):.2f}"
        f" (goal >= 0.6; rounds {min(ratios):.2f}-{max(ratios):.2f});"
        f" durable {statistics.median(durable_rates):,.0f}/s (goal >= 2,000/s)"
    )
    print(f"open loop at 500/s, {args.seconds:g} s:")
    print(line("bare endpoint (baseline)", results["bare_500"]))
    print(line("durable accepts", results["durable_500"]))
    print(f"  durable p99 {results['durable_500']['p99_ms']:.1f} ms (goal < 25 ms)")
    if args.leads:
        e2e = end_to_end(args)
        print(
            f"POST -> contact committed at 200 leads/s ({e2e['leads']} leads, sandbox push,"
            f" receiver, leadsync worker; {e2e['imported']} imported, the rest invalid answers):"
        )
        print(
            f"  p50 {e2e['p50_ms']:.0f} ms  p99 {e2e['p99_ms']:.0f} ms  max {e2e['max_ms']:.0f} ms"
            f"  (all drained {e2e['drained_s']:.1f} s after the first lead)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    serve_p = sub.add_parser("serve")
    serve_p.add_argument("--port", type=int, required=True)
    load_p = sub.add_parser("load")
    load_p.add_argument("--port", type=int, required=True)
    load_p.add_argument("--path", required=True)
    load_p.add_argument("--secret", required=True)
    load_p.add_argument("--seconds", type=float, required=True)
    load_p.add_argument("--connections", type=int, required=True)
    load_p.add_argument("--rate", type=float, default=0)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds (median)")
    parser.add_argument("--leads", type=int, default=2000, help="0 skips POST -> contact")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)
    elif args.command == "load":
        load(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
