"""Abuse of a running webhook receiver (``leadsync ingress``), for the fault run: requests a
receiver facing the internet gets, and what it answers them.

Five kinds, sent each round (:func:`abuse`), each with the answer ``ingest.webhook.app``
documents for it; every request has ``Content-Type: application/json`` so that it reaches
the check it is aimed at (a wrong type is 415 before anything else is looked at):

- ``malformed``: signed with the client secret, so authentic, but not a notification: not
  JSON; JSON of the wrong shape (an array); a notification whose lead id is not a
  ``urn:li:leadGenFormResponse:`` URN. Documented: 400 ``invalid_notification``, **and the
  bytes go to the error topic** (an authentic payload is never dropped).
- ``unsigned``: a valid-looking notification without ``X-LI-Signature``: 401.
- ``bad_signature``: one signed with another secret, one signed for other bytes: 401.
- ``oversized``: one byte over the receiver's ``ingress_max_body_bytes`` (``body_limit``;
  by default 1 MiB, the largest the settings admit), declared in ``Content-Length`` and,
  again, sent chunked with no length: 413. Unsigned, so a receiver without the limit answers
  401 rather than importing it.
- ``slow``: a slowloris: sockets that trickle a request's headers, or its body, one byte at
  a time for ``slow_s`` seconds, never finishing. Nothing is documented; what is expected is
  that the receiver closes them (``"closed"``), refuses them (a 4xx) or keeps them open to
  the end (``"timeout"``, the client gives up), and that meanwhile ``GET /healthz`` on a
  connection of its own answers 200 within 2 s. Their bytes are unsigned.

Error events: exactly one per ``malformed`` request answered 400, put on ``<prefix>.errors``
by the receiver before it answers (stage ``ingress``, code ``invalid_notification``, the body
under ``raw_ref``); no other request makes any. :attr:`AbuseReport.error_events_expected`
counts them, for the caller to add to the error events it expects (a malformed request
answered 503, Kafka late, is unexpected, and its event may or may not land). Each body
carries the run's :attr:`AbuseReport.marker` and is unique, so no two of these events share
an ``error_id`` (the receiver derives it from the body's hash).

Leads: none. Nothing here may reach ``<prefix>.notifications``; a kind whose answer is not
its documented refusal is listed in :attr:`AbuseReport.unexpected`, with the detail in
:attr:`AbuseReport.notes`. Should a notification be accepted all the same, its owner is an
account no one can connect (``urn:li:sponsoredAccount:0``), so no worker imports it.
"""

from __future__ import annotations

import json
import select
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from sandbox.config import SignatureVariant
from sandbox.signing import notification_signature

KINDS = ("malformed", "unsigned", "bad_signature", "oversized", "slow")
# The largest ingress_max_body_bytes the settings admit: one byte more is over any receiver's.
LARGEST_BODY_LIMIT = 1024 * 1024
HEALTHZ_WITHIN_S = 2.0
SLOW_S = 7.0  # past uvicorn's 5 s keep-alive timeout, the only timer it has for a connection
SLOW_SOCKETS = 4  # half trickle their headers, half their body
TRICKLE_EVERY_S = 0.5
CONNECT_TIMEOUT_S = 5.0
_NO_ACCOUNT = "urn:li:sponsoredAccount:0"
_RESPONSE_URN = "urn:li:leadGenFormResponse:"

Answer = int | str  # an HTTP status, or "closed" / "timeout" for a slow socket


@dataclass(frozen=True)
class AbuseReport:
    """What the receiver answered, per kind (:data:`KINDS`)."""

    sent: dict[str, int]
    answers: dict[str, Counter[Answer]]
    unexpected: list[str]  # kinds with an answer other than their documented refusal
    notes: list[str]  # which request of those, and what it got
    error_events_expected: int  # on the errors topic: one per malformed request answered 400
    healthz_s: list[float | None]  # per round, /healthz during the slowloris (None: no 200)
    marker: str  # in every body sent

    def line(self) -> str:
        kinds = "; ".join(
            f"{kind} {self.sent[kind]} sent: "
            + ", ".join(
                f"{answer} x{n}" for answer, n in sorted(self.answers[kind].items(), key=str)
            )
            for kind in KINDS
        )
        answered = [s for s in self.healthz_s if s is not None]
        healthz = (
            f"/healthz during the slowloris {max(answered) * 1000:.0f} ms at worst"
            if len(answered) == len(self.healthz_s)
            else f"/healthz unanswered in {len(self.healthz_s) - len(answered)} round(s)"
        )
        return (
            f"receiver abuse: {kinds}; {healthz}; {self.error_events_expected} error events"
            f" expected; unexpected: {', '.join(self.unexpected) or 'none'}"
        )


