"""What can go wrong talking to LinkedIn, split by whether a retry can help.

::

    LinkedInError                 status, service_error_code, message (LinkedIn's own words)
    │                             and retry_after_s when LinkedIn sent Retry-After
    ├── and leadsync.errors.RetriableError: wait and try again (the client already did)
    │   ├── Throttled             429
    │   ├── ServerError           500, 502, 503, 504
    │   └── Unavailable           no HTTP answer at all: connection refused, reset, timeout
    └── and leadsync.errors.PermanentError: the same call will fail the same way
        ├── BadRequest            400; with Rest.li this is most often the query encoding
        ├── Unauthorized          401 that a token refresh did not cure
        │   └── ReconnectRequired the connection is revoked or expired: the member reconnects
        ├── Forbidden             403; missing scope, or no role on the account or page
        ├── NotFound              404
        ├── VersionSunset         426; the LinkedIn-Version setting is past its life
        ├── UnexpectedStatus      any other non-2xx answer (501, 409, 3xx...)
        └── MalformedResponse     2xx whose body is not what the API documents

Every class is a :class:`leadsync.errors.LeadsyncError`, retriable or permanent, so the one
retry mechanism (:mod:`leadsync.retry`) and every caller read them like any other failure.

Messages are built from the method, the path and LinkedIn's ``message``; tokens and the
client secret never reach them (the client scrubs LinkedIn's text of any secret it knows,
in case an echo of a request ever carries one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from leadsync.errors import LeadsyncError, PermanentError, RetriableError

REDACTED = "[redacted]"


class LinkedInError(LeadsyncError):
    """A LinkedIn call failed. ``retriable`` says whether trying again later can help."""

    def __init__(
        self,
        summary: str,
        *,
        status: int | None = None,
        service_error_code: int | None = None,
        message: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after_s = retry_after_s
        self.service_error_code = service_error_code
        self.message = message
        details = [summary]
        if status is not None:
            details.append(f"status {status}")
        if service_error_code is not None:
            details.append(f"serviceErrorCode {service_error_code}")
        text = "; ".join(details)
        super().__init__(f"{text}: {message}" if message else text)

    @property
    def retriable(self) -> bool:
        return isinstance(self, RetriableError)


class Throttled(LinkedInError, RetriableError):
    pass


class ServerError(LinkedInError, RetriableError):
    pass


class Unavailable(LinkedInError, RetriableError):
    pass


class BadRequest(LinkedInError, PermanentError):
    pass


class Unauthorized(LinkedInError, PermanentError):
    pass


class ReconnectRequired(Unauthorized):
    pass


class Forbidden(LinkedInError, PermanentError):
    pass


class NotFound(LinkedInError, PermanentError):
    pass


class VersionSunset(LinkedInError, PermanentError):
    pass


class UnexpectedStatus(LinkedInError, PermanentError):
    pass


class MalformedResponse(LinkedInError, PermanentError):
    pass


_BY_STATUS: dict[int, type[LinkedInError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    426: VersionSunset,
    429: Throttled,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
}

_HINTS: dict[type[LinkedInError], str] = {
    BadRequest: "rejected as malformed (check the Rest.li query encoding)",
    Unauthorized: "rejected the access token",
    Forbidden: "refused: missing scope or no role on the account or page",
    NotFound: "found nothing",
    VersionSunset: "no longer serves this LinkedIn-Version; raise the version setting",
    Throttled: "throttled the call",
    ServerError: "failed on its side",
    UnexpectedStatus: "answered with an unexpected status",
}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret replaced; empty secrets are ignored."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def error_from_response(
    response: httpx.Response, *, secrets: Iterable[str] = (), retry_after_s: float | None = None
) -> LinkedInError:
    """The typed error for a non-2xx answer, from LinkedIn's ``{message, serviceErrorCode}``."""
    status = response.status_code
    cls = _BY_STATUS.get(status, UnexpectedStatus)
    body = _json_object(response)
    message = body.get("message") or body.get("error_description") or body.get("error")
    code = body.get("serviceErrorCode")
    summary = f"LinkedIn {_HINTS[cls]} ({response.request.method} {response.request.url.path})"
    kwargs: dict[str, Any] = {
        "status": status,
        "service_error_code": code if isinstance(code, int) else None,
        "message": redact(message, secrets) if isinstance(message, str) else None,
        "retry_after_s": retry_after_s,
    }
    return cls(summary, **kwargs)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:  # an HTML error page from a proxy, or nothing at all
        return {}
    return body if isinstance(body, dict) else {}
