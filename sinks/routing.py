"""Routing a lead notification to the accounts that connected its owner (issue #12).

One webhook URL serves every account: a notification names only its owner (an ad account
``urn:li:sponsoredAccount:N`` or an organization). An account connected that owner when one
of its LinkedIn connections may read the owner's leads: ``connection_owners``, the owners
whose forms that connection's last discovery read (:func:`sinks.catalog.record_reach`).
Holding an ad account is not enough: a member with a role on an ad account may have none
on its organization (LinkedIn answers 403), and such an account is not routed the
organization's leads. Nothing else routes: a notification whose owner no account connected
is acknowledged and counted in ``unrouted_owners``, never imported anywhere (there is no
"any connection" fallback: a lead goes only to an account whose own connection reaches its
owner). When LinkedIn refuses a connection an owner's lead (403), the hydrator forgets that
owner for the connection (:func:`forget_owner`) until a discovery finds it readable again.

``routes_for_owners`` and ``ledger_holders`` read account rows of many accounts at once: run
them with every account in hand (``Database.every_account()``). ``forget_owner`` writes one
account's row (that account in hand). ``count_unrouted`` writes a global table
(``Database.connection()``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True)
class Route:
    """One account that connected an owner, and the connection through which it did."""

    account_id: int
    account_status: str  # accounts.status: active or disabled
    connection_id: int
    connection_status: str  # linkedin_connections.status: active, expired, revoked

    @property
    def usable(self) -> bool:
        """Whether this account's connection can fetch the owner's leads."""
        return self.connection_status == "active"


# Per owner and account, the one connection that routes: an active one when the account
# has several reading the owner (two members of the account administer the organization),
# the oldest among equals so that the choice is stable.
_ROUTES = """
SELECT DISTINCT ON (o.owner, c.account_id)
       o.owner, c.account_id, acc.status, c.id, c.status
FROM unnest(%s::text[]) AS o (owner)
JOIN connection_owners r ON r.owner_urn = o.owner
JOIN linkedin_connections c ON c.account_id = r.account_id AND c.id = r.connection_id
JOIN accounts acc ON acc.id = c.account_id
ORDER BY o.owner, c.account_id, c.status <> 'active', c.id
"""


async def routes_for_owners(
    conn: AsyncConnection[Any], owners: Collection[str]
) -> dict[str, list[Route]]:
    """For each owner, the accounts that connected it (in account order); an owner no
    account connected is absent. Needs every account in hand."""
    if not owners:
        return {}
    cur = await conn.execute(_ROUTES, (sorted(owners),))
    routes: dict[str, list[Route]] = {}
    for owner, account_id, account_status, connection_id, connection_status in await cur.fetchall():
        routes.setdefault(owner, []).append(
            Route(account_id, account_status, connection_id, connection_status)
        )
    return routes


async def forget_owner(
    conn: AsyncConnection[Any], account_id: int, connection_id: int, owner_urn: str
) -> bool:
    """The connection may no longer read the owner (LinkedIn refused it the owner's lead):
    its account is not routed the owner's leads through it any more, until a discovery finds
    the owner readable again. True when the connection had the owner. Needs the account in
    hand."""
    cur = await conn.execute(
        "DELETE FROM connection_owners"
        " WHERE account_id = %s AND connection_id = %s AND owner_urn = %s",
        (account_id, connection_id, owner_urn),
    )
    return cur.rowcount > 0


async def ledger_holders(
    conn: AsyncConnection[Any], lead_ids: Collection[str], account_ids: Iterable[int]
) -> set[tuple[int, str]]:
    """The (account, lead) pairs already in these accounts' ledgers, erased ones included (a
    lead LinkedIn deleted does not come back). Needs those accounts in hand."""
    accounts = sorted(set(account_ids))
    if not lead_ids or not accounts:
        return set()
    # The lead id first: imported_leads_lead_idx finds the few rows of each lead.
    cur = await conn.execute(
        "SELECT account_id, lead_id FROM imported_leads"
        " WHERE lead_id = ANY(%s) AND account_id = ANY(%s)",
        (sorted(lead_ids), accounts),
    )
    return {(account_id, lead_id) for account_id, lead_id in await cur.fetchall()}


@dataclass
class Unrouted:
    """What a batch saw of an owner no account connected."""

    notifications: int
    last_lead_id: str
    last_form_id: int


_COUNT_UNROUTED = """
INSERT INTO unrouted_owners AS u (owner_urn, notifications, last_lead_id, last_form_id)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[])
ON CONFLICT (owner_urn) DO UPDATE SET notifications = u.notifications + excluded.notifications,
  last_lead_id = excluded.last_lead_id, last_form_id = excluded.last_form_id,
  last_seen_at = now()
"""


async def count_unrouted(conn: AsyncConnection[Any], owners: dict[str, Unrouted]) -> None:
    """Add a batch's notifications to the count of each owner no account connected (a
    global table: any connection will do)."""
    if not owners:
        return
    # In owner order, so that two workers counting the same owners cannot deadlock.
    ordered = sorted(owners.items())
    await conn.execute(
        _COUNT_UNROUTED,
        (
            [owner for owner, _ in ordered],
            [seen.notifications for _, seen in ordered],
            [seen.last_lead_id for _, seen in ordered],
            [seen.last_form_id for _, seen in ordered],
        ),
    )
