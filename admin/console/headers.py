"""What every console answer carries: security headers, and the language cookie.

* ``Content-Security-Policy: default-src 'self'; ...``: scripts, styles, images and
  connections from this origin only, and no inline script or style, so markup injected
  through a missed escape cannot run. ``frame-ancestors 'none'`` and ``X-Frame-Options``
  keep the pages out of other sites' frames (a button under someone else's overlay could be
  clicked for the user). ``form-action`` is left open: the LinkedIn connection's form
  continues to LinkedIn's own origin.
* ``Referrer-Policy: same-origin``: a console URL (a form id, a filter) is nobody else's.
* ``Cache-Control: no-store`` on pages (they hold an account's data; a shared computer's
  back button must not show them after sign-out); the static files may be cached.
* ``?lang=en|it`` on any console URL remembers the choice in the ``leadsync_lang`` cookie.
  A GET that sets a cookie is fine here: it is a display preference, changes no data and
  carries no authority, so a forged link can do no more than switch the language.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin.console.i18n import LANGUAGES
from admin.console.session import COOKIE_PATH, LANGUAGE_COOKIE

CSP = "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'"
_SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_CACHEABLE = ("/console/static/", "/console/vendor/")
_LANGUAGE_MAX_AGE_S = 365 * 24 * 3600


class ConsoleHeaders:
    """ASGI middleware: the headers above on every ``/console`` answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if path != COOKIE_PATH and not path.startswith(COOKIE_PATH + "/"):
            await self.app(scope, receive, send)
            return
        cacheable = path.startswith(_CACHEABLE)
        language = _chosen_language(scope)
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
                if language:
                    headers.append("Set-Cookie", _language_cookie(language, secure))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _chosen_language(scope: Scope) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    chosen = parse_qs(query).get("lang", [""])[-1]
    return chosen if chosen in LANGUAGES else None


def _language_cookie(language: str, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[LANGUAGE_COOKIE] = language
    morsel = cookie[LANGUAGE_COOKIE]
    morsel["path"] = COOKIE_PATH
    morsel["max-age"] = _LANGUAGE_MAX_AGE_S
    morsel["samesite"] = "Lax"
    morsel["httponly"] = True
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()
