"""Manual imports and sync runs of the request's account: start one, follow it, list a
form's runs (another account's form or run is 404).

Starting a manual import goes through :func:`ingest.sync_requests.request_manual_import`,
as the command line's does; the request it publishes names the account. The answer is 202
only once Kafka acknowledged the request; if it did not within ``QUEUE_WITHIN_S``, the run
is marked failed so it does not stay "queued" forever, and the answer is 503.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response

from admin.dependencies import AccountScope, AccountScopeDep, RequestPublisherDep, SettingsDep
from admin.error_responses import ApiError, ErrorBody, not_found
from admin.models import Run, RunList
from admin.request_publisher import RequestPublisher
from ingest.sync_requests import RequestNotQueued, request_manual_import
from leadsync.settings import Settings
from schemas.envelopes import SyncOptions
from sinks.forms import form_exists
from sinks.sync_runs import ImportDisabled, RunAlreadyActive, UnknownForm, get_run
from sinks.sync_runs import list_runs as list_form_runs

log = logging.getLogger(__name__)
router = APIRouter(tags=["sync runs"])
REQUESTED_BY = "admin-api"


@router.post(
    "/forms/{form_id}/imports",
    status_code=202,
    summary="Start a manual import (the form's counters reset when its run starts)",
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "A run is active, or Import is off."},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody, "description": "Kafka did not take the request."},
    },
)
async def start_import(
    form_id: int,
    response: Response,
    scope: AccountScopeDep,
    settings: SettingsDep,
    request_publisher: RequestPublisherDep,
    options: Annotated[SyncOptions, Body()] = SyncOptions(),  # noqa: B008 - immutable
) -> Run:
    """Follow the run at the ``Location`` answered (``GET /api/runs/{id}``)."""
    run = await start_run(scope, settings, request_publisher, form_id, options, REQUESTED_BY)
    response.headers["Location"] = f"/api/runs/{run.id}"
    return run


async def start_run(
    scope: AccountScope,
    settings: Settings,
    request_publisher: RequestPublisher,
    form_id: int,
    options: SyncOptions,
    requested_by: str,
) -> Run:
    """A manual import of ``form_id`` for whoever ``requested_by`` names (the API, or a
    console user); :class:`ApiError` says why when it cannot start."""
    try:
        run_id = await request_manual_import(
            settings,
            scope.db,
            request_publisher.publisher(),
            form_id,
            options,
            requested_by,
            account_id=scope.id,
        )
    except UnknownForm:
        raise not_found("form", form_id) from None
    except ImportDisabled as exc:
        # The importer records leads of a form whose Import is off as skipped: the run would
        # bring nothing in. Refused as the command line refuses it; nothing is reset.
        raise ApiError(
            409,
            "import_disabled",
            f"{exc} (PATCH /api/forms/{{id}} with import_enabled true)",
        ) from None
    except RunAlreadyActive as exc:
        raise ApiError(
            409,
            "run_active",
            f"form {form_id} already has a sync run in progress ({exc.run_id}); wait for it to end",
            [{"run_id": str(exc.run_id), "location": f"/api/runs/{exc.run_id}"}],
        ) from None
    except RequestNotQueued as exc:
        raise ApiError(
            503,
            "kafka_unavailable",
            "the import could not be queued: Kafka did not acknowledge the request;"
            " the run is marked failed, try again shortly",
            [{"run_id": str(exc.run_id)}],
            headers={"Retry-After": "10"},
        ) from None
    return await _read_run(scope, run_id)


@router.get(
    "/runs/{run_id}",
    summary="A sync run and what it imported",
    responses={404: {"model": ErrorBody}},
)
async def get_sync_run(run_id: UUID, scope: AccountScopeDep) -> Run:
    return await _read_run(scope, run_id)


@router.get(
    "/forms/{form_id}/runs",
    summary="A form's latest sync runs, newest first",
    responses={404: {"model": ErrorBody}},
)
async def list_runs(
    form_id: int,
    scope: AccountScopeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> RunList:
    async with scope.connection() as conn:
        if not await form_exists(conn, form_id):
            raise not_found("form", form_id)
        rows = await list_form_runs(conn, form_id, limit)
    return RunList(runs=[Run.model_validate(row) for row in rows])


async def _read_run(scope: AccountScope, run_id: UUID) -> Run:
    async with scope.connection() as conn:
        row: dict[str, Any] | None = await get_run(conn, run_id)
    if row is None:
        raise not_found("sync run", run_id)
    return Run.model_validate(row)
