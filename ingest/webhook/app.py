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

Each request is a span of a trace (leadsync.tracing): the caller's, when its ``traceparent``
header is valid, else a new one. Its log lines carry the trace id, and what it publishes
carries the span as the ``traceparent`` header, so the lead's later stages log in its trace.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from pydantic_core import to_json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.webhook.metrics import IngressMetrics
from ingest.webhook.signature import challenge_response, verify
from leadsync import metrics as leadsync_metrics
from leadsync import tracing
from leadsync.body_limit import BodyTooLarge, limit_receive, refuse_declared
from leadsync.errors import PermanentError
from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.kafka.producing import PublishError
from leadsync.kafka.reachability import KafkaProbe
from leadsync.ops_server import health_routes
from leadsync.settings import Settings
from leadsync.tracing import Trace
from schemas.events import ErrorEvent
from schemas.notifications import LeadNotification

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/linkedin/webhook"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _json(content: dict[str, Any]) -> bytes:
    """JSON as Starlette's ``JSONResponse`` renders it."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


_ACCEPTED = _json({"status": "accepted"})


async def _send_body(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    await _send_body(send, status, _json({"error": code, "message": message}))


def received_notification(received_at: datetime, variant: str, body: str) -> bytes:
    """A :class:`ReceivedNotification` as JSON, serialised without building the model (the
    same members and formats; a unit test holds the two together)."""
    return to_json({"received_at": received_at, "signature_variant": variant, "body": body})


class ClientGone(PermanentError):
    """The client disconnected before its whole body arrived: there is no one to answer."""


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, or :class:`BodyTooLarge` (:mod:`leadsync.body_limit`'s rule)."""
    refuse_declared(scope, limit)
    receive = limit_receive(receive, limit)
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


class _IngressApp(Starlette):
    """The Starlette app, with ``POST /linkedin/webhook`` answered before its routing and
    middleware: that route is all of LinkedIn's traffic, and the Request/Response layers
    cost it a third of its time per request (bench/ingress.py). Everything else, lifespan
    included, is Starlette's."""

    def __init__(self, notification: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._notification = notification

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self._notification(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


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


def create_app(settings: Settings, publisher: AsyncPublisher | None = None) -> Starlette:
    metrics = IngressMetrics()
    topics = settings.topics
    secret = settings.linkedin_client_secret.get_secret_value()
    owned = publisher is None
    state: dict[str, AsyncPublisher] = {}
    # Kafka's verdict is due within the bound (librdkafka gives up before it); the
    # publisher's own limit, half a second later, is a safety net.
    answer_within_s = settings.ingress_ack_timeout_s + 0.5

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["publisher"] = publisher or AsyncPublisher(
            settings,
            answer_within_s=answer_within_s,
            **{
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

    async def publish(topic: str, key: bytes, value: bytes, trace: Trace) -> bool:
        try:
            await state["publisher"].send(topic, key, value, trace.headers())
        except PublishError as exc:
            log.error("Kafka did not acknowledge a notification in time: %s", exc)
            return False
        except TimeoutError:
            # The safety net: librdkafka may still deliver the record later.
            log.error("no verdict from Kafka within %.1f s", answer_within_s)
            return False
        return True

    async def challenge(request: Request) -> Response:
        code = request.query_params.get("challengeCode", "")
        if not code.strip():
            metrics.count("challenge_rejected")
            return _error(400, "missing_challenge", "challengeCode is required")
        metrics.count("challenge")
        return JSONResponse(
            {"challengeCode": code, "challengeResponse": challenge_response(secret, code)}
        )

    async def notification(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        # ASGI names headers in lower case; the first of a repeated header counts.
        headers: dict[bytes, bytes] = dict(reversed(scope["headers"]))
        trace = tracing.continued(headers.get(b"traceparent"))
        with tracing.traced(trace):
            await _notification(scope, receive, send, headers, trace, started)

    async def _notification(
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        trace: Trace,
        started: float,
    ) -> None:
        try:
            body = await _read_body(scope, receive, settings.ingress_max_body_bytes)
        except BodyTooLarge as exc:
            metrics.count("too_large")
            return await _send_error(send, 413, "too_large", f"body over {exc.limit} bytes")
        except ClientGone:
            return None
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.split(";")[0].strip().lower() != "application/json":
            metrics.count("unsupported_media_type")
            return await _send_error(
                send, 415, "unsupported_media_type", "expected application/json"
            )
        signature = headers.get(b"x-li-signature")
        variant = verify(secret, body, signature.decode("latin-1") if signature else None)
        if variant is None:
            metrics.count("bad_signature")
            # No body in the log: it holds personal data of a sender we cannot trust.
            client = scope.get("client")
            log.warning(
                "rejected a notification of %d bytes from %s: bad or missing signature",
                len(body),
                client[0] if client else "?",
            )
            return await _send_error(send, 401, "bad_signature", "X-LI-Signature does not match")
        metrics.count_variant(variant.value)
        try:
            lead = LeadNotification.model_validate_json(body)
            lead_id = lead.lead_id()
            text = body.decode("utf-8")
        except (ValidationError, ValueError) as exc:
            return await _invalid(send, body, exc, trace)
        envelope = received_notification(datetime.now(UTC), variant.value, text)
        if not await publish(topics.notifications, lead_id.encode(), envelope, trace):
            return await _unavailable(send)
        # The first line of the lead's trace (the metrics count; this says which lead).
        log.info(
            "notification %s of lead %s published to %s",
            lead.lead_action,
            lead_id,
            topics.notifications,
            extra={"lead_id": lead_id},
        )
        metrics.count("accepted")
        metrics.observe_accept(time.perf_counter() - started)
        return await _send_body(send, 200, _ACCEPTED)

    async def _unavailable(send: Send) -> None:
        metrics.count("unavailable")
        await _send_error(send, 503, "unavailable", "not stored; Kafka is unavailable")

    async def _invalid(send: Send, body: bytes, exc: Exception, trace: Trace) -> None:
        reason = " ".join(str(exc).splitlines()[:2])[:300]
        event = ErrorEvent(
            error_id=uuid.uuid5(uuid.NAMESPACE_OID, hashlib.sha256(body).hexdigest()),
            occurred_at=datetime.now(UTC),
            stage="ingress",
            code="invalid_notification",
            message=f"an authentic notification could not be read: {reason}",
            raw_ref={**_raw_ref(body), tracing.TRACEPARENT: trace.traceparent},
        )
        if not await publish(topics.errors, b"", event.model_dump_json().encode(), trace):
            return await _unavailable(send)
        metrics.count("invalid")
        await _send_error(send, 400, "invalid_notification", reason)

    async def prometheus(_request: Request) -> Response:
        body = leadsync_metrics.exposition(metrics.registry, leadsync_metrics.PROCESS)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    # /healthz: alive; /readyz: Kafka answers for the topics it writes (the receiver has no
    # database). A receiver that is not ready answers LinkedIn 503 anyway (guarantee 1).
    readiness = {
        "kafka": KafkaProbe(
            settings, [topics.notifications, topics.errors], settings.readiness_timeout_s
        )
    }
    return _IngressApp(
        notification,
        routes=[
            Route(WEBHOOK_PATH, challenge, methods=["GET"]),
            *health_routes(readiness, settings.readiness_timeout_s),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
