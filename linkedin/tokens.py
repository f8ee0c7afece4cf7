"""The member's OAuth token pair, where it is kept, and keeping the access token fresh.

The client never holds tokens of its own: it loads the pair from a :class:`TokenStore`
(PostgreSQL, encrypted at rest, in production) and saves every refreshed pair back at once,
so the webhook hydrator and the puller, in different processes, share one connection.

Refresh happens proactively when the access token is within ``refresh_margin_s`` of expiry,
and once more when LinkedIn answers 401 anyway (revoked early, or refreshed elsewhere).
A refresh token that LinkedIn refuses, or a pair with nothing left to refresh with, raises
:class:`ReconnectRequired`: only the member, signing in again, can fix that.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from linkedin.clock import Clock
from linkedin.errors import ReconnectRequired
from schemas.tokens import TokenPair

if TYPE_CHECKING:
    from linkedin.oauth import OAuthClient


class TokenStore(Protocol):
    """Where one LinkedIn connection's token pair lives. Bind one store per connection."""

    async def load(self) -> TokenPair | None:
        """The current pair, or None when the member never connected or disconnected."""
        ...

    async def save(self, tokens: TokenPair) -> None:
        """Replace the pair; called after every successful refresh, before it is used."""
        ...


class InMemoryTokenStore:
    """A store for tests, the sandbox demo and one-off scripts."""

    def __init__(self, tokens: TokenPair | None = None) -> None:
        self.tokens = tokens
        self.saves = 0

    async def load(self) -> TokenPair | None:
        return self.tokens

    async def save(self, tokens: TokenPair) -> None:
        self.tokens = tokens
        self.saves += 1


class AccessTokens:
    """Hands the client a usable access token, refreshing through ``oauth`` when due."""

    def __init__(
        self,
        store: TokenStore,
        oauth: OAuthClient | None,
        clock: Clock,
        *,
        refresh_margin_s: float = 300.0,
    ) -> None:
        self._store = store
        self._oauth = oauth
        self._clock = clock
        self._margin = refresh_margin_s
        self._tokens: TokenPair | None = None
        self._seen: set[str] = set()
        # One refresh at a time; concurrent callers then reuse its result.
        self._lock = asyncio.Lock()

    def secrets(self) -> list[str]:
        """Every token this object has seen, for scrubbing error text: a replaced token may
        still be echoed back by a call that was already on its way."""
        return list(self._seen)

    async def current(self) -> str:
        """An access token good for at least the margin, refreshing it first if need be."""
        tokens = self._tokens or await self._load()
        if self._fresh(tokens):
            return tokens.access_token.get_secret_value()
        async with self._lock:
            tokens = await self._load()  # another process may have refreshed already
            if self._fresh(tokens):
                return tokens.access_token.get_secret_value()
            if tokens.can_refresh(self._clock.time()):
                return await self._refresh(tokens)
            if self._clock.time() < tokens.access_expires_at:
                return tokens.access_token.get_secret_value()  # last days of a final token
            raise ReconnectRequired(
                "the LinkedIn connection has expired; the member must reconnect"
            )

    async def after_unauthorized(self, rejected: str) -> str:
        """A token to retry with after LinkedIn refused ``rejected`` with a 401."""
        async with self._lock:
            tokens = await self._load()
            if tokens.access_token.get_secret_value() != rejected:
                return tokens.access_token.get_secret_value()  # refreshed elsewhere meanwhile
            if not tokens.can_refresh(self._clock.time()):
                raise ReconnectRequired(
                    "LinkedIn rejected the access token and there is no refresh token left; "
                    "the member must reconnect",
                    status=401,
                )
            return await self._refresh(tokens)

    def _fresh(self, tokens: TokenPair) -> bool:
        return self._clock.time() + self._margin < tokens.access_expires_at

    async def _load(self) -> TokenPair:
        tokens = await self._store.load()
        if tokens is None:
            raise ReconnectRequired("no LinkedIn connection is stored; the member must connect")
        self._remember(tokens)
        return tokens

    def _remember(self, tokens: TokenPair) -> None:
        self._tokens = tokens
        self._seen.update(tokens.secrets())

    async def _refresh(self, tokens: TokenPair) -> str:
        if self._oauth is None:
            raise ReconnectRequired("token refresh is not configured; the member must reconnect")
        assert tokens.refresh_token is not None  # can_refresh() said so
        fresh = await self._oauth.refresh(tokens.refresh_token, previous=tokens)
        self._remember(fresh)
        await self._store.save(fresh)
        return fresh.access_token.get_secret_value()
