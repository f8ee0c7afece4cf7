"""What the member's browser sees of a LinkedIn authorization: pages in the console's look,
in English or Italian (``console/templates/oauth/``), the cookies that tie the authorization
to that browser, and answers that are a page for a browser and the API's JSON error shape
for any other client.

The pages load the console's stylesheet and nothing else, run no script and may not be
framed (a Continue button in someone else's frame could be clicked for the member); they
are not cached and send their URL (it holds the link's state) as a Referer to nobody but
the admin process itself.

Whoever was sent the link opens them, signed in to the console or not: they need no console
session, and read one only to point the way back. A signed-in user of the authorization's
account goes back to the console's LinkedIn page, anyone else to the console's first page
(which asks them to sign in). Every refusal says what happened and what to do.

The language is ``?lang=`` (the switch), else the one chosen earlier on these pages (a cookie
of their own path, so that LinkedIn's callback answers in the language picked on the start
page), else the browser's Accept-Language. A page offers the switch only when loading its
address again gives the same page: not in answer to Continue's POST, nor once the callback
has spent its state (loading it again would say "already used").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.error_responses import error_response
from leadsync.settings import Settings
from sinks.oauth_states import STATE_TTL_S

CSRF_COOKIE = "leadsync_csrf"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
# Relative, as Continue's form action is: the pages are <prefix>/oauth/linkedin/*, the
# console <prefix>/console, wherever a proxy mounts the admin process.
CONSOLE = "../../console"
_LANGUAGE_MAX_AGE_S = 365 * 24 * 3600  # a display preference, as the console's

_HEADERS = {
    # The console's stylesheet and icon (same origin); no script, no frame, no other load.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
        " frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    # Not no-referrer: under it a browser posts Continue with "Origin: null", which the
    # origin check refuses. same-origin tells nobody else the page's URL (the link's state).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
# The way to LinkedIn: not even the URL of the page the member left.
_TO_LINKEDIN_HEADERS = {**_HEADERS, "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Explanation:
    """A refusal page's texts (catalog keys, ``{name}`` filled from the page's params)."""

    heading: str
    happened: str
    todo: str  # for whoever was sent the link
    todo_in_console: str | None = None  # for a signed-in user of the account, when it differs


_START_AGAIN = "Press Connect LinkedIn on the console's LinkedIn page to start again."
_NEW_LINK = "Ask whoever sent you the link for a new one."
_ASK_OPERATOR = " If LinkedIn refuses again, tell the platform operator the details above."
# Keyed by the JSON error code; not_connected has three pages of its own: declined,
# linkedin_refused and connect_failed (refusal's explained_as).
EXPLANATIONS: dict[str, Explanation] = {
    "state_unknown": Explanation(
        "This connection link does not work",
        "leadsync knows no such LinkedIn connection request: the link may have been cut short"
        " when it was copied, or leadsync did not make it. Nothing was connected.",
        _NEW_LINK,
        _START_AGAIN,
    ),
    "state_used": Explanation(
        "This connection link was already used",
        "A LinkedIn connection request works once, and this one has been used: opening a page"
        " of it again (a reload, the back button) brings it back a second time. Nothing was"
        " changed now.",
        "If the LinkedIn member is not connected yet, ask whoever sent you the link for a new one.",
        "The console's LinkedIn page shows whether the member is connected; if not, press"
        " Connect LinkedIn there to start again.",
    ),
    "state_expired": Explanation(
        "This connection link has expired",
        "A LinkedIn connection request lasts {minutes} minutes from when its link is made, and"
        " this one is older. Nothing was connected.",
        "Ask whoever sent you the link for a new one, and use it straight away.",
        _START_AGAIN,
    ),
    "account_disabled": Explanation(
        "This account is disabled",
        "The account this LinkedIn connection request was made for has been disabled:"
        " nothing can be connected to it.",
        "If the account should still be in use, ask the platform operator to enable it again.",
    ),
    "browser_unbound": Explanation(
        "This sign-in was started in another browser",
        "LinkedIn sent you back with a sign-in this browser did not start, or this browser"
        " lost the cookie the connection page gave it. Nothing was connected.",
        "Finish in the browser where you pressed Continue. If you cannot, ask whoever sent"
        " you the link for a new one.",
        "Finish in the browser where you pressed Continue, or press Connect LinkedIn on the"
        " console's LinkedIn page to start again here.",
    ),
    "browser_mismatch": Explanation(
        "This sign-in belongs to another browser",
        "LinkedIn sent you back with a sign-in that does not match this browser's. Nothing"
        " was connected.",
        "Finish in the browser where you pressed Continue, or ask whoever sent you the link"
        " for a new one.",
        _START_AGAIN,
    ),
    "csrf_refused": Explanation(
        "This request did not come from leadsync's page",
        "Continue must be pressed on leadsync's connection page, in this browser: this"
        " request came from elsewhere, or the page's cookie is missing. Nothing was changed,"
        " and the link still works.",
        "Open the link again and press Continue on the page it shows.",
    ),
    "other_account": Explanation(
        "This link is for another account",
        "This LinkedIn connection request is for the account {account}, but this browser is"
        " signed in to leadsync's console for the account {signed_in}. Nothing was connected.",
        "To connect LinkedIn to your own account, use the console's LinkedIn page. If you do"
        " mean to connect the account {account}, sign out of the console, then load this"
        " page again.",
    ),
    "declined": Explanation(
        "LinkedIn access was not approved",
        "The LinkedIn member did not approve leadsync on LinkedIn's page, so nothing was"
        " connected.",
        "To connect, ask whoever sent you the link for a new one, and choose Allow on"
        " LinkedIn's page.",
        "To connect, press Connect LinkedIn on the console's LinkedIn page, and choose Allow"
        " on LinkedIn's page.",
    ),
    "linkedin_refused": Explanation(
        "LinkedIn did not authorize leadsync",
        "LinkedIn sent you back without an authorization, so nothing was connected.",
        _NEW_LINK + _ASK_OPERATOR,
        _START_AGAIN + _ASK_OPERATOR,
    ),
    "connect_failed": Explanation(
        "leadsync could not finish connecting to LinkedIn",
        "LinkedIn sent you back with an authorization, but did not complete the connection"
        " with leadsync, so nothing was saved.",
        _NEW_LINK + _ASK_OPERATOR,
        _START_AGAIN + _ASK_OPERATOR,
    ),
}


def wants_html(request: Request) -> bool:
    """A browser asks for HTML; API clients and tests get JSON."""
    return "text/html" in request.headers.get("accept", "")


def to_linkedin(url: str) -> RedirectResponse:
    """Continue's answer: on to LinkedIn, telling it nothing of the page the member left."""
    return RedirectResponse(url, 303, headers=_TO_LINKEDIN_HEADERS)


