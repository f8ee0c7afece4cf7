"""Who is signed in to the console, and the dependencies every page takes.

A signed-in browser holds the cookie ``leadsync_session``: 256 random bits, of which the
database keeps only the SHA-256 (:mod:`sinks.console_users`). The cookie is HttpOnly (no
script reads it), SameSite=Lax (another site's form posts arrive without it), limited to
``/console`` and Secure when the browser reached us over https. A session ends when idle or
old (the settings), at sign-out, when the browser signs in again, and at once when its user
or their account is disabled. A page's automatic refresh (htmx polling, which sends
``X-Poll: 1``) is no sign of a user: it reads the session without making it any less idle,
so a tab left open on a live page still ends when its user has gone.

Page handlers take one of:

* :data:`AccountPageDep`: a user of an account (admin or member); ``page.scope`` is that
  account and its data. The operator gets the 403 page.
* :data:`OperatorPageDep`: the platform operator; an account's user gets the 403 page.
* :data:`SignedInDep`: anyone signed in (sign-out, the ``/console/`` redirect).

Not signed in: a ``GET`` is sent to the sign-in page, which brings the browser back
(``next=``); anything else is refused with 401 (an htmx request is told to go to the
sign-in page). Every ``POST``/``PUT``/``PATCH``/``DELETE`` must carry the session's CSRF
token, in the form field ``csrf_token`` or the header ``X-CSRF-Token`` (htmx sends it:
``base.html``), or it gets the 403 page and changes nothing. SameSite=Lax already keeps
other sites' posts from arriving signed in; the token also covers old browsers and a
sibling site on the same registrable domain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.console import csrf
from admin.console.i18n import LANGUAGES, negotiate
from admin.console.page import AccountPage, ConsoleUser, OperatorPage
from admin.console.templating import render
from admin.dependencies import AccountScope
from leadsync.settings import Settings
from sinks.console_users import SignedInSession, session
from sinks.database import Database

SESSION_COOKIE = "leadsync_session"
LANGUAGE_COOKIE = "leadsync_lang"
COOKIE_PATH = "/console"
# The session cookie goes to the whole site, not only to /console: LinkedIn's callback
# (/oauth/linkedin/callback, admin.linkedin_routes) must know who is signed in, to refuse a
# link made for another account and to bring the account's user back to the console. The
# API ignores it (it takes Bearer tokens only).
SESSION_COOKIE_PATH = "/"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Sent by the polling elements' hx-headers (audiences, a followed run): not the user's doing.
POLL_HEADER = "X-Poll"
SIGN_IN_PATH = "/console/sign-in"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PageRefused(Exception):
    """Raised by a dependency: answer with ``response`` instead of the page
    (:func:`admin.console.routes.install` registers the handler)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class SignedIn:
    """A request's live session."""

    session: SignedInSession
    token_sha256: bytes
    lang: str

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def token_sha256(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def language(request: Request) -> str:
    """``?lang=`` (the switch's links), else the remembered choice (its cookie, set by
    :mod:`admin.console.headers`), else the browser's Accept-Language."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if chosen in LANGUAGES:
            return str(chosen)
    return negotiate(request.headers.get("accept-language"))


def is_https(request: Request) -> bool:
    """The browser reached us over https: directly or through a proxy uvicorn trusts (its
    proxy headers), or the configured public address is https (the OAuth callback's)."""
    if request.url.scheme == "https":
        return True
    return urlsplit(settings_of(request).oauth_redirect_url).scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = settings_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        # The cookie may outlive the browser's session; the server ends it anyway.
        max_age=settings.console_session_max_hours * 3600,
        path=SESSION_COOKIE_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=SESSION_COOKIE_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a console page of this site (a path under ``/console``), else
    None: ``next=`` must never send a signed-in browser elsewhere (open redirect)."""
    if not target or len(target) > 2000:
        return None
    # Browsers read a backslash as a slash ("/\\evil.example" is "//evil.example").
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    if parts.path != COOKIE_PATH and not parts.path.startswith(COOKIE_PATH + "/"):
        return None
    return target


def sign_in_url(next_path: str | None) -> str:
    target = safe_next(next_path)
    return f"{SIGN_IN_PATH}?next={quote(target, safe='/')}" if target else SIGN_IN_PATH


def _lifetimes(settings: Settings) -> tuple[timedelta, timedelta]:
    return (
        timedelta(minutes=settings.console_session_idle_minutes),
        timedelta(hours=settings.console_session_max_hours),
    )


async def current_session(request: Request) -> SignedIn | None:
    """The request's live session, if its cookie names one (no refusal, no CSRF check).
    It counts as used (idle from now) unless the request is a poll (:data:`POLL_HEADER`)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    idle, lifetime = _lifetimes(settings_of(request))
    digest = token_sha256(token)
    polled = request.headers.get(POLL_HEADER) == "1"
    async with database_of(request).connection() as conn:  # a global table
        found = await session(conn, digest, idle, lifetime, touch=not polled)
    return SignedIn(found, digest, language(request)) if found else None


def _console_user(signed_in: SignedIn) -> ConsoleUser:
    user = signed_in.session.user
    return ConsoleUser(user.id, user.email, user.role, user.account_id, user.account_name)


def page_for(request: Request, signed_in: SignedIn) -> AccountPage | OperatorPage:
    """The page context of the signed-in user, whichever kind they are."""
    user = _console_user(signed_in)
    settings, db = settings_of(request), database_of(request)
    account = signed_in.session.account
    if account is None:
        return OperatorPage(request, user, settings, signed_in.csrf_token, signed_in.lang, db)
    scope = AccountScope(account, db)
    return AccountPage(request, user, settings, signed_in.csrf_token, signed_in.lang, scope)


def _anonymous(request: Request) -> PageRefused:
    lang = language(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request") == "true":
        # htmx would swap the sign-in page into a fragment: send the whole page there.
        current = urlsplit(request.headers.get("hx-current-url", ""))
        back = current.path + (f"?{current.query}" if current.query else "")
        return PageRefused(
            HTMLResponse("", status_code=401, headers={"HX-Redirect": sign_in_url(back)})
        )
    if request.method in SAFE_METHODS:
        return PageRefused(RedirectResponse(sign_in_url(here), status_code=303))
    return PageRefused(
        render(
            request,
            "forbidden.html",
            status_code=401,
            lang=lang,
            heading="Your session has ended",
            reason="Sign in again, then repeat what you were doing.",
            sign_in=SIGN_IN_PATH,
        )
    )


async def _csrf_token_sent(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, signed_in: SignedIn) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = await _csrf_token_sent(request)
    if not csrf.matches(sent, signed_in.csrf_token):
        raise forbidden(
            request,
            signed_in,
            heading="This request was refused",
            reason=(
                "It did not come from a page of this console, or the page was from an"
                " earlier session. Reload the page and try again."
            ),
        )


def forbidden(request: Request, signed_in: SignedIn, *, heading: str, reason: str) -> PageRefused:
    """The 403 page for the signed-in user (``heading`` and ``reason``: catalog keys)."""
    page = page_for(request, signed_in)
    return PageRefused(
        page.render("forbidden.html", status_code=403, heading=heading, reason=reason)
    )


async def signed_in(request: Request) -> SignedIn:
    """Anyone signed in, with the CSRF token checked on a state change."""
    found = await current_session(request)
    if found is None:
        raise _anonymous(request)
    await check_csrf(request, found)
    return found


async def account_page(request: Request) -> AccountPage:
    found = await signed_in(request)
    page = page_for(request, found)
    if not isinstance(page, AccountPage):
        raise forbidden(
            request,
            found,
            heading="This page is for the accounts' users",
            reason="The platform operator manages accounts and sees none of their data.",
        )
    return page


async def operator_page(request: Request) -> OperatorPage:
    found = await signed_in(request)
    page = page_for(request, found)
    if not isinstance(page, OperatorPage):
        raise forbidden(
            request,
            found,
            heading="This page is for the platform operator",
            reason="It manages the platform's accounts; your account's pages are in the menu.",
        )
    return page


SignedInDep = Annotated[SignedIn, Depends(signed_in)]
AccountPageDep = Annotated[AccountPage, Depends(account_page)]
OperatorPageDep = Annotated[OperatorPage, Depends(operator_page)]
