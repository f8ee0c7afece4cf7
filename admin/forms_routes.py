"""``/api/forms``: the account's forms with status and counters, one form, its settings.

A form shows its counters (total errors: configuration only; every kind apart), its
connection's refresh-token expiry (the status warns before it), the scheduled pulls'
backoff while they fail, and the retention warning when leads will age out on LinkedIn
before leadsync imports them.

Every read and write goes through the request's :class:`~admin.dependencies.AccountScope`:
another account's form is not found (404), and the list holds the account's forms only.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks

from admin.dependencies import AccountScope, AccountScopeDep, SettingsDep
from admin.error_responses import ErrorBody, not_found
from admin.models import (
    Counters,
    ErrorsByKind,
    Form,
    FormList,
    FormSettingsChange,
    RunSummary,
    StatusIndicator,
    SyncBackoff,
)
from admin.models import RetentionWarning as RetentionWarningOut
from admin.status import FormHealth, RetentionFacts, form_status, retention_warning
from ingest.subscriptions import subscribe_form_owner
from leadsync.settings import Settings
from sinks.form_settings import get_form_row, list_form_rows, update_form_settings
from sinks.sync_runs import UnknownForm

log = logging.getLogger(__name__)
router = APIRouter(tags=["forms"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


@router.get("/forms", summary="Every form with its status indicator and counters")
async def list_forms(scope: AccountScopeDep, settings: SettingsDep) -> FormList:
    async with scope.connection() as conn:
        rows = await list_form_rows(conn)
    now = datetime.now(UTC)
    stale = timedelta(hours=settings.status_stale_hours)
    retention = settings.linkedin_retention_days
    return FormList(forms=[form_out(row, now, stale, retention) for row in rows])


@router.get("/forms/{form_id}", summary="One form", responses=_NOT_FOUND)
async def get_form(form_id: int, scope: AccountScopeDep, settings: SettingsDep) -> Form:
    return await _read_form(form_id, scope, settings)


@router.patch(
    "/forms/{form_id}",
    summary="Change the Import switch, Periodic sync checkbox or sync interval",
    responses={**_NOT_FOUND, 422: {"model": ErrorBody}},
)
async def change_form(
    form_id: int,
    change: FormSettingsChange,
    scope: AccountScopeDep,
    settings: SettingsDep,
    after: BackgroundTasks,
) -> Form:
    """Turning Import on for the first time starts the form's watermark there: the periodic
    sync covers what comes after; older leads come in through a manual import. Turning it
    on also makes sure LinkedIn pushes the form owner's leads to the receiver, once the
    answer is sent (if LinkedIn refused, the scheduler tries again within the hour)."""
    try:
        async with scope.connection() as conn:
            switched_on = await update_form_settings(
                conn,
                form_id,
                import_enabled=change.import_enabled,
                periodic_sync=change.periodic_sync,
                sync_interval_hours=change.sync_interval_hours,
            )
    except UnknownForm:
        raise not_found("form", form_id) from None
    if switched_on:
        after.add_task(_subscribe_owner, settings, scope, form_id)
    return await _read_form(form_id, scope, settings)


async def _subscribe_owner(settings: Settings, scope: AccountScope, form_id: int) -> None:
    """The push subscription of the form's owner; a failure is logged, never raised (the
    answer has gone; the scheduler tries again)."""
    try:
        result = await subscribe_form_owner(settings, scope.db, scope.id, form_id)
    except Exception:
        log.exception(
            "push subscription for form %s of account %s not checked", form_id, scope.account.name
        )
        return
    for label in result.created:
        log.info("subscribed %s -> %s", label, settings.ingress_public_url)
    for label in result.failed:
        log.warning("push subscription failed, the scheduler retries: %s", label)


async def _read_form(form_id: int, scope: AccountScope, settings: Settings) -> Form:
    async with scope.connection() as conn:
        row = await get_form_row(conn, form_id)
    if row is None:
        raise not_found("form", form_id)
    return form_out(
        row,
        datetime.now(UTC),
        timedelta(hours=settings.status_stale_hours),
        settings.linkedin_retention_days,
    )


def form_out(
    row: dict[str, Any], now: datetime, stale_after: timedelta, retention_setting_days: int
) -> Form:
    status = form_status(FormHealth.of_row(row), now, stale_after)
    retention = retention_warning(
        RetentionFacts(
            import_enabled=row["import_enabled"],
            import_enabled_at=row["import_enabled_at"],
            created_on_linkedin=row["created_on_linkedin"],
            oldest_skipped_at=row["oldest_skipped_at"],
            backfilled=row["backfilled"],
            watermark=row["watermark"],
            owner_urn=row["owner_urn"],
            lead_type=row["lead_type"],
            connection_status=row["connection_status"] if row["connection_id"] else None,
            refresh_expires_at=row["connection_refresh_expires_at"],
            sync_failures=row["sync_failures"],
            sync_retry_at=row["sync_retry_at"],
        ),
        now,
        retention_setting_days,
    )
    backoff = None
    if row["sync_failures"]:
        backoff = SyncBackoff(
            consecutive_failures=row["sync_failures"],
            last_failed_at=row["sync_failed_at"],
            next_attempt_at=row["sync_retry_at"],
            last_error=row["sync_last_error"],
        )
    last_run = None
    if row["run_id"] is not None:
        last_run = RunSummary(
            id=row["run_id"],
            trigger=row["run_trigger"],
            status=row["run_status"],
            requested_at=row["run_requested_at"],
            finished_at=row["run_finished_at"],
            error=row["run_error"],
        )
    return Form(
        id=row["id"],
        name=row["name"],
        owner_urn=row["owner_urn"],
        owner_name=row["owner_name"],
        state=row["state"],
        status=StatusIndicator(color=status.color, reason=status.reason),
        import_enabled=row["import_enabled"],
        import_enabled_at=row["import_enabled_at"],
        periodic_sync=row["periodic_sync"],
        sync_interval_hours=row["sync_interval_hours"],
        counters=Counters(
            imported=row["imported"],
            updated=row["updated"],
            errors=row["errors"],
            errors_by_kind=ErrorsByKind(
                configuration=row["errors"],
                connection=row["connection_errors"],
                linkedin=row["linkedin_errors"],
                unreadable=row["unreadable_errors"],
                internal=row["internal_errors"],
            ),
            skipped=row["skipped"],
            reset_at=row["reset_at"],
        ),
        last_imported_at=row["last_imported_at"],
        last_synced_at=row["last_synced_at"],
        watermark=row["watermark"],
        connection_status=row["connection_status"],
        connection_refresh_expires_at=row["connection_refresh_expires_at"],
        sync_backoff=backoff,
        retention_warning=(
            RetentionWarningOut(
                leads_lost_from=retention.leads_lost_from,
                cause=retention.cause,
                reason=retention.reason,
            )
            if retention
            else None
        ),
        last_run=last_run,
    )
