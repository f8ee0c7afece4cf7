"""How much each account uses leadsync, for the platform operator: its forms and the leads
it imported lately. Counts only: nothing of any contact or lead leaves this module.

The operator holds no account of their own, so the counts are read with every account in
hand (``Database.every_account``), as the scheduler's scan does; the queries aggregate by
account and return numbers, never rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True)
class AccountVolume:
    account_id: int
    forms: int = 0
    forms_importing: int = 0  # Import on
    leads_24h: int = 0  # leads imported (or imported again) in the last 24 hours
    leads_30d: int = 0  # ... in the last 30 days
    last_imported_at: datetime | None = None  # the last contact created or updated


# Ledger rows without a contact are tombstones of leads deleted before their import
# (sinks.erase), not imports. A lead imported again (a manual re-import) counts once, at its
# latest import: the ledger keeps one row per lead.
_VOLUMES = """
WITH forms_of AS (
    SELECT account_id, count(*) AS forms, count(*) FILTER (WHERE import_enabled) AS importing
    FROM forms GROUP BY account_id
), leads_of AS (
    SELECT account_id,
           count(*) FILTER (WHERE imported_at > now() - interval '24 hours') AS day,
           count(*) AS month
    FROM imported_leads
    WHERE imported_at > now() - interval '30 days' AND contact_id IS NOT NULL
    GROUP BY account_id
), last_of AS (
    SELECT account_id, max(last_imported_at) AS last_imported_at
    FROM form_counters GROUP BY account_id
)
SELECT a.id, coalesce(f.forms, 0), coalesce(f.importing, 0), coalesce(l.day, 0),
       coalesce(l.month, 0), t.last_imported_at
FROM accounts a
LEFT JOIN forms_of f ON f.account_id = a.id
LEFT JOIN leads_of l ON l.account_id = a.id
LEFT JOIN last_of t ON t.account_id = a.id
"""


async def account_volumes(conn: AsyncConnection[Any]) -> dict[int, AccountVolume]:
    """Every account's volume, by account id (the accounts in hand: every one for the
    operator)."""
    cur = await conn.execute(_VOLUMES)
    volumes: dict[int, AccountVolume] = {}
    for account_id, forms, importing, day, month, last_imported_at in await cur.fetchall():
        volumes[int(account_id)] = AccountVolume(
            int(account_id), int(forms), int(importing), int(day), int(month), last_imported_at
        )
    return volumes
