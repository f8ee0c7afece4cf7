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
3. POST to contact committed at 200 leads/s, then at 1,000/s: the LinkedIn sandbox (in a
   thread) creates leads at that rate and pushes their notifications to a second receiver;
   ``leadsync worker`` hydrates and imports them into a throwaway database. Per lead: from
   the receiver's ``received_at`` (on the notification topic) to
   ``imported_leads.imported_at`` (the import transaction; same host clock).

    .venv/bin/python bench/ingress.py [--seconds 10] [--connections 64] [--rounds 3]
        [--leads 2000] [--fast-leads 5000] [--end-to-end-only]

Kafka and PostgreSQL are the local stack (127.0.0.1:29092, 127.0.0.1:25432) unless
LEADSYNC_KAFKA_BOOTSTRAP_SERVERS / LEADSYNC_DATABASE_URL say otherwise. Everything it
creates is removed at the end; every phase is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bench._load_generator import drive
from harness.children import cpu_seconds, free_port
from harness.processes import Ingress, Worker, leadsync
from harness.scratch import remove_leftovers, run_database
from leadsync.settings import Settings, load_settings

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


class Receiver(Ingress):
    """``bench/ingress.py serve`` on the settings' ingress port, ready as ``leadsync
    ingress`` is."""

    def argv(self) -> list[str]:
        return [sys.executable, __file__, "serve", "--port", str(self.settings.ingress_port)]

    def cpu_s(self) -> float:
        """CPU time the receiver process (all its threads) used so far."""
        return cpu_seconds(self.pid)


# --- the orchestration -----------------------------------------------------------------


