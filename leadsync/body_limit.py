"""The one rule for how large a request body may be, for every ASGI app of leadsync.

A declared ``Content-Length`` above the limit is refused before a byte of the body is read
(:func:`refuse_declared`); a body sent without one (chunked), or longer than it declared, is
counted as it arrives and refused as soon as it passes the limit (:func:`limit_receive`).
Either way the refusal is :class:`BodyTooLarge`, which carries the limit; each app turns it
into its own 413 answer (the webhook receiver in ``ingest.webhook.app``, the admin API's
middleware in ``admin.limits``). A body of exactly the limit is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message, Receive, Scope

from leadsync.errors import PermanentError


class BodyTooLarge(PermanentError):
    """A request body over its limit: the same request is refused the same way."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def declared_size(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The size the first ``Content-Length`` header declares (ASGI names headers in lower
    case), or ``None`` when there is none or it is not a plain decimal number, in which case
    the body is only counted as it arrives."""
    for name, value in headers:
        if name == b"content-length":
            if not value.isdigit():  # bytes: ASCII digits only, no sign, space or "_"
                return None
            try:
                return int(value)
            except ValueError:  # more digits than int() converts (4300): counted instead
                return None
    return None


def refuse_declared(scope: Scope, limit: int) -> None:
    """Raise :class:`BodyTooLarge` if the request declares a body larger than ``limit``."""
    declared = declared_size(scope.get("headers", ()))
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)


def limit_receive(receive: Receive, limit: int) -> Receive:
    """``receive``, counting the body's chunks as they arrive: the call that brings the total
    past ``limit`` raises :class:`BodyTooLarge` instead of returning that chunk. Other
    messages (``http.disconnect``) pass through."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited
