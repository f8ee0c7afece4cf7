"""Owner-level push subscriptions for the forms whose Import is on, in any account.

Idempotent (the client lists before it creates): run by ``leadsync subscribe``, by the
admin API for the owner of a form whose Import it switches on, for every owner of an account
whose member connects (again: ``leadsync linkedin connect`` and the OAuth callback), and by
the scheduler on every tick (which also retries what failed). LinkedIn validates the
webhook (challenge) before it accepts a subscription, so the receiver must be reachable at
``LEADSYNC_INGRESS_PUBLIC_URL``.

One leadsync is one LinkedIn app with one webhook: a subscription of an owner serves every
account that connected that owner (the notification is routed to each of them). So an owner
is subscribed once, through the first of its accounts' connections that LinkedIn accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ingest.puller import lead_types_of
from leadsync.settings import Settings
from linkedin import LinkedInClient, LinkedInError, Owner
from sinks.catalog import OwnerToSubscribe, subscription_owners
from sinks.connections import PostgresTokenStore
from sinks.database import Database

log = logging.getLogger(__name__)


@dataclass
class SubscribeResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def ensure_subscriptions(
    settings: Settings,
    db: Database,
    done: set[tuple[str, str]] | None = None,
    *,
    account_id: int | None = None,
) -> SubscribeResult:
    """Subscribe every owner of an enabled form: of the account, or of every account when
    none is given (the scheduler); ``done`` skips (owner, lead type) pairs already tried."""
    if account_id is None:
        async with db.every_account() as conn:
            owners = await subscription_owners(conn)
    else:
        async with db.account(account_id) as conn:
            owners = await subscription_owners(conn)
    return await subscribe_owners(settings, db, owners, done)


async def resubscribe_account(settings: Settings, db: Database, account_id: int) -> SubscribeResult:
    """The account's member connected (again): subscribe every owner of its enabled forms
    at once, through its connections, instead of at the scheduler's next round (up to an
    hour away; subscriptions may have been lost while the connection was expired or
    revoked). Nothing to do (no call to LinkedIn) when no form of the account has Import on.
    A failure is logged and left to the scheduler's round; it does not undo the connection."""
    result = await ensure_subscriptions(settings, db, account_id=account_id)
    if result.created or result.existing or result.failed:
        log.info(
            "account %d connected: %d push subscriptions made, %d already there, %d failed",
            account_id,
            len(result.created),
            len(result.existing),
            len(result.failed),
        )
    for failure in result.failed:
        log.warning("account %d: push subscription not made: %s", account_id, failure)
    return result


async def subscribe_form_owner(
    settings: Settings, db: Database, account_id: int, form_id: int
) -> SubscribeResult:
    """Subscribe the owner of the account's form (if its Import is on), through the
    account's connection."""
    async with db.account(account_id) as conn:
        owners = await subscription_owners(conn, form_id)
    return await subscribe_owners(settings, db, owners)


async def subscribe_owners(
    settings: Settings,
    db: Database,
    owners: list[OwnerToSubscribe],
    done: set[tuple[str, str]] | None = None,
) -> SubscribeResult:
    """Subscribe these owners, each through its accounts' connections in turn until one
    succeeds; ``done`` skips (owner, lead type) pairs already tried and records these."""
    result = SubscribeResult()
    reaching: dict[str, list[OwnerToSubscribe]] = {}
    for reach in owners:
        reaching.setdefault(reach.owner_urn, []).append(reach)
    for owner_urn, candidates in reaching.items():
        owner = Owner.from_urn(owner_urn)
        pending = [
            lead_type
            for lead_type in lead_types_of(owner)
            if done is None or (owner_urn, lead_type) not in done
        ]
        if not pending:
            continue  # every tick but the first of a round: no client (and TLS setup) at all
        tried = list(pending)
        refused: dict[str, str] = {}
        for candidate in candidates:
            if not pending:
                break
            store = PostgresTokenStore(settings, db, candidate.account_id, candidate.connection_id)
            async with LinkedInClient.from_settings(settings, store) as linkedin:
                for lead_type in list(pending):
                    label = f"{owner_urn} {lead_type}"
                    try:
                        subscribed = await linkedin.subscribe(
                            settings.ingress_public_url, owner, lead_type
                        )
                    except LinkedInError as exc:
                        log.warning(
                            "could not subscribe %s through account %s: %s",
                            label,
                            candidate.account_id,
                            exc,
                        )
                        refused[lead_type] = exc.message or str(exc)
                        continue
                    (result.created if subscribed.created else result.existing).append(label)
                    pending.remove(lead_type)
        result.failed += [f"{owner_urn} {lead_type}: {refused[lead_type]}" for lead_type in pending]
        if done is not None:
            done.update((owner_urn, lead_type) for lead_type in tried)  # not before next round
    return result
