"""Owner-level push subscriptions for the forms whose Import is on.

Idempotent (the client lists before it creates): run by ``leadsync subscribe``, by the
admin API for the owner of a form whose Import it switches on, and by the scheduler on
every tick (which also retries what failed). LinkedIn validates the webhook (challenge)
before it accepts a subscription, so the receiver must be reachable at
``LEADSYNC_INGRESS_PUBLIC_URL``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ingest.puller import lead_types_of
from leadsync.settings import Settings
from linkedin import LinkedInClient, LinkedInError, Owner
from sinks.connections import PostgresTokenStore
from sinks.database import Database
from sinks.forms import owners_to_subscribe

log = logging.getLogger(__name__)


@dataclass
class SubscribeResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def ensure_subscriptions(
    settings: Settings, db: Database, done: set[tuple[str, str]] | None = None
) -> SubscribeResult:
    """Subscribe every owner of an enabled form; ``done`` skips pairs already tried."""
    async with db.connection() as conn:
        owners = await owners_to_subscribe(conn)
    return await subscribe_owners(settings, db, owners, done)


async def subscribe_owners(
    settings: Settings,
    db: Database,
    owners: list[tuple[str, int]],
    done: set[tuple[str, str]] | None = None,
) -> SubscribeResult:
    """Subscribe these owners, through their connections; ``done`` skips pairs already
    tried."""
    result = SubscribeResult()
    for owner_urn, connection_id in owners:
        owner = Owner.from_urn(owner_urn)
        pending = [
            lead_type
            for lead_type in lead_types_of(owner)
            if done is None or (owner_urn, lead_type) not in done
        ]
        if not pending:
            continue  # every tick but the first of a round: no client (and TLS setup) at all
        store = PostgresTokenStore(settings, db, connection_id)
        async with LinkedInClient.from_settings(settings, store) as linkedin:
            for lead_type in pending:
                label = f"{owner_urn} {lead_type}"
                try:
                    subscribed = await linkedin.subscribe(
                        settings.ingress_public_url, owner, lead_type
                    )
                except LinkedInError as exc:
                    log.warning("could not subscribe %s: %s", label, exc)
                    result.failed.append(f"{label}: {exc.message or exc}")
                else:
                    (result.created if subscribed.created else result.existing).append(label)
                if done is not None:
                    done.add((owner_urn, lead_type))  # not again before the next round
    return result