def _notification(lead_urn: str, marker: str) -> bytes:
    return json.dumps(
        {
            "type": "LEAD_ACTION",
            "leadGenFormResponse": lead_urn,
            "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
            "owner": {"sponsoredAccount": _NO_ACCOUNT},
            "leadType": "SPONSORED",
            "leadAction": "CREATED",
            "occurredAt": int(time.time() * 1000),
            "abuse": marker,
        }
    ).encode()


def _lead_urn(marker: str) -> str:
    return f"{_RESPONSE_URN}abuse-{marker}-{uuid.uuid4().hex[:8]}"


def _malformed(marker: str) -> Iterator[tuple[str, bytes]]:
    yield "not JSON", f"<lead>{marker} {uuid.uuid4()}</lead>".encode()
    yield "an array", b"[" + _notification(_lead_urn(marker), marker) + b"]"
    yield "a non-URN lead id", _notification(f"abuse-{marker}-{uuid.uuid4().hex[:8]}", marker)


class _Abuse:
    """The requests of every round, through one client, and the tallies of their answers."""

    def __init__(self, url: str, secret: str) -> None:
        # A connection per request: a refusal leaves no half-read body on a reused one.
        self.client = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))
        self.url = httpx.URL(url)
        self.secret = secret
        self.marker = uuid.uuid4().hex[:12]
        self.sent: Counter[str] = Counter()
        self.answers: dict[str, Counter[Answer]] = {kind: Counter() for kind in KINDS}
        self.notes: list[str] = []
        self.unexpected: set[str] = set()
        self.error_events = 0
        self.healthz_s: list[float | None] = []

    def note(self, kind: str, text: str) -> None:
        """An answer other than the documented one."""
        self.unexpected.add(kind)
        self.notes.append(f"{kind}: {text}")

    def post(
        self,
        kind: str,
        what: str,
        content: bytes | Iterator[bytes],
        expected: tuple[int, str],
        signature: str | None = None,
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-LI-Signature"] = signature
        self.sent[kind] += 1
        try:
            response = self.client.post(self.url, content=content, headers=headers)
        except httpx.TransportError as exc:
            self.answers[kind]["closed"] += 1
            self.note(kind, f"{what}: no answer ({type(exc).__name__})")
            return
        self.answers[kind][response.status_code] += 1
        code = _error_code(response)
        if (response.status_code, code) != expected:
            got = code or repr(response.text[:80])
            self.note(
                kind, f"{what}: {response.status_code} {got}, expected {expected[0]} {expected[1]}"
            )
        elif kind == "malformed":
            self.error_events += 1  # published before the 400 was sent

    def notification(self) -> bytes:
        return _notification(_lead_urn(self.marker), self.marker)

    def signed(self, body: bytes, secret: str | None = None) -> str:
        variant = SignatureVariant.PREFIXED_BODY
        return notification_signature(secret or self.secret, body, variant)

    def round(self, body_limit: int, slow_s: float, slow_sockets: int, must_close: bool) -> None:
        for what, body in _malformed(self.marker):
            self.post("malformed", what, body, (400, "invalid_notification"), self.signed(body))
        refused = (401, "bad_signature")
        self.post("unsigned", "no header", self.notification(), refused)
        body = self.notification()
        self.post("bad_signature", "another secret", body, refused, self.signed(body, "not-it"))
        other = self.signed(self.notification())
        self.post("bad_signature", "signed for other bytes", body, refused, other)
        too_large = (413, "too_large")
        oversized = b" " * (body_limit + 1)
        self.post("oversized", "declared", oversized, too_large)
        self.post("oversized", "chunked", _chunks(oversized), too_large)
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(_slowloris, self.url, slow_sockets, slow_s)
            # Asked once the slow sockets are all open and part-way through their requests.
            time.sleep(min(slow_s / 2, 2 * TRICKLE_EVERY_S + 0.5))
            self.healthz_s.append(_healthz(self.client, self.url))
            outcomes = slow.result()
        self.sent["slow"] += len(outcomes)
        for answer in outcomes:
            self.answers["slow"][answer] += 1
            if not (
                answer in ("closed", "timeout") or (isinstance(answer, int) and 400 <= answer < 500)
            ):
                self.note("slow", f"a slow request was answered {answer}")
            if answer == "timeout" and must_close:
                self.note("slow", f"a slow request was still open after {slow_s:.0f} s")
        if self.healthz_s[-1] is None:
            self.note("slow", f"/healthz did not answer 200 within {HEALTHZ_WITHIN_S} s")

    def report(self) -> AbuseReport:
        return AbuseReport(
            sent={kind: self.sent[kind] for kind in KINDS},
            answers=self.answers,
            unexpected=[kind for kind in KINDS if kind in self.unexpected],
            notes=self.notes,
            error_events_expected=self.error_events,
            healthz_s=self.healthz_s,
            marker=self.marker,
        )


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _chunks(body: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """``body`` as an iterator: httpx sends it chunked, without a ``Content-Length``."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


class _SlowSocket:
    """A request sent a byte at a time: the head at once and the rest trickled."""

    def __init__(self, address: tuple[str, int], head: bytes, trickle: bytes) -> None:
        self.sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT_S)
        self.sock.sendall(head)
        self.trickle = trickle
        self.answer: Answer | None = None

    def tick(self) -> None:
        """Read what the receiver said, if anything, then send the next byte."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        try:
            if readable:
                data = self.sock.recv(4096)
                self.answer = _status(data) if data else "closed"
            elif self.trickle:
                self.sock.sendall(self.trickle[:1])
                self.trickle = self.trickle[1:]
        except OSError:  # reset, or a pipe broken by the receiver's close
            self.answer = "closed"
        if self.answer is not None:
            self.sock.close()


def _status(data: bytes) -> Answer:
    parts = data.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return "closed"


def _slowloris(url: httpx.URL, count: int, slow_s: float) -> list[Answer]:
    """``count`` slow requests kept going for ``slow_s``; what became of each."""
    host = url.host
    port = url.port or 80
    path = url.raw_path.decode("ascii")
    length = 4096
    heads = [
        (b"", f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode() + b"a" * 10_000),
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode(),
            b" " * length,  # never finished: fewer ticks than bytes
        ),
    ]
    sockets = [_SlowSocket((host, port), *heads[i % 2]) for i in range(count)]
    try:
        deadline = time.monotonic() + slow_s
        while time.monotonic() < deadline and any(s.answer is None for s in sockets):
            for slow in sockets:
                if slow.answer is None:
                    slow.tick()
            time.sleep(TRICKLE_EVERY_S)
    finally:
        for slow in sockets:
            if slow.answer is None:
                slow.answer = "timeout"
                slow.sock.close()
    return [s.answer or "timeout" for s in sockets]


def _healthz(client: httpx.Client, url: httpx.URL) -> float | None:
    """Seconds ``GET /healthz`` took to answer 200 on a new connection, None if it did not
    within :data:`HEALTHZ_WITHIN_S`."""
    started = time.monotonic()
    try:
        response = client.get(url.copy_with(path="/healthz", query=None), timeout=HEALTHZ_WITHIN_S)
    except httpx.TransportError:
        return None
    took = time.monotonic() - started
    return took if response.status_code == 200 and took <= HEALTHZ_WITHIN_S else None


def abuse(
    url: str,
    secret: str,
    rounds: int = 1,
    *,
    body_limit: int = LARGEST_BODY_LIMIT,
    slow_s: float = SLOW_S,
    slow_sockets: int = SLOW_SOCKETS,
    read_timeout_s: float | None = None,
) -> AbuseReport:
    """Send every kind of abuse ``rounds`` times to the receiver's webhook ``url``, signing
    with its client ``secret``; what it answered. ``body_limit``: a limit the receiver's
    ``ingress_max_body_bytes`` does not exceed (the oversized bodies are one byte over).
    ``read_timeout_s``: the receiver's ``ingress_read_timeout_s``; when shorter than
    ``slow_s``, a slow request still open at the end is unexpected (it should have been cut)."""
    run = _Abuse(url, secret)
    must_close = read_timeout_s is not None and read_timeout_s < slow_s
    with run.client:
        for _ in range(rounds):
            run.round(body_limit, slow_s, slow_sockets, must_close)
    return run.report()
