"""One exchange with LinkedIn: paced, retried with backoff, and turned into a typed error.

A call is retried on 429 and 500/502/503/504 and when no answer came back at all. Calls that
are not idempotent (creating a subscription, redeeming an authorization code) are retried
only when LinkedIn cannot have acted on them: a 429, or a connection that never opened. One
log line is written per retry, with the status and the attempt; the URL is logged without
its query and no header is ever logged, so no token or secret can reach a log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import httpx

from linkedin.clock import Clock
from linkedin.errors import Unavailable, error_from_response
from linkedin.pacing import RETRY_STATUSES, RateLimiter, RetryPolicy, parse_retry_after

log = logging.getLogger("linkedin")

# Failures where the request certainly never reached LinkedIn.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Sender:
    """Sends requests built by the caller; returns only 2xx responses."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        policy: RetryPolicy,
        clock: Clock,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.http = http
        self.policy = policy
        self.clock = clock
        self.limiter = limiter
        # Secrets every error text is scrubbed of, whichever call it came from.
        self.secret_source: Callable[[], Iterable[str]] | None = None

    async def send(
        self,
        build: Callable[[], httpx.Request],
        *,
        idempotent: bool = True,
        secrets: Iterable[str] = (),
    ) -> httpx.Response:
        """``build`` is called per attempt, so a refreshed token or a fresh body is used."""
        secrets = [*secrets, *(self.secret_source() if self.secret_source else ())]
        attempt = 0
        while True:
            attempt += 1
            request = build()
            if self.limiter is not None:
                await self.limiter.wait()
            response = await self._exchange(request)
            if not isinstance(response, httpx.Response):
                failure = response
                # Only the exception's type is kept: its text and its context (kept alive by
                # ``raise from``) are httpx's, and nothing guarantees what they carry.
                retriable = idempotent or issubclass(failure, _NOT_SENT)
                if not retriable or attempt >= self.policy.max_attempts:
                    raise Unavailable(
                        f"LinkedIn unreachable ({request.method} {request.url.path}): "
                        f"{failure.__name__}"
                    )
                await self._pause(request, attempt, failure.__name__, None)
                continue
            if response.is_success:
                return response
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock.time())
            error = error_from_response(response, secrets=secrets, retry_after_s=retry_after)
            if not self._should_retry(response.status_code, idempotent, attempt, retry_after):
                raise error
            await self._pause(request, attempt, str(response.status_code), retry_after)

    async def _exchange(
        self, request: httpx.Request
    ) -> httpx.Response | type[httpx.TransportError]:
        try:
            response = await self.http.send(request)
            await response.aread()
        except httpx.TransportError as exc:
            return type(exc)
        return response

    def _should_retry(
        self, status: int, idempotent: bool, attempt: int, retry_after: float | None
    ) -> bool:
        if status not in RETRY_STATUSES or attempt >= self.policy.max_attempts:
            return False
        if not idempotent and status != 429:
            return False
        return retry_after is None or retry_after <= self.policy.max_retry_after_s

    async def _pause(
        self, request: httpx.Request, attempt: int, reason: str, retry_after: float | None
    ) -> None:
        delay = self.policy.delay_s(attempt, retry_after)
        log.warning(
            "LinkedIn %s %s: %s on attempt %d/%d; retrying in %.2fs%s",
            request.method,
            request.url.path,
            reason,
            attempt,
            self.policy.max_attempts,
            delay,
            " (Retry-After)" if retry_after is not None else "",
        )
        await self.clock.sleep(delay)
