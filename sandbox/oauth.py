"""OAuth 2.0 as LinkedIn runs it: codes, access and refresh tokens, revocation.

A *grant* is one member's consent to the app: the authorization code it started from (which
remembers the member who approved it and the exact ``redirect_uri`` it was issued for), the
refresh token, and every access token minted from it; each member has grants of their own.
Tokens expire on the sandbox clock (access 60 days, refresh 365 days by default); refreshing
mints a new access token but never extends the refresh token; revoking any token of a grant
revokes the whole grant, so the member must reconnect. :meth:`TokenStore.authenticate` tells
a REST call's 401 apart: missing, unknown, expired or revoked, each with LinkedIn's service
error code.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from leadsync.errors import PermanentError
from sandbox.clock import Clock
from sandbox.errors import EMPTY_TOKEN, EXPIRED_TOKEN, INVALID_TOKEN, REVOKED_TOKEN, RestliError

CODE_TTL_MS = 30 * 60 * 1000  # LinkedIn's authorization codes live 30 minutes
# Granted when a request names none (the authorization page without ``scope``, a minted token).
DEFAULT_SCOPES = ("r_marketing_leadgen_automation", "r_ads", "r_organization_admin", "r_events")
# Also known: OpenID Connect's, for ``GET /v2/userinfo``.
SCOPES = (*DEFAULT_SCOPES, "openid", "profile", "email")
# LinkedIn's one answer to a code it will not redeem, whatever the reason.
CODE_REFUSED = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)


class OAuthError(PermanentError):
    """An OAuth endpoint refusal: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class Grant:
    id: int
    member_urn: str
    scopes: list[str]
    refresh_token: str
    refresh_expires_ms: int
    revoked: bool = False
    access_tokens: dict[str, int] = field(default_factory=dict)  # token -> expiry (ms)


@dataclass
class _Code:
    redirect_uri: str
    scopes: list[str]
    member_urn: str
    expires_ms: int


def _token(prefix: str) -> str:
    # LinkedIn's tokens are about 500 characters; clients must store them whole.
    return prefix + secrets.token_urlsafe(360)


class TokenStore:
    """Every code, grant and token the sandbox has issued."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._codes: dict[str, _Code] = {}
        self.grants: dict[int, Grant] = {}
        self._by_access: dict[str, int] = {}
        self._by_refresh: dict[str, int] = {}

    def issue_code(self, redirect_uri: str, scopes: list[str], member_urn: str) -> str:
        """A code ``member_urn`` approved, redeemable once with exactly ``redirect_uri``."""
        code = "AQ" + secrets.token_urlsafe(48)
        expires = self._clock.now_ms() + CODE_TTL_MS
        self._codes[code] = _Code(redirect_uri, scopes, member_urn, expires)
        return code

    def exchange_code(
        self, code: str, redirect_uri: str, access_ttl_s: int, refresh_ttl_s: int
    ) -> dict[str, Any]:
        """Redeem a code for its member. The ``redirect_uri`` must be the authorization's,
        character for character (``invalid_redirect_uri``); an unknown, used or expired code
        is ``invalid_request``. The code is spent either way."""
        issued = self._codes.pop(code, None)
        if issued is None or issued.expires_ms < self._clock.now_ms():
            raise OAuthError(400, "invalid_request", CODE_REFUSED)
        if issued.redirect_uri != redirect_uri:
            raise OAuthError(400, "invalid_redirect_uri", CODE_REFUSED)
        return self.new_grant(issued.member_urn, issued.scopes, access_ttl_s, refresh_ttl_s)

    def new_grant(
        self, member_urn: str, scopes: list[str], access_ttl_s: int, refresh_ttl_s: int
    ) -> dict[str, Any]:
        """Mint a grant and its first token pair; returns the token endpoint's answer."""
        grant = Grant(
            id=len(self.grants) + 1,
            member_urn=member_urn,
            scopes=list(scopes),
            refresh_token=_token("AQX"),
            refresh_expires_ms=self._clock.now_ms() + refresh_ttl_s * 1000,
        )
        self.grants[grant.id] = grant
        self._by_refresh[grant.refresh_token] = grant.id
        return self._mint_access(grant, access_ttl_s)

    def refresh(self, refresh_token: str, access_ttl_s: int) -> dict[str, Any]:
        grant_id = self._by_refresh.get(refresh_token)
        grant = self.grants.get(grant_id) if grant_id is not None else None
        if grant is None or grant.revoked or grant.refresh_expires_ms <= self._clock.now_ms():
            raise OAuthError(400, "invalid_request", "the refresh token is invalid or expired")
        return self._mint_access(grant, access_ttl_s)

    def _mint_access(self, grant: Grant, access_ttl_s: int) -> dict[str, Any]:
        now = self._clock.now_ms()
        token = _token("AQV")
        grant.access_tokens[token] = now + access_ttl_s * 1000
        self._by_access[token] = grant.id
        return {
            "access_token": token,
            "expires_in": access_ttl_s,
            "refresh_token": grant.refresh_token,
            # Rounded up: a grant made a millisecond ago still has its whole 365 days.
            "refresh_token_expires_in": max(0, -(-(grant.refresh_expires_ms - now) // 1000)),
            "scope": ",".join(grant.scopes),
        }

    def revoke(self, token: str) -> bool:
        """Revoke the grant ``token`` belongs to; False if the token is unknown."""
        grant_id = self._by_access.get(token, self._by_refresh.get(token))
        if grant_id is None:
            return False
        self.grants[grant_id].revoked = True
        return True

    def revoke_all(self) -> int:
        live = [g for g in self.grants.values() if not g.revoked]
        for grant in live:
            grant.revoked = True
        return len(live)

    def authenticate(self, authorization: str | None) -> Grant:
        """The grant behind an ``Authorization: Bearer`` header, or a 401 RestliError."""
        if not authorization or not authorization.startswith("Bearer ") or not authorization[7:]:
            raise RestliError(401, "Empty oauth2_access_token", EMPTY_TOKEN)
        token = authorization[7:].strip()
        grant_id = self._by_access.get(token)
        if grant_id is None:
            raise RestliError(401, "Invalid access token", INVALID_TOKEN)
        grant = self.grants[grant_id]
        if grant.revoked:
            raise RestliError(
                401, "The token used in the request has been revoked by the user", REVOKED_TOKEN
            )
        if grant.access_tokens[token] <= self._clock.now_ms():
            raise RestliError(401, "The token used in the request has expired", EXPIRED_TOKEN)
        return grant

    def to_state(self) -> list[dict[str, Any]]:
        return [asdict(g) for g in self.grants.values()]

    def restore(self, grants: list[dict[str, Any]]) -> None:
        for data in grants:
            grant = Grant(**data)
            self.grants[grant.id] = grant
            self._by_refresh[grant.refresh_token] = grant.id
            for token in grant.access_tokens:
                self._by_access[token] = grant.id
