"""Forms as the admin API shows and edits them: settings, counters, connection, last run.

Changing settings is one transaction: the Import switch goes through
:func:`sinks.forms.set_import` (which starts the first watermark), the periodic-sync
checkbox and interval are written beside it, so a failed request changes nothing.

The caller holds the account (``Database.account``): row-level security shows its forms
only, so another account's form is "no such form". The joins stay within a form's account.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from sinks.forms import set_import
from sinks.sync_runs import UnknownForm

_FORMS = """
SELECT f.id, f.name, f.owner_urn,
       -- The owner's name as discovery knows it: an ad account's (adAccounts) or an
       -- organization's (organizations), the form's own connection's first.
       coalesce(f.owner_name,
                (SELECT a.name FROM ad_accounts a
                 WHERE a.account_id = f.account_id AND a.urn = f.owner_urn AND a.name IS NOT NULL
                 ORDER BY a.connection_id IS NOT DISTINCT FROM f.connection_id DESC LIMIT 1),
                (SELECT o.owner_name FROM connection_owners o
                 WHERE o.account_id = f.account_id AND o.owner_urn = f.owner_urn
                   AND o.owner_name IS NOT NULL
                 ORDER BY o.connection_id IS NOT DISTINCT FROM f.connection_id DESC LIMIT 1)
       ) AS owner_name,
       f.state, f.locale, f.lead_type,
       f.created_on_linkedin, f.import_enabled, f.import_enabled_at, f.periodic_sync,
       f.sync_interval_hours, f.watermark, f.last_synced_at, c.last_imported_at,
       f.discovered_at, f.updated_at,
       f.connection_id, lc.status AS connection_status, lc.status_reason AS connection_reason,
       lc.refresh_expires_at AS connection_refresh_expires_at,
       coalesce(c.imported, 0) AS imported, coalesce(c.updated, 0) AS updated,
       coalesce(c.errors, 0) AS errors, coalesce(c.skipped, 0) AS skipped, c.reset_at,
       coalesce(c.connection_errors, 0) AS connection_errors,
       coalesce(c.linkedin_errors, 0) AS linkedin_errors,
       coalesce(c.unreadable_errors, 0) AS unreadable_errors,
       coalesce(c.internal_errors, 0) AS internal_errors,
       f.sync_failures, f.sync_failed_at, f.sync_retry_at, f.sync_last_error,
       r.id AS run_id, r.trigger AS run_trigger, r.status AS run_status,
       r.requested_at AS run_requested_at, r.finished_at AS run_finished_at,
       r.error AS run_error,
       -- Retention: the oldest lead pushed while Import was off and never imported since,
       -- and whether a manual import of all submissions succeeded since Import went on.
       (SELECT min(s.submitted_at) FROM skipped_leads s
        WHERE s.account_id = f.account_id AND s.form_id = f.id) AS oldest_skipped_at,
       EXISTS (SELECT 1 FROM sync_runs b
               WHERE b.account_id = f.account_id AND b.form_id = f.id
                 AND b.trigger = 'manual' AND b.all_submissions AND b.status = 'succeeded'
                 AND b.started_at >= f.import_enabled_at) AS backfilled
FROM forms f
LEFT JOIN form_counters c ON c.account_id = f.account_id AND c.form_id = f.id
LEFT JOIN linkedin_connections lc ON lc.account_id = f.account_id AND lc.id = f.connection_id
LEFT JOIN LATERAL (
    SELECT id, trigger, status, requested_at, finished_at, error FROM sync_runs
    WHERE account_id = f.account_id AND form_id = f.id ORDER BY requested_at DESC LIMIT 1
) r ON true
"""


async def list_form_rows(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every form with its counters (per error kind), connection status and refresh-token
    expiry, backoff, latest sync run and what the retention warning reads, by id."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_FORMS + " ORDER BY f.id, f.account_id")
        return await cur.fetchall()


async def get_form_row(conn: AsyncConnection[Any], form_id: int) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_FORMS + " WHERE f.id = %s", (form_id,))
        return await cur.fetchone()


async def update_form_settings(
    conn: AsyncConnection[Any],
    form_id: int,
    *,
    import_enabled: bool | None = None,
    periodic_sync: bool | None = None,
    sync_interval_hours: int | None = None,
) -> bool:
    """Change what is given (``None``: leave as is); :class:`UnknownForm` if there is no form.
    Whether this switched Import on (it was off)."""
    async with conn.transaction():
        # Locked so a concurrent change cannot interleave with the watermark's start.
        found = await (
            await conn.execute(
                "SELECT import_enabled FROM forms WHERE id = %s FOR UPDATE", (form_id,)
            )
        ).fetchone()
        if found is None:
            raise UnknownForm(form_id)
        if import_enabled is not None:
            await set_import(conn, form_id, import_enabled)
        if periodic_sync is not None or sync_interval_hours is not None:
            await conn.execute(
                "UPDATE forms SET periodic_sync = coalesce(%s, periodic_sync),"
                " sync_interval_hours = coalesce(%s, sync_interval_hours), updated_at = now()"
                " WHERE id = %s",
                (periodic_sync, sync_interval_hours, form_id),
            )
    return bool(import_enabled) and not found[0]