def refusal(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    explained_as: str | None = None,
    params: Mapping[str, str] | None = None,
    reason: str | None = None,
    user_of_account: bool = False,
    reloads_with: Sequence[str] | None = None,
) -> Response:
    """``message`` under ``code`` as JSON, or for a browser the page of ``explained_as``
    (``code`` unless given: a key of :data:`EXPLANATIONS`) showing LinkedIn's own words
    (``reason``) when there are any. ``user_of_account``: the browser is signed in to the
    console as a user of the authorization's account. ``reloads_with``: the query parameters
    that, sent again, give this same page (None: there are none, so no language switch)."""
    if not wants_html(request):
        return error_response(status, code, message, headers=_HEADERS)
    explanation = EXPLANATIONS[explained_as or code]
    todo = explanation.todo
    if user_of_account and explanation.todo_in_console:
        todo = explanation.todo_in_console
    return _page(
        request,
        "refused.html",
        status,
        reloads_with,
        explanation=explanation,
        todo=todo,
        params={"minutes": str(STATE_TTL_S // 60), **(params or {})},
        reason=reason,
        back=_back(user_of_account),
    )


def confirmation_page(
    request: Request, account: str, state: str, csrf: str, *, user_of_account: bool
) -> HTMLResponse:
    """Names the account before the member goes to LinkedIn; Continue posts the state with
    the page's CSRF token, masked afresh (see :func:`csrf_proves`)."""
    from admin.console import csrf as masking  # here: see _page

    return _page(
        request,
        "start.html",
        200,
        ("state",),  # only the state: nothing else a link could carry is written in the page
        account=account,
        state=state,
        csrf=masking.mask(csrf),
        minutes=STATE_TTL_S // 60,
        cancel=_back(True) if user_of_account else None,
    )


def connected_page(request: Request, account: str, member: str, forms: int) -> HTMLResponse:
    """The LinkedIn member is connected to the account. Shown to a browser not signed in to
    the console as a user of the account: such a user goes back to the console's page."""
    return _page(request, "connected.html", 200, None, account=account, member=member, forms=forms)


@dataclass(frozen=True)
class _Link:
    href: str
    label: str  # a catalog key


def _back(user_of_account: bool) -> _Link:
    if user_of_account:
        return _Link(f"{CONSOLE}/linkedin", "Back to the LinkedIn page")
    return _Link(f"{CONSOLE}/", "Go to the console")


def _page(
    request: Request,
    template: str,
    status: int,
    reloads_with: Sequence[str] | None,
    **context: Any,
) -> HTMLResponse:
    # Imported here: importing the console imports its pages, which import this module.
    from admin.console.i18n import LANGUAGES
    from admin.console.session import LANGUAGE_COOKIE, language
    from admin.console.templating import render

    response = render(
        request,
        f"oauth/{template}",
        status_code=status,
        lang=language(request),
        console=CONSOLE,
        languages=_language_links(request, reloads_with, LANGUAGES),
        **context,
    )
    response.headers.update(_HEADERS)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        settings: Settings = request.app.state.settings
        response.set_cookie(
            LANGUAGE_COOKIE,
            str(chosen),
            max_age=_LANGUAGE_MAX_AGE_S,
            path=cookie_path(settings),
            secure=_secure(settings),
            httponly=True,
            samesite="lax",  # sent along when LinkedIn redirects the member back
        )
    return response


def _language_links(
    request: Request, kept: Sequence[str] | None, languages: Sequence[str]
) -> dict[str, str] | None:
    """This page in each language: its address again, with only the ``kept`` parameters
    (nothing else from the URL is written into the page) and ``lang``."""
    if kept is None:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k in kept]
    # Query-only references: the same path, wherever a proxy mounts it.
    return {code: "?" + urlencode([*query, ("lang", code)]) for code in languages}


def csrf_token(request: Request) -> str | None:
    """The browser's CSRF token (its cookie), when it has a well-formed one."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if _TOKEN.fullmatch(token) else None


def csrf_proves(presented: str, token: str) -> bool:
    """``presented`` (Continue's field) proves the browser's ``token``: the copy the start
    page carried, or the token itself. The page carries it masked afresh each time, as the
    console's pages do (:mod:`admin.console.csrf`): the admin process compresses the page,
    and a token standing unchanged in compressed pages could be read from their sizes."""
    from admin.console import csrf as masking  # here: see _page

    return masking.matches(presented, token)


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
        secure=_secure(settings),
        httponly=True,
        samesite=same_site,
    )


def delete_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(name, path=cookie_path(settings), httponly=True)


def cookie_path(settings: Settings) -> str:
    return urlsplit(settings.oauth_redirect_url).path.rsplit("/", 1)[0] or "/"


def _secure(settings: Settings) -> bool:
    return urlsplit(settings.oauth_redirect_url).scheme == "https"
