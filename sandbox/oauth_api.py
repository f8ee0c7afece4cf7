"""``/oauth/v2/authorization``, ``/oauth/v2/accessToken`` and ``/oauth/v2/revoke``.

The authorization page auto-approves as the member signed in (the demo member unless
``POST /sandbox/signin`` chose another; the sandbox-only ``sandbox_member`` parameter picks
one for a single request): a valid request is answered at once with a 302 to
``redirect_uri?code=...&state=...`` (or, with ``member_denies_consent``,
``?error=user_cancelled_authorize&...`` as when a member cancels). The ``redirect_uri``
must be one of ``config.redirect_uris`` character for character, as LinkedIn compares them
(any http(s) URI while none is registered), and the code exchange must send the same one.
Errors from the OAuth endpoints use OAuth's own shape (``{"error", "error_description"}``),
not Rest.li's. The client secret is only ever read from a form body and compared in
constant time; it is never echoed.
"""

from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.bodies import read_form
from sandbox.config import REDIRECT_URI
from sandbox.members import Member, find_member
from sandbox.oauth import DEFAULT_SCOPES, SCOPES, OAuthError
from sandbox.state import SandboxState

log = logging.getLogger("sandbox.oauth")
SIGNIN_PARAMETER = "sandbox_member"  # the sandbox's own: who approves this one request
REDIRECT_REFUSED = "The redirect_uri does not match the registered value"


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


def redirect_allowed(registered: tuple[str, ...], redirect_uri: str) -> bool:
    """LinkedIn's rule: one of the registered URIs exactly (scheme, host, port, path and
    query, case included; no prefix, no trailing-slash or default-port leniency), or, with
    none registered (the sandbox's default), any http(s) URI without a fragment."""
    if not REDIRECT_URI.match(redirect_uri):
        return False
    return not registered or redirect_uri in registered


def _approver(state: SandboxState, designation: str | None) -> Member:
    if designation is None:
        return state.signed_in
    member = find_member(state.catalog.members, designation)
    if member is None:
        raise OAuthError(400, "invalid_request", f"{SIGNIN_PARAMETER}: no member {designation}")
    return member


async def authorize(request: Request) -> Response:
    state = _state(request)
    params = request.query_params
    if params.get("client_id") != state.config.client_id:
        return oauth_error(OAuthError(400, "invalid_request", "unknown client_id"))
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        return oauth_error(OAuthError(400, "invalid_request", "missing redirect_uri"))
    if not redirect_allowed(state.config.redirect_uris, redirect_uri):
        return oauth_error(OAuthError(400, "invalid_redirect_uri", REDIRECT_REFUSED))
    try:
        member = _approver(state, params.get(SIGNIN_PARAMETER))
    except OAuthError as exc:
        return oauth_error(exc)
    answer: dict[str, str] = {}
    scopes = [s for s in re.split(r"[ ,]+", params.get("scope", "")) if s] or list(DEFAULT_SCOPES)
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
        answer = {"code": state.tokens.issue_code(redirect_uri, scopes, member.urn)}
        log.info("OAuth: %s (%s) approved %s", member.name, member.urn, scopes)
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
