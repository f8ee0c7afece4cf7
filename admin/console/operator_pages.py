"""``/console/operator``: the platform operator's pages (issue #14, point 8).

Every account with its status, creation, forms and lead volume (leads imported in the last 24
hours and 30 days: counts from :mod:`sinks.account_volume`, nothing of any contact); creating
an account, whose first API token is shown once, on the answer to the creation and nowhere
else (leadsync keeps its hash only); disabling one, after a confirmation. The page acts
through the JSON API's operator routes (:mod:`admin.accounts_routes`), so the console and
``/api/accounts`` refuse and answer alike. The operator sees no account's contacts: the
account pages refuse them (:data:`admin.console.session.AccountPageDep`).

``/console/operator/accounts/{name}``: one account: enable it again after a disable, give it
another API token (shown once), its forms with their status and counters (``GET
/api/forms`` as the account sees it: figures, not leads), and its console users, with the
add-user form of the users page (the operator gives a new account its first admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin import accounts_routes, forms_routes
from admin.console import passwords
from admin.console.forms_pages import STATUS_LABELS, owner_choice
from admin.console.page import OperatorPage
from admin.console.session import OperatorPageDep
from admin.console.users_pages import add_account_user
from admin.dependencies import AccountScope
from admin.error_responses import ApiError
from sinks.account_volume import AccountVolume, account_volumes
from sinks.accounts import UnknownAccount, account_by_name
from sinks.console_users import ACCOUNT_ROLES, list_users

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class AccountRow:
    account: accounts_routes.AccountOut
    volume: AccountVolume


@dataclass(frozen=True)
class NewAccountForm:
    """The creation form as the page shows it again: the name typed, and why it was refused."""

    name: str = ""
    error: str | None = None


@router.get("/console/operator", response_class=HTMLResponse)
async def operator_page(page: OperatorPageDep, disabled: str | None = None) -> HTMLResponse:
    return await _render(page, disabled=disabled)


@router.post("/console/operator/accounts", response_class=HTMLResponse)
async def create_account(page: OperatorPageDep, name: Annotated[str, Form()] = "") -> HTMLResponse:
    """The page again, with the new account's token shown this once (no redirect: the token
    must not travel in a URL nor be kept to be shown later)."""
    name = name.strip()
    try:
        created = await accounts_routes.post_account(accounts_routes.NewAccount(name=name), page.db)
    except ApiError as exc:
        return await _render(
            page, status_code=exc.status, form=NewAccountForm(name, _refusal(page, exc, name))
        )
    return await _render(page, status_code=201, created=created)


@router.post("/console/operator/accounts/{name}/disable", response_class=HTMLResponse)
async def disable_account(
    page: OperatorPageDep, name: accounts_routes.AccountName, then: Annotated[str, Form()] = ""
) -> Response:
    try:
        await accounts_routes.post_disable(name, page.db)
    except ApiError as exc:
        return _not_found(page, exc)
    if then == "account":
        return RedirectResponse(f"{_account_url(name)}?done=disabled", status_code=303)
    return RedirectResponse(f"/console/operator?disabled={quote(name)}", status_code=303)


@router.post("/console/operator/accounts/{name}/enable", response_class=HTMLResponse)
async def enable_account(page: OperatorPageDep, name: accounts_routes.AccountName) -> Response:
    try:
        await accounts_routes.post_enable(name, page.db)
    except ApiError as exc:
        return _not_found(page, exc)
    return RedirectResponse(f"{_account_url(name)}?done=enabled", status_code=303)


@router.get("/console/operator/accounts/{name}", response_class=HTMLResponse)
async def account_page(
    page: OperatorPageDep, name: accounts_routes.AccountName, done: str = "", added: int = 0
) -> HTMLResponse:
    return await _render_account(page, name, done=done, added=added)


@router.post("/console/operator/accounts/{name}/tokens", response_class=HTMLResponse)
async def new_token(page: OperatorPageDep, name: accounts_routes.AccountName) -> HTMLResponse:
    """The account's page with the new token shown this once (no redirect: the token must
    not travel in a URL)."""
    try:
        made = await accounts_routes.post_token(name, page.db)
    except ApiError as exc:
        return _not_found(page, exc)
    return await _render_account(page, name, status_code=201, token=made)


@router.post("/console/operator/accounts/{name}/users", response_class=HTMLResponse)
async def add_user(
    page: OperatorPageDep,
    name: accounts_routes.AccountName,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "admin",
    password: Annotated[str, Form()] = "",
) -> Response:
    async with page.db.connection() as conn:
        try:
            account = await account_by_name(conn, name)
        except UnknownAccount:
            return page.render("not_found.html", status_code=404, nav="operator")
    user, errors = await add_account_user(page.db, account.id, email, role, password)
    if user is not None:
        return RedirectResponse(f"{_account_url(name)}?added={user.id}", status_code=303)
    form = {"email": email.strip(), "role": role}
    return await _render_account(page, name, status_code=422, errors=errors, form=form)


def _account_url(name: str) -> str:
    return f"/console/operator/accounts/{quote(name)}"


def _not_found(page: OperatorPage, exc: ApiError) -> HTMLResponse:
    """Only a hand-made request names an account the pages did not list: the 404 page, as
    for any console URL that names nothing."""
    if exc.status != 404:
        raise exc
    return page.render("not_found.html", status_code=404, nav="operator")


async def _render_account(
    page: OperatorPage,
    name: str,
    *,
    status_code: int = 200,
    done: str = "",
    added: int = 0,
    token: accounts_routes.NewToken | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    async with page.db.connection() as conn:
        try:
            account = await account_by_name(conn, name)
        except UnknownAccount:
            return page.render("not_found.html", status_code=404, nav="operator")
        users = await list_users(conn, account.id)  # a global table, filtered by account
    # The account's forms as its own users' API shows them: the operator reads figures, and
    # the query runs with that account alone in hand.
    forms = await forms_routes.list_forms(AccountScope(account, page.db), page.settings)
    return page.render(
        "operator/account.html",
        status_code=status_code,
        nav="operator",
        account=account,
        forms=forms.forms,
        owners={f.id: owner_choice(f.owner_urn, f.owner_name) for f in forms.forms if f.owner_urn},
        statuses=STATUS_LABELS,
        users=users,
        added=next((u for u in users if u.id == added), None),
        done=done if done in ("enabled", "disabled") else "",
        token=token,
        roles=ACCOUNT_ROLES,
        min_length=passwords.MIN_LENGTH,
        errors=errors or {},
        form=form or {"email": "", "role": "admin"},
    )


async def _render(
    page: OperatorPage,
    *,
    status_code: int = 200,
    form: NewAccountForm | None = None,
    created: accounts_routes.CreatedAccount | None = None,
    disabled: str | None = None,
) -> HTMLResponse:
    listed = await accounts_routes.get_accounts(page.db)
    # The operator holds no account: the counts are read with every account in hand.
    async with page.db.every_account() as conn:
        volumes = await account_volumes(conn)
    rows = [AccountRow(a, volumes.get(a.id, AccountVolume(a.id))) for a in listed.accounts]
    return page.render(
        "operator/accounts.html",
        status_code=status_code,
        nav="operator",
        rows=rows,
        form=form or NewAccountForm(),
        created=created,
        disabled=disabled if any(r.account.name == disabled for r in rows) else None,
    )


def _refusal(page: OperatorPage, exc: ApiError, name: str) -> str:
    if exc.code == "account_exists":
        return page.t("An account named {name} exists already.", name=name)
    if exc.code == "invalid_account_name":
        return page.t(
            "Use 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit."
        )
    return exc.message