def _base_settings(prefix: str, **overrides: Any) -> Settings:
    return load_settings(
        demo=True,
        # The account the pushed leads are for (harness.operator.migrate makes it).
        account="bench",
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
    port = free_port()
    settings = _base_settings(f"leadsync-bench-ingress-{uuid.uuid4().hex[:8]}", ingress_port=port)
    secret = settings.linkedin_client_secret.get_secret_value()
    rounds: list[dict[str, dict[str, Any]]] = []
    results: dict[str, Any] = {"rounds": rounds}
    with _topics(settings), Receiver(settings) as receiver:
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
    return results


def end_to_end(args: argparse.Namespace) -> dict[float, dict[str, Any]]:
    """POST → contact committed at 200 leads/s, then at 1,000/s, through the sandbox,
    receiver and worker; the figures of each rate."""
    from pydantic import SecretStr

    from harness.operator import migrate
    from harness.sandboxes import Sandbox
    from sandbox.config import SandboxConfig
    from sandbox.state import SandboxState
    from schemas.notifications import ReceivedNotification

    probe = _base_settings("unused")
    port = free_port()
    with run_database(probe.database_conninfo()) as database_url:
        sandbox = Sandbox(
            SandboxState(
                SandboxConfig(
                    seed=7,
                    client_id=probe.linkedin_client_id,
                    client_secret=probe.linkedin_client_secret,
                    # 1,000 notifications a second need several in flight (a receiver
                    # answers once Kafka acknowledged: a few ms each).
                    push_concurrency=16,
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
        migrate(settings)
        with _topics(settings):
            try:
                with Receiver(settings):
                    leadsync(settings, "linkedin", "connect")
                    leadsync(settings, "forms", "import", str(FORM_ID), "on")
                    leadsync(settings, "subscribe")
                    with Worker(settings) as worker:
                        # Warm-up: the worker's first assignment and first imports.
                        _leads_at(sandbox, 20, 20)
                        worker.wait_caught_up(settings.topics.notifications, 120)
                        worker.settle(120)
                        phases: list[tuple[float, set[str], float, float]] = []
                        for rate, count in ((200.0, args.leads), (1000.0, args.fast_leads)):
                            if not count:
                                continue
                            started = time.time()
                            lead_ids = _leads_at(sandbox, count, rate)
                            created_s = time.time() - started
                            worker.wait_caught_up(settings.topics.notifications, 300)
                            worker.settle(300)
                            phases.append((rate, lead_ids, time.time() - started, created_s))
            finally:
                sandbox.close()

            received: dict[str, datetime] = {}
            for _key, value, _ in _records(settings, settings.topics.notifications):
                envelope = ReceivedNotification.model_validate_json(value)
                received.setdefault(envelope.notification().lead_id(), envelope.received_at)
            # When hydration put each lead on the raw topic (the record's CreateTime).
            on_raw: dict[str, float] = {}
            for key, _, at_ms in _records(settings, settings.topics.leads_raw):
                on_raw.setdefault(key.decode().partition(":")[2], at_ms / 1000)

        import psycopg

        with psycopg.connect(settings.database_conninfo()) as conn:
            results: dict[float, dict[str, Any]] = {}
            for rate, lead_ids, drained, created_s in phases:
                rows = conn.execute(
                    "SELECT lead_id, imported_at FROM imported_leads WHERE lead_id = ANY(%s)",
                    (sorted(lead_ids),),
                ).fetchall()
                delays = sorted(
                    (imported_at - received[lead_id]).total_seconds()
                    for lead_id, imported_at in rows
                    if lead_id in received
                )
                hydrated = sorted(
                    on_raw[lead_id] - received[lead_id].timestamp()
                    for lead_id, _ in rows
                    if lead_id in received and lead_id in on_raw
                )
                imported = sorted(
                    imported_at.timestamp() - on_raw[lead_id]
                    for lead_id, imported_at in rows
                    if lead_id in on_raw
                )
                results[rate] = {
                    "leads": len(lead_ids),
                    "imported": len(delays),
                    "drained_s": drained,
                    "p50_ms": 1000 * delays[len(delays) // 2],
                    "p99_ms": 1000 * delays[min(len(delays) - 1, int(len(delays) * 0.99))],
                    "max_ms": 1000 * delays[-1],
                    "hydrated_p50_ms": 1000 * statistics.median(hydrated),
                    "imported_p50_ms": 1000 * statistics.median(imported),
                    "rate": len(lead_ids) / created_s,
                }
    return results


def _records(settings: Settings, topic: str) -> Iterator[tuple[bytes, bytes, int]]:
    """Every record of ``topic``: key, value and CreateTime (epoch ms)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "bench-read"}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        remaining = sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            remaining -= 1
            yield message.key() or b"", message.value() or b"", message.timestamp()[1]
    finally:
        consumer.close()


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


def _report_throughput(args: argparse.Namespace) -> None:
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
    if not args.end_to_end_only:
        _report_throughput(args)
    if args.leads or args.fast_leads:
        for rate, e2e in end_to_end(args).items():
            print(
                f"POST -> contact committed at {rate:,.0f} leads/s ({e2e['leads']} leads, sandbox"
                f" push, receiver, leadsync worker; {e2e['imported']} imported, the rest invalid"
                " answers):"
            )
            print(
                f"  p50 {e2e['p50_ms']:.0f} ms  p99 {e2e['p99_ms']:.0f} ms"
                f"  max {e2e['max_ms']:.0f} ms  (all drained {e2e['drained_s']:.1f} s after the"
                f" first lead; the sandbox pushed {e2e['rate']:,.0f}/s); p50 by hop: received ->"
                f" hydrated onto the raw topic {e2e['hydrated_p50_ms']:.0f} ms, raw topic ->"
                f" committed {e2e['imported_p50_ms']:.0f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    serve_p = sub.add_parser("serve")
    serve_p.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds (median)")
    parser.add_argument("--leads", type=int, default=2000, help="at 200/s; 0 skips them")
    parser.add_argument(
        "--fast-leads", type=int, default=5000, help="POST -> contact at 1,000/s; 0 skips them"
    )
    parser.add_argument(
        "--end-to-end-only", action="store_true", help="skip the receiver's throughput phases"
    )
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)
    else:
        report(args)


if __name__ == "__main__":
    main()
