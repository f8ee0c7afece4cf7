"""Connecting leadsync to a LinkedIn member: the OAuth authorization-code flow.

The member opens the authorization page; LinkedIn redirects to a loopback callback that this
process serves for the duration, with the code, which is exchanged for tokens (stored
encrypted). Against the bundled sandbox the page approves at once, so the flow completes
without a browser: leadsync follows the page's redirect itself. It does so when the OAuth
URL is a loopback one (``make run``), in demo mode (``LEADSYNC_DEMO``: the demo client is
the sandbox's alone, as in docker-compose where the sandbox is ``http://sandbox:8090``), or
when asked (``leadsync linkedin connect --no-browser``); LinkedIn itself always needs the
member's browser.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from leadsync.errors import PermanentError
from leadsync.settings import Settings
from linkedin import InMemoryTokenStore, LinkedInClient, LinkedInError, Member, TokenPair


class ConnectFailed(PermanentError):
    """The OAuth sign-in did not complete: LinkedIn did not authorize, or sent no code."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def approves_without_browser(settings: Settings) -> bool:
    """Whether the authorization page is the sandbox's, which approves at once."""
    return _is_loopback(settings.linkedin_oauth_url) or settings.demo


async def authorize(
    settings: Settings,
    say: Callable[[str], None],
    timeout_s: float = 300.0,
    *,
    without_browser: bool | None = None,
) -> tuple[TokenPair, Member]:
    """Run the code flow; ``say`` tells the operator where to go. The tokens, and the member
    LinkedIn says approved. ``without_browser`` (default: :func:`approves_without_browser`)
    follows the authorization page's redirect here instead of waiting for a browser."""
    if without_browser is None:
        without_browser = approves_without_browser(settings)
    port = _free_port()
    redirect_uri = f"http://127.0.0.1:{port}/linkedin/callback"
    state = secrets.token_urlsafe(24)
    arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback(request: Request) -> Response:
        params = request.query_params
        if params.get("state") != state:
            return PlainTextResponse("state mismatch: start again", status_code=400)
        if "code" not in params:
            reason = params.get("error_description") or params.get("error") or "no code"
            if not arrived.done():
                arrived.set_exception(ConnectFailed(f"LinkedIn did not authorize: {reason}"))
            return PlainTextResponse(f"not connected: {reason}", status_code=400)
        if not arrived.done():
            arrived.set_result(params["code"])
        return PlainTextResponse("leadsync is connected to LinkedIn; you can close this tab.")

    app = Starlette(routes=[Route("/linkedin/callback", callback)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    linkedin = LinkedInClient.from_settings(settings, InMemoryTokenStore())
    async with linkedin, httpx.AsyncClient(timeout=30) as http:
        url = linkedin.oauth.authorization_url(redirect_uri, state)
        try:
            if without_browser:
                # The sandbox approves at once: follow its redirect ourselves.
                answer = await http.get(url, follow_redirects=False)
                location = answer.headers.get("location", "")
                found = parse_qs(urlsplit(location).query)
                code = found.get("code", [""])[0]
                if not code:
                    reason = found.get("error_description") or found.get("error")
                    raise ConnectFailed(
                        f"the OAuth page answered {answer.status_code}"
                        + (f": {reason[0]}" if reason else "")
                        + " and approved nothing by itself (only the sandbox's does: connect"
                        " through a browser)"
                    )
            else:
                say(f"Open this page and approve leadsync:\n  {url}")
                code = await asyncio.wait_for(arrived, timeout_s)
            tokens = await linkedin.connect(code, redirect_uri)
            return tokens, await _member(linkedin)
        finally:
            server.should_exit = True
            await serving


async def identify(settings: Settings, tokens: TokenPair) -> Member:
    """The member whose tokens these are (tokens given by hand, not through the flow)."""
    async with LinkedInClient.from_settings(settings, InMemoryTokenStore(tokens)) as linkedin:
        return await _member(linkedin)


async def _member(linkedin: LinkedInClient) -> Member:
    try:
        return await linkedin.member()
    except LinkedInError as exc:
        raise ConnectFailed(
            "LinkedIn did not say which member connected (OpenID Connect userinfo:"
            f" {exc}); the app needs the openid and profile scopes"
            " (Sign In with LinkedIn using OpenID Connect)"
        ) from None


async def authorization_url(settings: Settings, state: str) -> str:
    """LinkedIn's page where a member approves leadsync, coming back to the admin process's
    callback (``LEADSYNC_OAUTH_REDIRECT_URL``) with ``state``."""
    async with LinkedInClient.from_settings(settings, InMemoryTokenStore()) as linkedin:
        return linkedin.oauth.authorization_url(settings.oauth_redirect_url, state)


async def complete_authorization(settings: Settings, code: str) -> tuple[TokenPair, Member]:
    """Redeem the code LinkedIn sent to the callback; the tokens and the member."""
    async with LinkedInClient.from_settings(settings, InMemoryTokenStore()) as linkedin:
        try:
            tokens = await linkedin.connect(code, settings.oauth_redirect_url)
        except LinkedInError as exc:
            raise ConnectFailed(f"LinkedIn did not redeem the authorization: {exc}") from None
        return tokens, await _member(linkedin)
