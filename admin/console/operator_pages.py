"""``/console/operator``: the platform operator's page (issue #14, point 8).

Every account with its status, creation, forms and lead volume (leads imported in the last 24
hours and 30 days: counts from :mod:`sinks.account_volume`, nothing of any contact); creating
an account, whose first API token is shown once, on the answer to the creation and nowhere
else (leadsync keeps its hash only); disabling one, after a confirmation. The page acts
through the JSON API's operator routes (:mod:`admin.accounts_routes`), so the console and
``/api/accounts`` refuse and answer alike. The operator sees no account's data: the account
pages refuse them (:data:`admin.console.session.AccountPageDep`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin import accounts_routes
from admin.console.page import OperatorPage
from admin.console.session import OperatorPageDep
from admin.error_responses import ApiError
from sinks.account_volume import AccountVolume, account_volumes

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
async def disable_account(page: OperatorPageDep, name: str) -> Response:
    try:
        await accounts_routes.post_disable(name, page.db)
    except ApiError as exc:
        # Only a hand-made request names an account the page did not list: the 404 page,
        # as for any console URL that names nothing.
        if exc.status != 404:
            raise
        return page.render("not_found.html", status_code=404, nav="operator")
    return RedirectResponse(f"/console/operator?disabled={quote(name)}", status_code=303)


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
