"""Discovery: the connected member's ad accounts and organizations, and their forms.

Run for one account through one of its connections: by ``leadsync forms discover`` (and
after ``leadsync linkedin connect``), and by the admin process once a member connected.
What it finds is recorded in that account only (another account connected to the same ad
account keeps its own copy). Idempotent: running it again updates names, states and
versions and adds what is new.

An owner the member may not read (an organization whose ad account they share but which
they do not administer: LinkedIn answers 403) is left out and named in ``refused``; the
rest is discovered. Another member of the account, or another account, may reach it.

Discovery is also what routing believes: once every owner was tried, the owners whose forms
the connection read replace the connection's ``connection_owners`` (a notification goes to
the accounts whose connection reads its owner), and the connection's ad accounts LinkedIn no
longer lists are forgotten. A member who lost a role thus stops receiving that owner's leads
at the next discovery. A discovery that fails half way (LinkedIn down, the connection
refused) changes neither: what the connection reaches is replaced only as a whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from leadsync.settings import Settings
from linkedin import Forbidden, LinkedInClient, Owner
from mapping.apply import auto_mappings
from sinks.catalog import record_reach, save_ad_account, save_form
from sinks.connections import PostgresTokenStore
from sinks.database import Database

log = logging.getLogger(__name__)


@dataclass
class Discovered:
    ad_accounts: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    forms: int = 0
    new_forms: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # owners LinkedIn would not show
    readable: list[str] = field(default_factory=list)  # owners whose forms it showed


async def discover(
    settings: Settings, db: Database, account_id: int, connection_id: int
) -> Discovered:
    """Record what the account's connection reaches on LinkedIn, in the account."""
    found = Discovered()
    store = PostgresTokenStore(settings, db, account_id, connection_id)
    async with LinkedInClient.from_settings(settings, store) as linkedin:
        owners: list[tuple[Owner, str | None]] = []
        referenced: set[str] = set()
        for user in await linkedin.ad_accounts():
            account = await linkedin.ad_account(user.account)
            async with db.account(account_id) as conn:
                await save_ad_account(
                    conn,
                    connection_id,
                    user.account,
                    account.name,
                    user.role,
                    account.reference,
                    account.test,
                    account.status,
                )
            found.ad_accounts.append(user.account)
            owners.append((Owner.sponsored_account(user.account), "SPONSORED"))
            if account.reference and account.reference not in referenced:
                referenced.add(account.reference)
                # Organic leads: their lead type is not on the form, the puller tries each.
                owners.append((Owner.organization(account.reference), None))
        for owner, lead_type in owners:
            try:
                async for form in linkedin.iter_forms(owner):
                    async with db.account(account_id) as conn:
                        is_new = await save_form(
                            conn, form, owner.urn, connection_id, lead_type, auto_mappings
                        )
                    found.forms += 1
                    if is_new:
                        found.new_forms.append(form.id)
            except Forbidden as exc:
                log.warning(
                    "account %s: the member may not read %s: %s", account_id, owner.urn, exc
                )
                found.refused.append(owner.urn)
                continue
            found.readable.append(owner.urn)
            if owner.kind == "organization":
                found.organizations.append(owner.urn)
    async with db.account(account_id) as conn:
        await record_reach(conn, connection_id, found.ad_accounts, found.readable)
    return found
