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

from leadsync.retry import RetryPolicy
from linkedin.call_metrics import count_call
from linkedin.clock import Clock
from linkedin.errors import LinkedInError, Unavailable, error_from_response
from linkedin.pacing import RETRY_STATUSES, RateLimiter, parse_retry_after

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
        sent: list[httpx.Request] = []

        async def attempt() -> httpx.Response:
            request = build()
            sent.append(request)
            if self.limiter is not None:
                await self.limiter.wait()
            response = await self._exchange(request)
            if not isinstance(response, httpx.Response):
                # Only the exception's type is kept: its text and its context (kept alive by
                # ``raise from``) are httpx's, and nothing guarantees what they carry.
                raise _Unsent(
                    f"LinkedIn unreachable ({request.method} {request.url.path}): "
                    f"{response.__name__}",
                    not_sent=issubclass(response, _NOT_SENT),
                )
            if response.is_success:
                return response
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock.time())
            raise error_from_response(response, secrets=secrets, retry_after_s=retry_after)

        def worth_retrying(exc: BaseException) -> bool:
            if isinstance(exc, _Unsent):
                return idempotent or exc.not_sent
            if isinstance(exc, LinkedInError) and exc.status in RETRY_STATUSES:
                return idempotent or exc.status == 429
            return False

        def log_retry(exc: BaseException, attempt: int, delay: float) -> None:
            request = sent[-1]
            status = getattr(exc, "status", None)
            log.warning(
                "LinkedIn %s %s: %s on attempt %d/%s; retrying in %.2fs%s",
                request.method,
                request.url.path,
                status if status is not None else exc.args[0].rsplit(": ", 1)[-1],
                attempt,
                self.policy.max_attempts,
                delay,
                " (Retry-After)" if getattr(exc, "retry_after_s", None) is not None else "",
            )

        try:
            return await self.policy.call(
                attempt,
                what="LinkedIn call",
                retry_if=worth_retrying,
                on_retry=log_retry,
                sleep=self.clock.sleep,
            )
        except _Unsent as exc:
            raise Unavailable(str(exc)) from None

    async def _exchange(
        self, request: httpx.Request
    ) -> httpx.Response | type[httpx.TransportError]:
        try:
            response = await self.http.send(request)
            await response.aread()
        except httpx.TransportError as exc:
            count_call(request, None)
            return type(exc)
        count_call(request, response.status_code)
        return response


class _Unsent(Unavailable):
    """No HTTP answer came back; ``not_sent`` when the request never left."""

    def __init__(self, summary: str, *, not_sent: bool) -> None:
        super().__init__(summary)
        self.not_sent = not_sent
