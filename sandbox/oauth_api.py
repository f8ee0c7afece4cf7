"""``/oauth/v2/authorization``, ``/oauth/v2/accessToken`` and ``/oauth/v2/revoke``.

The authorization page auto-approves the configured member: a valid request is answered
at once with a 302 to ``redirect_uri?code=...&state=...`` (or, with
``member_denies_consent``, ``?error=user_cancelled_authorize&...`` as when a member
cancels). Errors from the OAuth endpoints use OAuth's own shape (``{"error",
"error_description"}``), not Rest.li's. The client secret is only ever read from a form
body and compared in constant time; it is never echoed.
"""

from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.bodies import read_form
from sandbox.oauth import SCOPES, OAuthError
from sandbox.state import SandboxState

log = logging.getLogger("sandbox.oauth")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s#]*$")


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def oauth_error(exc: OAuthError) -> Response:
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status
    )


def _check_client(state: SandboxState, form: dict[str, str]) -> None:
    config = state.config
    client_id_ok = hmac.compare_digest(
        form.get("client_id", "").encode(), config.client_id.encode()
    )
    secret = config.client_secret.get_secret_value().encode()
    secret_ok = hmac.compare_digest(form.get("client_secret", "").encode(), secret)
    if not (client_id_ok and secret_ok):
        raise OAuthError(401, "invalid_client", "Client authentication failed")


def _redirect_allowed(state: SandboxState, redirect_uri: str) -> bool:
    if not _URL.match(redirect_uri):
        return False
    allowed = state.config.redirect_uris
    return not allowed or redirect_uri in allowed


async def authorize(request: Request) -> Response:
    state = _state(request)
    params = request.query_params
    if params.get("client_id") != state.config.client_id:
        return oauth_error(OAuthError(400, "invalid_request", "unknown client_id"))
    redirect_uri = params.get("redirect_uri", "")
    if not _redirect_allowed(state, redirect_uri):
        return oauth_error(OAuthError(400, "invalid_request", "redirect_uri is not registered"))
    answer: dict[str, str] = {}
    scopes = [s for s in re.split(r"[ ,]+", params.get("scope", "")) if s] or list(SCOPES)
    if params.get("response_type") != "code":
        answer = {"error": "unsupported_response_type", "error_description": "expected code"}
    elif unknown := [s for s in scopes if s not in SCOPES]:
        answer = {"error": "invalid_scope", "error_description": f"unknown scope {unknown[0]}"}
    elif state.config.member_denies_consent:
        answer = {
            "error": "user_cancelled_authorize",
            "error_description": "The user cancelled the authorization",
        }
    else:
        answer = {"code": state.tokens.issue_code(redirect_uri, scopes)}
        config = state.config
        log.info(
            "OAuth: %s %s approved %s", config.member_first_name, config.member_last_name, scopes
        )
    if "state" in params:
        answer["state"] = params["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(answer)}", status_code=302)


async def access_token(request: Request) -> Response:
    state = _state(request)
    config = state.config
    try:
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            raise OAuthError(400, "invalid_request", "expected a form-encoded body")
        form = await read_form(request)
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
        _check_client(state, form)
        if grant_type == "authorization_code":
            missing = [k for k in ("code", "redirect_uri") if not form.get(k)]
            if missing:
                raise OAuthError(400, "invalid_request", f"missing {', '.join(missing)}")
            answer = state.tokens.exchange_code(
                form["code"],
                form["redirect_uri"],
                state.catalog.member_urn,
                config.access_token_ttl_s,
                config.refresh_token_ttl_s,
            )
        else:
            answer = state.tokens.refresh(form.get("refresh_token", ""), config.access_token_ttl_s)
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


async def revoke(request: Request) -> Response:
    state = _state(request)
    try:
        form = await read_form(request)
        _check_client(state, form)
        if not form.get("token"):
            raise OAuthError(400, "invalid_request", "missing token")
    except OAuthError as exc:
        return oauth_error(exc)
    # Unknown tokens are answered 200 too (RFC 7009): nothing to tell an attacker.
    state.tokens.revoke(form["token"])
    return Response(status_code=200)
