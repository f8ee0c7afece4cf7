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

Each organization whose forms the connection read is asked for its name (``GET
/rest/organizations/{id}``), recorded beside it. A name LinkedIn refuses (403: a grant
without ``r_organization_admin``, say) or fails to give (down, throttled past the client's
retries, an answer without one) is left out, and the organization shows by its URN (or by
the name an earlier discovery read): a name never fails a discovery. A connection LinkedIn
no longer accepts does (:class:`ReconnectRequired`), as any other call of it would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from leadsync.settings import Settings
from linkedin import Forbidden, LinkedInClient, LinkedInError, Owner, ReconnectRequired
from mapping.apply import auto_mappings
from sinks.catalog import record_reach, save_ad_account, save_form
from sinks.connections import PostgresTokenStore
from sinks.database import Database

log = logging.getLogger(__name__)


@dataclass
class Discovered:
    ad_accounts: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    organization_names: dict[str, str] = field(default_factory=dict)  # those LinkedIn gave
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
                name = await _organization_name(linkedin, owner.urn, account_id)
                if name is not None:
                    found.organization_names[owner.urn] = name
    async with db.account(account_id) as conn:
        await record_reach(
            conn, connection_id, found.ad_accounts, found.readable, found.organization_names
        )
    return found


async def _organization_name(linkedin: LinkedInClient, urn: str, account_id: int) -> str | None:
    """The organization's name as LinkedIn gives it to this connection; None when it does
    not (the reason is logged)."""
    try:
        organization = await linkedin.organization(urn)
    except ReconnectRequired:
        raise
    except LinkedInError as exc:
        log.warning("account %s: LinkedIn gave no name for %s: %s", account_id, urn, exc)
        return None
    name = organization.display_name()
    if name is None:
        log.warning("account %s: LinkedIn's answer for %s has no name", account_id, urn)
    return name
