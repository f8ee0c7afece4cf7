"""Discovery: the connected member's ad accounts and organizations, and their forms.

Run by ``leadsync forms discover`` (and after ``leadsync linkedin connect``). Idempotent:
running it again updates names, states and versions and adds what is new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leadsync.settings import Settings
from linkedin import LinkedInClient, Owner
from mapping.apply import auto_mappings
from sinks.catalog import save_ad_account, save_form
from sinks.connections import PostgresTokenStore
from sinks.database import Database


@dataclass
class Discovered:
    ad_accounts: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    forms: int = 0
    new_forms: list[int] = field(default_factory=list)


async def discover(settings: Settings, db: Database, connection_id: int) -> Discovered:
    found = Discovered()
    store = PostgresTokenStore(settings, db, connection_id)
    async with LinkedInClient.from_settings(settings, store) as linkedin:
        owners: list[tuple[Owner, str | None]] = []
        for user in await linkedin.ad_accounts():
            account = await linkedin.ad_account(user.account)
            async with db.connection() as conn:
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
            if account.reference and account.reference not in found.organizations:
                found.organizations.append(account.reference)
                # Organic leads: their lead type is not on the form, the puller tries each.
                owners.append((Owner.organization(account.reference), None))
        for owner, lead_type in owners:
            async for form in linkedin.iter_forms(owner):
                async with db.connection() as conn:
                    is_new = await save_form(
                        conn, form, owner.urn, connection_id, lead_type, auto_mappings
                    )
                found.forms += 1
                if is_new:
                    found.new_forms.append(form.id)
    return found
