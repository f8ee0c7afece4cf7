"""The forms list (``/console/forms``): every form of the account with its status indicator,
counters and error-log download, filtered by ad account, LinkedIn state and status.

The forms and their status come from the JSON API's own functions (the rows of
:func:`sinks.form_settings.list_form_rows` through :func:`admin.forms_routes.form_out`), so
the console and ``GET /api/forms`` never disagree about a colour or a counter. The status is
read beside them from the same row and clock (:func:`admin.status.form_status`) for its
reason's phrases: the API says it in English, the page in the user's language. The filters
are plain GET parameters of a toolbar form, applied here to that list: the page works
without JavaScript and a filtered view is a link that can be shared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from admin import forms_routes, linkedin_routes
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from admin.error_responses import not_found
from admin.models import Form
from admin.status import Color, FormHealth, Status, form_status
from sinks.connection_reach import connection_reach
from sinks.form_settings import get_form_row, list_form_rows

router = APIRouter(include_in_schema=False)

# The status indicator's colours as a word beside the icon (a colour is never alone); the
# status's reason says why, on hover and to screen readers.
STATUS_LABELS: dict[Color, str] = {
    "green": "Working",
    "grey": "Import off",
    "yellow": "Needs attention",
    "red": "Connection broken",
}
# LinkedIn's form states (leadForms' ``state``); another one shows as LinkedIn spells it.
STATE_LABELS = {"PUBLISHED": "Published", "DRAFT": "Draft", "ARCHIVED": "Archived"}
_OWNER_KINDS = {"sponsoredAccount": "Ad account {id}", "organization": "Organization {id}"}


@dataclass(frozen=True)
class Filters:
    """The toolbar's choices ("" is every form)."""

    owner: str = ""
    state: str = ""
    status: str = ""

    @property
    def active(self) -> bool:
        return bool(self.owner or self.state or self.status)

    def keep(self, form: Form) -> bool:
        return (
            (not self.owner or form.owner_urn == self.owner)
            and (not self.state or form.state == self.state)
            and (not self.status or form.status.color == self.status)
        )


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # English; the template translates it
    params: dict[str, str] | None = None  # placeholders of a translated label


def is_new(form: Form) -> bool:
    """Discovered and never switched on: Import starts off on a new form so its fields can be
    mapped first (architecture.md, section 5), and ``import_enabled_at`` stays set once it
    went on, so a form turned off again later is not new."""
    return not form.import_enabled and form.import_enabled_at is None


def owner_choice(urn: str, name: str | None) -> Choice:
    """An ad account or organization by its name when known, else by its kind and number."""
    if name:
        return Choice(urn, name)
    _, _, rest = urn.partition("urn:li:")
    kind, _, number = rest.partition(":")
    if kind in _OWNER_KINDS and number:
        return Choice(urn, _OWNER_KINDS[kind], {"id": number})
    return Choice(urn, urn)


def _owner_choices(forms: Iterable[Form], names: dict[str, str]) -> list[Choice]:
    owners = {f.owner_urn: f.owner_name or names.get(f.owner_urn) for f in forms if f.owner_urn}
    choices = [owner_choice(urn, name) for urn, name in owners.items()]
    return sorted(choices, key=lambda c: (c.params is not None, c.label.lower(), c.value))


def _state_choices(forms: Iterable[Form]) -> list[Choice]:
    states = sorted({f.state for f in forms if f.state})
    return [Choice(s, STATE_LABELS.get(s, s)) for s in states]


@dataclass(frozen=True)
class ShownForm:
    """A form as ``GET /api/forms`` shows it, and its status with the phrases of its reason
    (the same status as ``form.status``: one row, one clock)."""

    form: Form
    status: Status


async def read_forms(page: AccountPage) -> list[ShownForm]:
    """The account's forms, as ``GET /api/forms`` lists them."""
    async with page.scope.connection() as conn:
        rows = await list_form_rows(conn)
    return _shown(page, rows)


async def read_form(page: AccountPage, form_id: int) -> ShownForm:
    """One form, as ``GET /api/forms/{id}`` shows it; the API's 404 (an ``ApiError``) when
    the account has no such form."""
    async with page.scope.connection() as conn:
        row = await get_form_row(conn, form_id)
    if row is None:
        raise not_found("form", form_id)
    [shown] = _shown(page, [row])
    return shown


def _shown(page: AccountPage, rows: list[dict[str, Any]]) -> list[ShownForm]:
    now = datetime.now(UTC)
    stale = timedelta(hours=page.settings.status_stale_hours)
    retention = page.settings.linkedin_retention_days
    return [
        ShownForm(
            forms_routes.form_out(row, now, stale, retention),
            form_status(FormHealth.of_row(row), now, stale),
        )
        for row in rows
    ]


async def _owner_names(page: AccountPage) -> dict[str, str]:
    """The names discovery found for the ad accounts and organizations (a form's row has its
    owner's URN only); an organization whose name LinkedIn did not give has none here."""
    async with page.scope.connection() as conn:
        reach = await connection_reach(conn)
    names = {o.urn: o.name for r in reach.values() for o in r.organizations if o.name}
    names |= {a.urn: a.name for r in reach.values() for a in r.ad_accounts if a.name}
    return names


@router.get("/console/forms", response_class=HTMLResponse)
async def forms_list(
    page: AccountPageDep, owner: str = "", state: str = "", status: str = ""
) -> HTMLResponse:
    filters = Filters(owner, state, status if status in STATUS_LABELS else "")
    listed = await read_forms(page)
    every = [f.form for f in listed]
    shown = sorted((f for f in every if filters.keep(f)), key=lambda f: (f.name.lower(), f.id))
    connected = True
    if not every:
        # Only an empty list needs to know why: no LinkedIn connection yet, or none of its
        # ad accounts and organizations has a form.
        connected = bool((await linkedin_routes.get_connections(page.scope)).connections)
    owners = _owner_choices(every, await _owner_names(page) if every else {})
    return page.render(
        "forms/list.html",
        nav="forms",
        forms=shown,
        reasons={f.form.id: f.status.text(page.t) for f in listed},
        total=len(every),
        filters=filters,
        owners=owners,
        owner_labels={c.value: c for c in owners},
        states=_state_choices(every),
        state_labels=STATE_LABELS,
        statuses=STATUS_LABELS,
        connected=connected,
        is_new=is_new,
    )
