"""A form's page, category "Sync" (architecture.md section 5): the Import switch, the
periodic sync and its interval, the status and why, the last and next run, the counters,
the reconciliation and retention figures, the history of runs, and "Start manual import"
(a dialog with the three options) followed live to its end.

Every read and write is the JSON API's own route function called with the signed-in
user's :class:`~admin.dependencies.AccountScope` (``forms_routes.change_form``,
``runs_routes.start_import``...): the same rules, the same refusals, and another account's
form or run is the 404 page. (The form is read as the forms list reads it,
:func:`admin.console.forms_pages.read_form`, for its status's reason in the user's
language. The history reads the runs with their figures straight from
:mod:`sinks.sync_runs`, in one statement: the API lists runs without figures.) The run's
progress is a fragment (``/console/runs/{id}``) that htmx polls every second; it answers
286 once the run is done, its leads imported (:mod:`admin.console.run_progress`), which
stops the polling. Without JavaScript, reloading the page shows the same figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import TypeAdapter, ValidationError

from admin import forms_routes, reconciliation_routes, runs_routes
from admin.console.forms_pages import STATE_LABELS, ShownForm, read_form
from admin.console.run_progress import read_progress
from admin.console.session import AccountPageDep
from admin.dependencies import RequestPublisherDep
from admin.error_responses import ApiError
from admin.models import Form as FormOut
from admin.models import FormSettingsChange, IntervalHours, Run
from admin.reconciliation_routes import Reconciliation
from schemas.envelopes import SyncOptions
from sinks import sync_runs

router = APIRouter(include_in_schema=False)

HISTORY_RUNS = 10
RECONCILIATION_DAYS = 30
POLL_EVERY = "1s"
ENDED = frozenset({"succeeded", "failed"})
# htmx stops polling an element whose request is answered with this status.
STOP_POLLING = 286

# The API's rule for the interval, read from its own type so the page cannot drift from it.
_INTERVAL_RULE: dict[str, Any] = TypeAdapter(IntervalHours).json_schema()
INTERVAL_MIN: int = _INTERVAL_RULE["minimum"]
INTERVAL_MAX: int = _INTERVAL_RULE["maximum"]
_WHOLE_NUMBER = re.compile(r"\s*[+-]?\d{1,9}\s*")


@dataclass(frozen=True)
class NextRun:
    """When the scheduler pulls the form next: ``at`` (None: not scheduled, or due at its
    next check), and why, in English (the catalog's key)."""

    at: datetime | None
    note: str


def next_scheduled_run(form: FormOut, active: bool, now: datetime) -> NextRun:
    """The scheduler's rule (``sinks.sync_runs.forms_due``) read from the form: Import and
    Periodic sync on, a connection, the interval passed since the last successful run, and
    a failing pull's backoff over."""
    if not form.import_enabled:
        return NextRun(None, "None: Import is off.")
    if not form.periodic_sync:
        return NextRun(None, "None: Periodic sync is off.")
    if form.connection_status is None:
        return NextRun(None, "None: no LinkedIn connection reads this form.")
    if form.connection_status != "active":
        return NextRun(None, "After LinkedIn is reconnected.")
    if active:
        return NextRun(None, "A run is in progress.")
    due = now
    if form.last_synced_at is not None:
        due = form.last_synced_at + timedelta(hours=form.sync_interval_hours)
    if form.sync_backoff is not None and form.sync_backoff.next_attempt_at is not None:
        due = max(due, form.sync_backoff.next_attempt_at)
    if due <= now:
        return NextRun(None, "Due now: at the scheduler's next check.")
    return NextRun(due, "")


def moment(at: datetime | None) -> str:
    """A time as the page shows it (UTC, to the minute): the same in both languages."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def is_past(at: datetime) -> bool:
    return at <= datetime.now(UTC)


def reset_by_manual_import(form: FormOut, runs: list[Run]) -> bool:
    """Whether the form's counters were last reset by one of these manual imports (the
    reset and the run's start are one transaction: the same moment)."""
    reset_at = form.counters.reset_at
    return any(r.trigger == "manual" and r.started_at == reset_at for r in runs)


# What every template of the page uses.
_HELPERS: dict[str, Any] = {
    "moment": moment,
    "is_past": is_past,
    "ended": ENDED,
    "poll_every": POLL_EVERY,
    "state_labels": STATE_LABELS,
}


def interval_hours(raw: str) -> int | str:
    """The interval typed in the page: an integer when it is written as one, else the text
    as typed (which the API's strict rule then refuses, as it refuses ``"24"`` or 1.5)."""
    return int(raw) if _WHOLE_NUMBER.fullmatch(raw) else raw


@router.get("/console/forms/{form_id}", response_class=HTMLResponse)
async def form_sync_page(form_id: int, page: AccountPageDep, notice: str = "") -> HTMLResponse:
    return await _render(page, form_id, notice=notice)


@router.post("/console/forms/{form_id}/settings", response_class=HTMLResponse)
async def save_sync_settings(
    form_id: int,
    page: AccountPageDep,
    after: BackgroundTasks,
    import_enabled: Annotated[bool, Form()] = False,
    periodic_sync: Annotated[bool, Form()] = False,
    sync_interval_hours: Annotated[str, Form()] = "",
) -> Response:
    """The three settings as the form sends them (an unchecked box is absent: off). An
    invalid interval changes nothing and shows the rule beside the field."""
    try:
        change = FormSettingsChange(
            import_enabled=import_enabled,
            periodic_sync=periodic_sync,
            # The text as typed when it is no integer: the API model refuses it, as the API does.
            sync_interval_hours=interval_hours(sync_interval_hours),
        )
    except ValidationError:
        typed = {"import_enabled": import_enabled, "periodic_sync": periodic_sync}
        return await _render(
            page,
            form_id,
            status_code=422,
            interval_error=sync_interval_hours,
            typed=typed,
        )
    try:
        await forms_routes.change_form(form_id, change, page.scope, page.settings, after)
    except ApiError as exc:
        return _refused(page, exc)
    return RedirectResponse(f"/console/forms/{form_id}?notice=saved", status_code=303)


@router.post("/console/forms/{form_id}/import", response_class=HTMLResponse)
async def start_manual_import(
    form_id: int,
    page: AccountPageDep,
    request_publisher: RequestPublisherDep,
    reimport_existing: Annotated[bool, Form()] = False,
    restart_workflows: Annotated[bool, Form()] = False,
    all_submissions: Annotated[bool, Form()] = False,
) -> Response:
    """The dialog's Start. The second option counts only with the first, as the dialog
    shows it only then (a box checked, then hidden by unchecking the first, is not asked
    for). Refusals (Import off, a run in progress, Kafka away) show on the page."""
    options = SyncOptions(
        reimport_existing=reimport_existing,
        restart_workflows=restart_workflows and reimport_existing,
        all_submissions=all_submissions,
    )
    try:
        # Recorded as this user's run (sync_runs.requested_by), not the API's.
        await runs_routes.start_run(
            page.scope,
            page.settings,
            request_publisher,
            form_id,
            options,
            f"console:{page.user.email}",
        )
    except ApiError as exc:
        if exc.status == 404:
            return _refused(page, exc)
        return await _render(page, form_id, status_code=exc.status, refusal=exc.code)
    return RedirectResponse(f"/console/forms/{form_id}?notice=started", status_code=303)


@router.get("/console/runs/{run_id}", response_class=HTMLResponse)
async def run_progress(
    run_id: UUID,
    page: AccountPageDep,
    request: Request,
    seen: Annotated[int | None, Query(ge=0)] = None,
    since: datetime | None = None,
) -> Response:
    """The run's progress card, for htmx's polling (with the form's counters, and once the
    run is done its status, actions, history and reconciliation, swapped out of band); 286
    once it is done. A browser's own visit goes to the form's page, which shows the same."""
    progress = await read_progress(page.scope, run_id, datetime.now(UTC), seen, since)
    if progress is None:
        return _not_found(page)
    form_id = progress.run.form_id
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(f"/console/forms/{form_id}", status_code=303)
    found = await read_form(page, form_id)
    form = found.form
    context: dict[str, Any] = {
        "form": form,
        "progress": progress,
        "oob": True,
        "reset_by_import": reset_by_manual_import(form, [progress.run]),
        **_HELPERS,
    }
    if not progress.following:
        context.update(await _status_and_history(page, found))
        context["reconciliation"] = await reconciliation_routes.get_reconciliation(
            form_id, page.scope, RECONCILIATION_DAYS
        )
    return page.render(
        "form/run_progress.html",
        status_code=200 if progress.following else STOP_POLLING,
        **context,
    )


async def _render(
    page: AccountPageDep, form_id: int, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    try:
        found = await read_form(page, form_id)
    except ApiError as exc:
        return _refused(page, exc)
    form = found.form
    shown = await _status_and_history(page, found)
    reconciliation: Reconciliation = await reconciliation_routes.get_reconciliation(
        form_id, page.scope, RECONCILIATION_DAYS
    )
    runs: list[Run] = shown["runs"]
    progress = None
    if runs:
        progress = await read_progress(page.scope, runs[0].id, datetime.now(UTC))
    return page.render(
        "form/sync.html",
        status_code=status_code,
        nav="forms",
        form=form,
        progress=progress,
        reconciliation=reconciliation,
        interval_min=INTERVAL_MIN,
        interval_max=INTERVAL_MAX,
        oob=False,
        reset_by_import=reset_by_manual_import(form, runs),
        **{"notice": "", "interval_error": None, "typed": None, "refusal": None, **context},
        **shown,
        **_HELPERS,
    )


async def _status_and_history(page: AccountPageDep, found: ShownForm) -> dict[str, Any]:
    """What the status card and the history show: the status's reason in the user's
    language, the latest runs with what each imported (the list alone has no figures), and
    the next scheduled run."""
    form = found.form
    async with page.scope.connection() as conn:  # one statement, figures included
        rows = await sync_runs.list_runs(conn, form.id, HISTORY_RUNS, with_stats=True)
    runs = [Run.model_validate(row) for row in rows]
    active = any(run.status not in ENDED for run in runs)
    return {
        "status_reason": found.status.text(page.t),
        "runs": runs,
        "run_active": active,
        "next_run": next_scheduled_run(form, active, datetime.now(UTC)),
    }


def _refused(page: AccountPageDep, exc: ApiError) -> HTMLResponse:
    """Another account's form or run, or none: the 404 page. Anything else is not a page's
    to answer: the app's error handler answers it."""
    if exc.status != 404:
        raise exc
    return _not_found(page)


def _not_found(page: AccountPageDep) -> HTMLResponse:
    return page.render("not_found.html", status_code=404, nav="forms")
