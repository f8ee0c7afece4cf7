"""One member's authenticated session with the Rest.li API: headers, tokens, JSON, pages.

Every call carries the bearer token, ``LinkedIn-Version`` and ``X-Restli-Protocol-Version:
2.0.0``. The URL arrives finished (query included, built by :mod:`linkedin.restli`)
and is given to httpx as text, never as ``params=``, so the bytes on the wire are the bytes
built. A 401 is answered by one token refresh and one more try; a second 401 means the
member must reconnect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import ValidationError

from linkedin import restli
from linkedin.errors import MalformedResponse, ReconnectRequired, Unauthorized
from linkedin.paging import M, Page, iter_pages
from linkedin.sending import Sender
from linkedin.tokens import AccessTokens

RESTLI_PROTOCOL_VERSION = "2.0.0"

QueryPairs = list[tuple[str, str | int | bool]]


class ApiSession:
    def __init__(
        self,
        api_url: str,
        version: str,
        sender: Sender,
        tokens: AccessTokens,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.version = version
        self._sender = sender
        self._tokens = tokens

    async def pages(
        self, path: str, pairs: QueryPairs, model: type[M], page_size: int
    ) -> AsyncIterator[Page[M]]:
        """``path``'s finder with ``pairs``, paged with ``count``/``start`` to its end."""

        async def fetch(start: int, count: int) -> dict[str, Any]:
            query = restli.query(*pairs, ("count", count), ("start", start))
            return await self.get_json(path, query)

        async for page in iter_pages(fetch, model, page_size=page_size):
            yield page

    async def get_json(
        self, path: str, query: str | None = None, *, url: str | None = None
    ) -> dict[str, Any]:
        response = await self.call("GET", path, query=query, url=url)
        where = url or f"/{path}"
        try:
            body = response.json()
        except ValueError:
            raise MalformedResponse(f"LinkedIn answered GET {where} with a non-JSON body") from None
        if not isinstance(body, dict):
            raise MalformedResponse(f"LinkedIn answered GET {where} with JSON that is no object")
        return body

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: str | None = None,
        json: dict[str, Any] | None = None,
        idempotent: bool = True,
        url: str | None = None,
    ) -> httpx.Response:
        """A 2xx response to ``method`` on ``<api_url>/<path>?<query>`` (or on ``url``, for
        the few unversioned APIs outside ``/rest``), or a typed error."""
        url = url or f"{self.api_url}/{path}" + (f"?{query}" if query else "")
        token = await self._tokens.current()
        for second_try in (False, True):

            def build(token: str = token) -> httpx.Request:
                headers = {
                    "Authorization": f"Bearer {token}",
                    "LinkedIn-Version": self.version,
                    "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
                }
                return self._sender.http.build_request(method, url, headers=headers, json=json)

            try:
                # Error text is scrubbed of tokens and the secret by the sender's secret_source.
                return await self._sender.send(build, idempotent=idempotent)
            except ReconnectRequired:
                raise
            except Unauthorized as exc:
                if second_try:
                    raise ReconnectRequired(
                        "LinkedIn rejected a freshly refreshed token; the member must reconnect",
                        status=exc.status,
                        service_error_code=exc.service_error_code,
                        message=exc.message,
                    ) from None
                token = await self._tokens.after_unauthorized(token)
        raise AssertionError("unreachable")  # pragma: no cover


def parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Say which fields, never the values: a lead's answers are personal data.
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise MalformedResponse(
            f"LinkedIn sent a {model.__name__} that does not fit: {', '.join(fields)}"
        ) from None
