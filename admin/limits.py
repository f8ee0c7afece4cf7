"""The request body-size limit every admin route has (ASGI middleware).

The rule is :mod:`leadsync.body_limit`'s: a declared ``Content-Length`` above the limit is
refused before the body is read; a body sent without one (chunked) is counted as it arrives
and refused once it passes the limit. Either way the answer is 413 in the API's error shape.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin.error_responses import error_response
from leadsync.body_limit import BodyTooLarge, limit_receive, refuse_declared

# Mapping sets and settings are a few KiB; nothing the API accepts comes near this.
MAX_BODY_BYTES = 1024 * 1024


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            refuse_declared(scope, self.max_bytes)
        except BodyTooLarge as exc:
            response = error_response(413, "content_too_large", str(exc))
            await response(scope, receive, send)
            return
        counted = limit_receive(receive, self.max_bytes)

        async def limited_receive() -> Message:
            # Raised from ``receive`` as an HTTPException: FastAPI passes that on from its body
            # reading (to the handler that answers 413), where any other exception becomes 400.
            try:
                return await counted()
            except BodyTooLarge as exc:
                raise HTTPException(413, str(exc)) from exc

        await self.app(scope, limited_receive, send)
