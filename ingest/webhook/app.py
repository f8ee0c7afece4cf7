"""``leadsync ingress``: LinkedIn's webhook (``GET``/``POST /linkedin/webhook``).

Guarantee: a notification answered 200 is in Kafka on every in-sync replica (acks=all,
idempotent producer); if Kafka does not acknowledge within ``ingress_ack_timeout_s`` the
answer is 503 and the notification counts as not received. Requests are checked in this
order, each failure answered without publishing anything:

- body larger than ``ingress_max_body_bytes`` → 413 (declared size checked before reading);
- content type other than JSON → 415;
- ``X-LI-Signature`` missing or matching none of the three readings → 401;
- authentic but unparseable or not a lead notification → 400, and the raw bytes go to the
  error topic (an authentic payload is never dropped silently).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.producer import PublishError
from ingest.publisher import AsyncPublisher
from ingest.webhook.metrics import IngressMetrics
from ingest.webhook.signature import challenge_response, verify
from leadsync.settings import Settings
from schemas.events import ErrorEvent
from schemas.notifications import LeadNotification, ReceivedNotification

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _raw_ref(body: bytes) -> dict[str, Any]:
    """The whole body for the error event (at most ``ingress_max_body_bytes``, never cut).

    As text under ``bytes``; when that text is not the exact bytes (not UTF-8) or holds a NUL
    (which PostgreSQL's jsonb refuses), the exact bytes are under ``base64`` as well.
    """
    text = body.decode("utf-8", "replace")
    ref: dict[str, Any] = {"bytes": text.replace("\x00", "\ufffd"), "size": len(body)}
    if "\x00" in text or text.encode() != body:
        ref["base64"] = base64.b64encode(body).decode("ascii")
    return ref


# librdkafka fails a timed-out record up to a second late (it scans its queues once a second).
_SCAN_S = 1.0


def delivery_timeout_ms(ack_timeout_s: float) -> int:
    """librdkafka's ``message.timeout.ms`` for an answer due within ``ack_timeout_s``.

    Giving up a scan interval before the answer is due makes the answer Kafka's own final
    verdict: a record librdkafka failed is never written afterwards, so a notification
    answered 503 is not in Kafka (from a 2 s bound up; below that the answer may come first).
    """
    return int(max(ack_timeout_s - _SCAN_S, ack_timeout_s / 2) * 1000)


def create_app(settings: Settings, publisher: AsyncPublisher | None = None) -> Starlette:
    metrics = IngressMetrics()
    secret = settings.linkedin_client_secret.get_secret_value()
    owned = publisher is None
    state: dict[str, AsyncPublisher] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["publisher"] = publisher or AsyncPublisher(
            settings,
            **{
                "message.timeout.ms": delivery_timeout_ms(settings.ingress_ack_timeout_s),
                # The answer waits for the acknowledgement: the default 10 ms linger was
                # most of an accept's latency and, as LinkedIn waits for each answer, capped
                # throughput too (bench/ingress.py). Under load records still share batches
                # while earlier requests are in flight.
                "linger.ms": 1,
            },
        )
        yield
        if owned:
            state["publisher"].close()

    async def publish(topic: str, key: bytes, value: bytes) -> bool:
        try:
            await asyncio.wait_for(
                # The future itself, not a coroutine: no task per request.
                state["publisher"].send(topic, key, value),
                # A safety net only: the delivery report normally settles it first.
                settings.ingress_ack_timeout_s + 0.5,
            )
        except PublishError as exc:
            log.error("Kafka did not acknowledge a notification in time: %s", exc)
            return False
        except TimeoutError:
            # Only with a bound under 2 s: librdkafka may still deliver the record later.
            log.error("no verdict from Kafka within %.1f s", settings.ingress_ack_timeout_s + 0.5)
            return False
        return True

    async def challenge(request: Request) -> Response:
        code = request.query_params.get("challengeCode", "")
        if not code.strip():
            metrics.requests.labels("challenge_rejected").inc()
            return _error(400, "missing_challenge", "challengeCode is required")
        metrics.requests.labels("challenge").inc()
        return JSONResponse(
            {"challengeCode": code, "challengeResponse": challenge_response(secret, code)}
        )

    async def notification(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await _read_body(request, settings.ingress_max_body_bytes)
        except BodyTooLarge:
            metrics.requests.labels("too_large").inc()
            return _error(413, "too_large", f"body over {settings.ingress_max_body_bytes} bytes")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            metrics.requests.labels("unsupported_media_type").inc()
            return _error(415, "unsupported_media_type", "expected application/json")
        variant = verify(secret, body, request.headers.get("x-li-signature"))
        if variant is None:
            metrics.requests.labels("bad_signature").inc()
            # No body in the log: it holds personal data of a sender we cannot trust.
            log.warning(
                "rejected a notification of %d bytes from %s: bad or missing signature",
                len(body),
                request.client.host if request.client else "?",
            )
            return _error(401, "bad_signature", "X-LI-Signature does not match")
        metrics.signature_variants.labels(variant.value).inc()
        try:
            parsed = LeadNotification.model_validate_json(body)
            key = parsed.lead_id().encode()
        except (ValidationError, ValueError) as exc:
            return await _invalid(body, exc)
        envelope = ReceivedNotification(
            received_at=datetime.now(UTC),
            signature_variant=variant.value,
            body=body.decode("utf-8"),
        )
        if not await publish(
            settings.topics.notifications, key, envelope.model_dump_json().encode()
        ):
            metrics.requests.labels("unavailable").inc()
            return _error(503, "unavailable", "not stored; Kafka is unavailable")
        metrics.requests.labels("accepted").inc()
        metrics.accept_seconds.observe(time.perf_counter() - started)
        return JSONResponse({"status": "accepted"})

    async def _invalid(body: bytes, exc: Exception) -> Response:
        reason = " ".join(str(exc).splitlines()[:2])[:300]
        event = ErrorEvent(
            error_id=uuid.uuid5(uuid.NAMESPACE_OID, hashlib.sha256(body).hexdigest()),
            occurred_at=datetime.now(UTC),
            stage="ingress",
            code="invalid_notification",
            message=f"an authentic notification could not be read: {reason}",
            raw_ref=_raw_ref(body),
        )
        if not await publish(settings.topics.errors, b"", event.model_dump_json().encode()):
            metrics.requests.labels("unavailable").inc()
            return _error(503, "unavailable", "not stored; Kafka is unavailable")
        metrics.requests.labels("invalid").inc()
        return _error(400, "invalid_notification", reason)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def prometheus(_request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/linkedin/webhook", challenge, methods=["GET"]),
            Route("/linkedin/webhook", notification, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
