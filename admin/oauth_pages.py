"""What the member's browser sees of a LinkedIn authorization: small plain HTML pages, the
cookies that tie the authorization to that browser, and answers that are a page for a
browser and the API's JSON error shape for any other client.

The pages are the admin process's only HTML. They load nothing, run no script and may not
be framed (a Continue button in someone else's frame could be clicked for the member); they
are not cached and send their URL (it holds the link's state) as a Referer to nobody but
the admin process itself.
"""

from __future__ import annotations

import html
import re
from typing import Literal
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.error_responses import error_response
from leadsync.settings import Settings
from sinks.oauth_states import STATE_TTL_S

CSRF_COOKIE = "leadsync_csrf"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    # Not no-referrer: under it a browser posts Continue with "Origin: null", which the
    # origin check refuses. same-origin tells nobody else the page's URL (the link's state).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
# The way to LinkedIn: not even the URL of the page the member left.
_TO_LINKEDIN_HEADERS = {**_HEADERS, "Referrer-Policy": "no-referrer"}


def wants_html(request: Request) -> bool:
    """A browser asks for HTML; API clients and tests get JSON."""
    return "text/html" in request.headers.get("accept", "")


def page(title: str, body_html: str, status: int = 200) -> HTMLResponse:
    """A page; ``body_html`` is trusted markup (escape what goes into it)."""
    document = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{body_html}\n</body></html>\n"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)


def to_linkedin(url: str) -> RedirectResponse:
    """Continue's answer: on to LinkedIn, telling it nothing of the page the member left."""
    return RedirectResponse(url, 303, headers=_TO_LINKEDIN_HEADERS)


def refusal(request: Request, status: int, code: str, message: str) -> Response:
    if wants_html(request):
        return page(
            "leadsync is not connected to LinkedIn", f"<p>{html.escape(message)}</p>", status
        )
    return error_response(status, code, message, headers=_HEADERS)


def confirmation_page(account: str, state: str, csrf: str) -> HTMLResponse:
    """Names the account before the member goes to LinkedIn; Continue posts the state with
    the page's CSRF token."""
    name = html.escape(account)
    return page(
        f"Connect your LinkedIn member to the account {account}",
        f"<p>Continue takes you to LinkedIn, where you approve leadsync. The leads of the ad"
        f" accounts your LinkedIn member can reach will then be imported into the account"
        f" <strong>{name}</strong>.</p>\n"
        "<p>If you did not expect this link, or do not know this account, close this page.</p>\n"
        # Relative: the page is .../oauth/linkedin/start wherever a proxy mounts it.
        '<form method="post" action="start">'
        f'<input type="hidden" name="state" value="{html.escape(state)}">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        '<button type="submit">Continue</button></form>',
    )


def csrf_token(request: Request) -> str | None:
    """The browser's CSRF token (its cookie), when it has a well-formed one."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if _TOKEN.fullmatch(token) else None


def public_origin(settings: Settings) -> str:
    """Where browsers reach the admin process: the origin of the callback LinkedIn uses."""
    parts = urlsplit(settings.oauth_redirect_url)
    return f"{parts.scheme}://{parts.netloc}"


def set_cookie(
    response: Response,
    settings: Settings,
    name: str,
    value: str,
    same_site: Literal["lax", "strict"],
) -> None:
    """An HttpOnly cookie for the OAuth pages only (``.../oauth/linkedin``), Secure when the
    admin process is reached over https, living as long as an authorization."""
    response.set_cookie(
        name,
        value,
        max_age=STATE_TTL_S,
        path=cookie_path(settings),
        secure=urlsplit(settings.oauth_redirect_url).scheme == "https",
        httponly=True,
        samesite=same_site,
    )


def delete_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(name, path=cookie_path(settings), httponly=True)


def cookie_path(settings: Settings) -> str:
    return urlsplit(settings.oauth_redirect_url).path.rsplit("/", 1)[0] or "/"
