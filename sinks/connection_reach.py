"""What each LinkedIn connection of an account reaches, as its last discovery found it: the
ad accounts LinkedIn listed for the member, and the organizations whose forms it could read
(``connection_owners``, which routing also believes).

Read with the account in hand (``Database.account``): row-level security shows its own
connections only. An organization has the name LinkedIn gave discovery (none when LinkedIn
refused it or failed: the URN is all there is).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

_ORGANIZATION = "urn:li:organization:"


@dataclass(frozen=True)
class AdAccount:
    urn: str
    name: str | None
    role: str | None  # the member's role on it (ACCOUNT_MANAGER, VIEWER, ...)
    status: str | None  # LinkedIn's: ACTIVE, CANCELED, ...
    test: bool
    organization_urn: str | None
    readable: bool  # its forms could be read (discovery was not refused)


@dataclass(frozen=True)
class Organization:
    """An organization whose forms the connection reads."""

    urn: str
    name: str | None

    @property
    def id(self) -> str:
        return self.urn.removeprefix(_ORGANIZATION)


@dataclass(frozen=True)
class ConnectionReach:
    ad_accounts: list[AdAccount] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)  # by name, unnamed last


_AD_ACCOUNTS = """
SELECT a.connection_id, a.urn, a.name, a.role, a.status, a.test, a.organization_urn,
       EXISTS (SELECT 1 FROM connection_owners o
               WHERE o.account_id = a.account_id AND o.connection_id = a.connection_id
                 AND o.owner_urn = a.urn)
FROM ad_accounts a
ORDER BY a.connection_id, a.name NULLS LAST, a.urn
"""

_ORGANIZATIONS = """
SELECT connection_id, owner_urn, owner_name FROM connection_owners
WHERE starts_with(owner_urn, %s)
ORDER BY connection_id, owner_name NULLS LAST, owner_urn
"""


async def connection_reach(conn: AsyncConnection[Any]) -> dict[int, ConnectionReach]:
    """By connection id: its ad accounts and readable organizations (the accounts in hand),
    each by name. A connection with nothing discovered yet is absent."""
    ad_accounts: dict[int, list[AdAccount]] = defaultdict(list)
    organizations: dict[int, list[Organization]] = defaultdict(list)
    cur = await conn.execute(_AD_ACCOUNTS)
    for connection_id, *columns in await cur.fetchall():
        ad_accounts[int(connection_id)].append(AdAccount(*columns))
    cur = await conn.execute(_ORGANIZATIONS, (_ORGANIZATION,))
    for connection_id, urn, name in await cur.fetchall():
        organizations[int(connection_id)].append(Organization(str(urn), name))
    return {
        connection_id: ConnectionReach(ad_accounts[connection_id], organizations[connection_id])
        for connection_id in sorted(ad_accounts.keys() | organizations.keys())
    }
