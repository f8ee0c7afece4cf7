"""LinkedIn's OAuth 2.0 endpoints: the authorization page, code exchange and refresh.

Both grants are form-encoded POSTs to ``<oauth_url>/accessToken`` with the client secret in
the body, never in a URL. A refresh token LinkedIn refuses (400 ``invalid_request``, or 401)
means the connection is revoked or expired: :class:`ReconnectRequired`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr

from linkedin.clock import Clock
from linkedin.errors import BadRequest, MalformedResponse, ReconnectRequired, Unauthorized
from linkedin.sending import Sender
from schemas.tokens import TokenPair

# What reading leads needs: lead forms and responses, ad accounts, organization pages.
# Event leads also need r_events, which the caller adds when it imports them.
# The lead scopes, and OpenID Connect's (Sign In with LinkedIn) so that LinkedIn says which
# member connected (``LinkedInClient.member``).
DEFAULT_SCOPES = (
    "r_marketing_leadgen_automation",
    "r_ads",
    "r_organization_admin",
    "openid",
    "profile",
)


class OAuthClient:
    def __init__(
        self, oauth_url: str, client_id: str, client_secret: SecretStr, sender: Sender
    ) -> None:
        self.oauth_url = oauth_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._sender = sender

    @property
    def _clock(self) -> Clock:
        return self._sender.clock

    def authorization_url(
        self, redirect_uri: str, state: str, scopes: Sequence[str] = DEFAULT_SCOPES
    ) -> str:
        """The page the member is sent to; ``state`` comes back with the code (CSRF check)."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
        }
        return f"{self.oauth_url}/authorization?{urlencode(params, quote_via=quote)}"

    async def exchange_code(self, code: str, redirect_uri: str) -> TokenPair:
        """Redeem the code from the redirect. Codes are single-use, so a call that may have
        reached LinkedIn is not retried."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }
        return await self._token_call(form, idempotent=False, secrets=[code])

    async def refresh(
        self, refresh_token: SecretStr, previous: TokenPair | None = None
    ) -> TokenPair:
        """A new access token. LinkedIn does not extend the refresh token, so when the answer
        leaves it out the ``previous`` one and its expiry are kept."""
        token = refresh_token.get_secret_value()
        form = {"grant_type": "refresh_token", "refresh_token": token}
        try:
            return await self._token_call(form, idempotent=True, secrets=[token], previous=previous)
        except (BadRequest, Unauthorized) as exc:
            raise ReconnectRequired(
                "LinkedIn refused the refresh token (revoked or expired); "
                "the member must reconnect",
                status=exc.status,
                message=exc.message,
            ) from None

    async def _token_call(
        self,
        form: dict[str, str],
        *,
        idempotent: bool,
        secrets: list[str],
        previous: TokenPair | None = None,
    ) -> TokenPair:
        body = {**form, "client_id": self.client_id}
        body["client_secret"] = self._client_secret.get_secret_value()
        url = f"{self.oauth_url}/accessToken"

        def build() -> httpx.Request:
            return self._sender.http.build_request(
                "POST", url, data=body, headers={"Accept": "application/json"}
            )

        all_secrets = [*secrets, body["client_secret"]]
        response = await self._sender.send(build, idempotent=idempotent, secrets=all_secrets)
        return _token_pair(response, self._clock.time(), previous)


def _token_pair(response: httpx.Response, now: float, previous: TokenPair | None) -> TokenPair:
    try:
        data: Any = response.json()
        access = data["access_token"]
        expires_in = float(data["expires_in"])
    except (ValueError, KeyError, TypeError):
        # The body may hold a token: name nothing from it.
        raise MalformedResponse(
            "LinkedIn's token answer lacks access_token or expires_in"
        ) from None
    if not isinstance(access, str) or not access:
        raise MalformedResponse("LinkedIn's token answer has an empty access_token")
    refresh = data.get("refresh_token")
    refresh_in = data.get("refresh_token_expires_in")
    if isinstance(refresh, str) and refresh:
        refresh_token: SecretStr | None = SecretStr(refresh)
        refresh_at = now + float(refresh_in) if isinstance(refresh_in, int | float) else None
    elif previous is not None:
        refresh_token, refresh_at = previous.refresh_token, previous.refresh_expires_at
    else:
        refresh_token, refresh_at = None, None
    scope = data.get("scope")
    return TokenPair(
        access_token=SecretStr(access),
        access_expires_at=now + expires_in,
        refresh_token=refresh_token,
        refresh_expires_at=refresh_at,
        scope=scope if isinstance(scope, str) else (previous.scope if previous else ""),
    )
