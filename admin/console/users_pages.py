"""``/console/users``: an account's admins list the account's users, add one (email, role,
first password) and disable one. Members get the 403 page (the menu does not offer them
the page): who may sign in to the account is the admins' business.

A disabled user's sessions end at once. An admin cannot disable themselves, so an account
is never left without the admin who was just using it; another admin, or the operator's
``leadsync users disable``, can.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.console import passwords
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from sinks.console_users import (
    ACCOUNT_ROLES,
    ConsoleUserRow,
    EmailTaken,
    InvalidEmail,
    UnknownUser,
    add_user,
    disable_user,
    list_users,
    normalise_email,
)
from sinks.database import Database

router = APIRouter(include_in_schema=False)


def _members_refused(page: AccountPage) -> Response | None:
    if page.user.role == "admin":
        return None
    return page.render(
        "forbidden.html",
        status_code=403,
        heading="Only the account's admins manage its users",
        reason="Ask an admin of your account to add or disable a user.",
    )


async def _users(page: AccountPage) -> list[ConsoleUserRow]:
    async with page.scope.db.connection() as conn:  # a global table, filtered by account
        return await list_users(conn, page.scope.id)


async def _users_page(
    page: AccountPage,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    notice_kind: str = "success",
    notice_params: dict[str, Any] | None = None,
    users: list[ConsoleUserRow] | None = None,
) -> HTMLResponse:
    return page.render(
        "users/list.html",
        status_code=status_code,
        nav="users",
        users=users if users is not None else await _users(page),
        roles=ACCOUNT_ROLES,
        min_length=passwords.MIN_LENGTH,
        errors=errors or {},
        form=form or {"email": "", "role": "member"},
        notice=notice,
        notice_kind=notice_kind,
        notice_params=notice_params or {},
    )


@router.get("/console/users", response_class=HTMLResponse)
async def users_page(
    page: AccountPageDep, added: int | None = None, disabled: int | None = None
) -> Response:
    if refused := _members_refused(page):
        return refused
    # After a change (post, then redirect here), say what happened to whom.
    users = await _users(page)
    by_id = {u.id: u for u in users}
    done = added if added is not None else disabled
    if done is None or done not in by_id:
        return await _users_page(page, users=users)
    return await _users_page(
        page,
        users=users,
        notice="{email} was added." if added is not None else "{email} was disabled.",
        notice_params={"email": by_id[done].email},
    )


@router.post("/console/users", response_class=HTMLResponse)
async def users_add(
    page: AccountPageDep,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
    password: Annotated[str, Form()] = "",
) -> Response:
    if refused := _members_refused(page):
        return refused
    form = {"email": email.strip(), "role": role}
    user, errors = await add_account_user(page.scope.db, page.scope.id, email, role, password)
    if user is not None:
        return RedirectResponse(f"/console/users?added={user.id}", status_code=303)
    return await _users_page(page, status_code=422, errors=errors, form=form)


@router.post("/console/users/{user_id}/disable", response_class=HTMLResponse)
async def users_disable(page: AccountPageDep, user_id: int) -> Response:
    if refused := _members_refused(page):
        return refused
    if user_id == page.user.id:
        return await _users_page(
            page,
            status_code=409,
            notice="You cannot disable yourself: ask another admin of the account.",
            notice_kind="error",
        )
    try:
        async with page.scope.db.connection() as conn:
            await disable_user(conn, user_id, account_id=page.scope.id)
    except UnknownUser:
        return page.render("not_found.html", status_code=404)
    return RedirectResponse(f"/console/users?disabled={user_id}", status_code=303)


async def add_account_user(
    db: Database, account_id: int, email: str, role: str, password: str
) -> tuple[ConsoleUserRow | None, dict[str, str]]:
    """A new user of the account, as the add-user form asks (an account's admin on the users
    page, the operator on the account's page): the user, or why not, by field (catalog
    keys)."""
    errors: dict[str, str] = {}
    if role not in ACCOUNT_ROLES:
        errors["role"] = "Choose a role."
    if problem := passwords.refusal(password):
        errors["password"] = problem
    try:
        normalise_email(email)
    except InvalidEmail:
        errors["email"] = "Enter an email address, like name@example.com."
    if errors:
        return None, errors
    # Hashed before a connection is taken: 0.2 s of argon2 would hold a pooled connection
    # (the pool has few) doing nothing.
    password_hash = await passwords.hash_password(password)
    try:
        async with db.connection() as conn:  # a global table, filtered by account
            user = await add_user(
                conn, email, "admin" if role == "admin" else "member", account_id, password_hash
            )
    except EmailTaken:
        # Emails are unique in the whole install: saying so tells no more than that someone,
        # somewhere, uses it.
        return None, {"email": "This email already belongs to a user."}
    return user, {}
