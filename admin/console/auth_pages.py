"""Signing in and out of the console, and ``/console/`` (each user's first page).

Sign-in takes an email and a password; the same message answers an unknown email and a
wrong password, and an unknown email costs the same time (a dummy argon2 check), so the
form does not tell who has an account. Before any password is checked, the throttle: within
``LEADSYNC_CONSOLE_SIGN_IN_WINDOW_MINUTES`` (15), an email with
``..._FAILURES_PER_EMAIL`` (5) failures, or a client address with ``..._FAILURES_PER_CLIENT``
(20), gets 429 and the time when it may try again; a successful sign-in clears nobody's
count. Each attempt is recorded (and committed) as a failure *before* the count, and
forgotten once it signs in or is refused unchecked: guesses sent in parallel count each
other, so no burst gets more passwords checked than the limit. The form itself is protected
by a double-submit token (a cookie for the sign-in path and the same value in a hidden
field), so another site cannot sign a browser in to an account of its choosing.

Signing in ends the session the browser had (its cookie's), so a session token planted in
the browser before sign-in, or kept from an earlier sign-in, opens nothing afterwards.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.console import csrf, passwords
from admin.console.session import (
    SESSION_COOKIE,
    SIGN_IN_PATH,
    check_csrf,
    clear_session_cookie,
    current_session,
    database_of,
    is_https,
    language,
    safe_next,
    set_session_cookie,
    settings_of,
    token_sha256,
)
from admin.console.templating import render
from sinks.console_users import (
    credentials,
    end_session,
    forget_expired_sessions,
    forget_old_sign_in_failures,
    forget_sign_in_attempt,
    record_sign_in_attempt,
    set_password_hash,
    sign_in_blocked_until,
    start_session,
)

router = APIRouter(include_in_schema=False)

FORM_COOKIE = "leadsync_sign_in"
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
WRONG_CREDENTIALS = "The email or the password is not right."
FORM_EXPIRED = "The sign-in form had expired. Please sign in again."
THROTTLED = "Too many failed sign-ins. Try again in {minutes} minutes."


def _home(role: str) -> str:
    return "/console/operator" if role == "operator" else "/console/forms"


@router.get("/console/")
async def console_home(request: Request) -> Response:
    """Each user's first page: the operator's accounts, an account's forms."""
    found = await current_session(request)
    if found is None:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    return RedirectResponse(_home(found.session.user.role), status_code=303)


@router.get("/console/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    found = await current_session(request)
    if found is not None:
        return RedirectResponse(safe_next(next) or _home(found.session.user.role), status_code=303)
    return _sign_in_page(request, next=safe_next(next) or "")


@router.post("/console/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    settings = settings_of(request)
    db = database_of(request)
    target = safe_next(next) or ""
    form_token = request.cookies.get(FORM_COOKIE, "")
    if not (_FORM_TOKEN.fullmatch(form_token) and csrf.matches(csrf_token, form_token)):
        return _sign_in_page(request, next=target, email=email, error=FORM_EXPIRED, status=403)

    window = timedelta(minutes=settings.console_sign_in_window_minutes)
    email_sha256 = hashlib.sha256(email.strip().lower().encode()).digest()
    client = request.client.host if request.client else "unknown"
    async with db.connection() as conn:
        attempt = await record_sign_in_attempt(conn, email_sha256, client)
        # Committed before counting: an attempt running at the same moment sees this one.
        await conn.commit()
        blocked_until = await sign_in_blocked_until(
            conn,
            email_sha256,
            client,
            window,
            settings.console_sign_in_failures_per_email,
            settings.console_sign_in_failures_per_client,
            attempt,
        )
        if blocked_until is None:
            found = await credentials(conn, email)
        else:
            found = None
            await forget_sign_in_attempt(conn, attempt)  # refused unchecked: no failure
    if blocked_until is not None:
        wait_s = max(1, math.ceil((blocked_until - datetime.now(UTC)).total_seconds()))
        response = _sign_in_page(
            request,
            next=target,
            email=email,
            error=THROTTLED,
            error_params={"minutes": math.ceil(wait_s / 60)},
            status=429,
        )
        response.headers["Retry-After"] = str(wait_s)
        return response

    too_long = len(password) > passwords.MAX_LENGTH
    # An unknown email, or a password no user can have, is checked against a dummy hash:
    # the answer takes as long as a wrong password of a real user.
    verified = await passwords.verify(
        found.password_hash if found and not too_long else None,
        password[: passwords.MAX_LENGTH],
    )
    if found is None or too_long or not verified.ok:
        # The attempt's row stays: it is the failure.
        async with db.connection() as conn:
            await forget_old_sign_in_failures(conn, keep=2 * window)
        return _sign_in_page(request, next=target, email=email, error=WRONG_CREDENTIALS, status=401)

    session_token = secrets.token_urlsafe(32)
    idle = timedelta(minutes=settings.console_session_idle_minutes)
    lifetime = timedelta(hours=settings.console_session_max_hours)
    previous = request.cookies.get(SESSION_COOKIE)
    async with db.connection() as conn:
        await forget_sign_in_attempt(conn, attempt)
        if verified.rehashed:
            await set_password_hash(conn, found.user_id, verified.rehashed)
        if previous:
            # The session this browser had, if any, ends: a token planted in it before
            # sign-in, or kept from an earlier one, opens nothing from now on.
            await end_session(conn, token_sha256(previous))
        await start_session(
            conn, token_sha256(session_token), found.user_id, secrets.token_urlsafe(32)
        )
        await forget_expired_sessions(conn, idle, lifetime)
    signed_in = RedirectResponse(target or "/console/", status_code=303)
    set_session_cookie(signed_in, request, session_token)
    signed_in.delete_cookie(FORM_COOKIE, path=SIGN_IN_PATH, secure=is_https(request), httponly=True)
    return signed_in


@router.post("/console/sign-out")
async def sign_out(request: Request) -> Response:
    """Ends the session on the server (its row is deleted: the cookie opens nothing any
    more, wherever it was copied) and in the browser."""
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    found = await current_session(request)
    if found is not None:
        await check_csrf(request, found)
        async with database_of(request).connection() as conn:
            await end_session(conn, found.token_sha256)
    clear_session_cookie(response, request)
    return response


def _sign_in_page(
    request: Request,
    *,
    next: str,
    email: str = "",
    error: str | None = None,
    error_params: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form, with a form token: the browser's own when it has one (two tabs), else new."""
    token = request.cookies.get(FORM_COOKIE, "")
    if not _FORM_TOKEN.fullmatch(token) or error == FORM_EXPIRED:
        token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        status_code=status,
        lang=language(request),
        csrf_token=csrf.mask(token),
        next=next,
        email=email.strip()[:254],
        error=error,
        error_params=error_params or {},
    )
    response.set_cookie(
        FORM_COOKIE,
        token,
        path=SIGN_IN_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )
    return response
