"""Errors in LinkedIn's JSON shape: ``{"message": ..., "serviceErrorCode": N, "status": N}``.

Every rejection on the ``/rest`` paths raises :class:`RestliError`; the application turns
it into a response with exactly those three keys. The service error codes LinkedIn
publishes are used where known (65600-65604 for tokens, 100 for permissions); the others
are the sandbox's own, stable so tests can assert them.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from leadsync.errors import PermanentError

# Tokens (LinkedIn's published codes).
INVALID_TOKEN = 65600
REVOKED_TOKEN = 65601
EXPIRED_TOKEN = 65602
EMPTY_TOKEN = 65604
# Permissions and throttling (LinkedIn's codes as seen in the wild).
ACCESS_DENIED = 100
THROTTLED = 101
# The sandbox's own codes where LinkedIn's are unpublished.
BAD_SYNTAX = 400
NOT_FOUND = 404
VERSION_MISSING = 4001
PROTOCOL_MISSING = 4002
VERSION_INACTIVE = 4261
SERVER_ERROR = 500


class RestliError(PermanentError):
    """A request LinkedIn would refuse: the status, a message and a service error code."""

    def __init__(
        self,
        status: int,
        message: str,
        service_error_code: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.service_error_code = service_error_code
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {
            "message": self.message,
            "serviceErrorCode": self.service_error_code,
            "status": self.status,
        }

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()),
            status_code=self.status,
            headers=self.headers,
            media_type="application/json",
        )


def bad_request(message: str) -> RestliError:
    return RestliError(400, message, BAD_SYNTAX)


def not_found(message: str) -> RestliError:
    return RestliError(404, message, NOT_FOUND)


def forbidden(method: str, path: str) -> RestliError:
    return RestliError(403, f"Not enough permissions to access: {method} {path}", ACCESS_DENIED)
