"""Hydration: a lead notification becomes the full lead on ``leadsync.leads.raw``, once
for every account that connected the lead's owner.

One webhook URL serves every account: a notification names only its owner, and
:mod:`sinks.routing` finds the accounts that connected it. For a ``CREATED`` notification
the lead is fetched from LinkedIn once (``GET /rest/leadFormResponses/{id}`` with the form
projection, through an active connection of one of those accounts) and published with
origin ``push`` as one record per account (``account_id`` set, key ``account:lead``); a
``DELETED`` one becomes an erase request per account. An account that already holds the
lead in its ledger, or for which this worker already fetched it, is left out; when none is
left, nothing is fetched. A disabled account still gets its record: the import records it
as skipped, so the account's figures show what it missed.

A notification whose owner no account connected is acknowledged (its offset commits, so
nothing is retried), counted in ``unrouted_owners`` and logged, never imported.

LinkedIn 429/5xx are retried here with back-off (the notification's offset is not committed
meanwhile). A connection LinkedIn refuses is marked (in its account) and the next account's
active connection tried; a lead LinkedIn no longer has (404), an error of every connection
tried, and an account whose own connection must be renewed become error events in the
account's error log; the lead stays recoverable by the account's next pull. The batch's
offsets are committed only after every resulting record is on its topic.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError

from leadsync.retry import RetryPolicy, is_retriable
from leadsync.settings import Settings
from linkedin import LinkedInClient, LinkedInError, NotFound, ReconnectRequired
from schemas.envelopes import EraseRequest, Origin, RawLead
from schemas.events import ErrorEvent
from schemas.linkedin import Lead
from schemas.notifications import LeadNotification, ReceivedNotification
from sinks.connections import PostgresTokenStore, mark_refused
from sinks.database import Database
from sinks.routing import Route, Unrouted, count_unrouted, ledger_holders, routes_for_owners
from streams.agents import batches, outage_policy
from streams.records import Record

log = logging.getLogger(__name__)

RECENT_LEADS = 100_000

# The error code of a lead an account's connection cannot fetch, by the connection's status.
UNUSABLE_CONNECTION = {"revoked": "connection_revoked", "expired": "connection_expired"}

# The owner recorded for a notification that names none (it cannot be routed either).
NO_OWNER = ""


def _reconnect_message(status: str) -> str:
    return (
        f"the LinkedIn connection was {status}: reconnect; the lead comes in with the next"
        " pull after reconnecting"
    )


def _account_lead(account_id: int, lead_id: str) -> str:
    """The account's lead: a raw record's key (its records keep their order) and what this
    worker remembers having published."""
    return f"{account_id}:{lead_id}"


class Hydrator:
    def __init__(self, app: faust.App, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.outages = outage_policy(settings)
        # Outlasts the client's own retries (which honoured any Retry-After up to five
        # minutes): a throttled or failing LinkedIn is waited out at this pace, never given up.
        self.linkedin_outages = RetryPolicy(
            max_attempts=None,
            base_delay_s=0.5,
            max_delay_s=settings.retry_backoff_max_s,
            use_retry_after=False,
        )
        self.raw_topic = app.topic(
            settings.topics.leads_raw, value_type=bytes, value_serializer="raw"
        )
        self.errors_topic = app.topic(
            settings.topics.errors, value_type=bytes, value_serializer="raw"
        )
        self.clients: dict[int, LinkedInClient] = {}  # by connection id
        # The marking of each client's connection that LinkedIn refused, done once.
        self.refused: dict[LinkedInClient, asyncio.Future[str]] = {}
        # "account:lead" of the leads this worker published lately (a redelivered
        # notification is not fetched again).
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.limit = asyncio.Semaphore(settings.hydrate_concurrency)

    async def hydrate(self, records: list[Record]) -> None:
        pending: list[Any] = []
        notifications: list[tuple[Record, LeadNotification, int]] = []
        for record in records:
            try:
                notification = ReceivedNotification.model_validate_json(record.value).notification()
                form_id = notification.form_id()
            except (ValidationError, ValueError) as exc:
                # No owner to route by: the operator's error (pipeline_errors), no account's.
                message = " ".join(str(exc).splitlines()[:2])[:300]
                pending.append(
                    self._error(
                        record.error(
                            "hydrate", "undecodable_notification", message, with_bytes=True
                        )
                    )
                )
                continue
            notifications.append((record, notification, form_id))

        # Database outages are waited out here: nothing may escape the agent's loop.
        owners = {n.owner_urn() or NO_OWNER for _, n, _ in notifications}
        routes = await self.outages.call(
            lambda: self._routes(owners), what="routing the notifications", logger=log
        )
        unrouted: dict[str, Unrouted] = {}
        wanted: dict[str, tuple[Record, LeadNotification, list[Route]]] = {}
        for record, notification, form_id in notifications:
            owner = notification.owner_urn() or NO_OWNER
            lead_id = notification.lead_id()
            routed = routes.get(owner)
            if not routed:
                seen = unrouted.setdefault(owner, Unrouted(0, lead_id, form_id))
                seen.notifications += 1
                seen.last_lead_id, seen.last_form_id = lead_id, form_id
            elif notification.lead_action == "DELETED":
                wanted.pop(lead_id, None)
                pending.extend(
                    [await self._erase(notification, form_id, r.account_id) for r in routed]
                )
            else:
                wanted[lead_id] = (record, notification, routed)
        if unrouted:
            await self.outages.call(
                lambda: self._count_unrouted(unrouted), what="counting unrouted", logger=log
            )
            log.warning(
                "%d notifications for %d owners no account connected, acknowledged and not"
                " imported: %s",
                sum(seen.notifications for seen in unrouted.values()),
                len(unrouted),
                ", ".join(sorted(owner or "(no owner)" for owner in unrouted)),
            )

        published: list[str] = []
        if wanted:
            accounts = {r.account_id for _, _, routed in wanted.values() for r in routed}
            held = await self.outages.call(
                lambda: self._held(list(wanted), accounts), what="reading the ledgers", logger=log
            )
            leads = []
            for lead_id, (record, notification, routed) in wanted.items():
                targets = [
                    r
                    for r in routed
                    if (r.account_id, lead_id) not in held
                    and _account_lead(r.account_id, lead_id) not in self.recent
                ]
                if targets:  # else every account has it: no call to LinkedIn at all
                    leads.append(self._hydrate(record, notification, routed, targets))
                    published.extend(_account_lead(r.account_id, lead_id) for r in targets)
            for sent in await asyncio.gather(*leads):
                pending.extend(sent)
        await asyncio.gather(*pending)  # every record acknowledged before the offsets move
        for key in published:
            self.recent[key] = None
        while len(self.recent) > RECENT_LEADS:
            self.recent.popitem(last=False)

    async def _hydrate(
        self,
        record: Record,
        notification: LeadNotification,
        routed: list[Route],
        targets: list[Route],
    ) -> list[Any]:
        """Fetch the lead once and publish it for each target account (or its error)."""
        lead_id = notification.lead_id()
        # What each connection came to: its status when it is not (or no longer) usable,
        # LinkedIn's refusal when it could not fetch the lead.
        unusable = {r.connection_id: r.connection_status for r in routed if not r.usable}
        failed: dict[int, LinkedInError] = {}
        lead: Lead | None = None
        # Fetched only when an account that wants it can take it.
        candidates = _fetch_order(routed, targets) if any(t.usable for t in targets) else []
        for route in candidates:
            client = self._client(route)
            try:
                lead = await self._get_lead(client, lead_id)
                break
            except NotFound:
                # Withdrawn before it was fetched: whichever connection asks, it is gone.
                message = f"LinkedIn no longer has lead {lead_id} (withdrawn before it was fetched)"
                return [
                    await self._failed(
                        record, notification, t.account_id, "lead_not_found", message
                    )
                    for t in targets
                ]
            except ReconnectRequired as exc:
                unusable[route.connection_id] = await self._mark_refused(route, client, str(exc))
            except LinkedInError as exc:
                failed[route.connection_id] = exc  # another member may have the rights
        sent = []
        for target in targets:
            account_id = target.account_id
            if target.connection_id in unusable:
                # The account's own connection no longer reaches the owner: its leads wait
                # for it to reconnect, even when another account's connection fetched this one.
                status = unusable[target.connection_id]
                code = UNUSABLE_CONNECTION.get(status, "no_connection")
                sent.append(
                    await self._failed(
                        record, notification, account_id, code, _reconnect_message(status)
                    )
                )
            elif lead is not None:
                raw = RawLead(lead=lead, origin=Origin.PUSH, account_id=account_id)
                sent.append(
                    await self.raw_topic.send(
                        key=_account_lead(account_id, lead_id).encode(), value=raw.to_record()
                    )
                )
            else:
                error = failed.get(target.connection_id) or next(iter(failed.values()), None)
                message = (
                    f"LinkedIn answered {error.status}: {error.message}"
                    if error is not None
                    else "no LinkedIn connection could fetch this lead"
                )
                sent.append(
                    await self._failed(record, notification, account_id, "linkedin_error", message)
                )
        return sent

    async def _get_lead(self, client: LinkedInClient, lead_id: str) -> Lead:
        async def get_lead() -> Lead:
            async with self.limit:
                return await client.get_lead(lead_id)

        # LinkedIn's 429/5xx outlast the client's own retries: this lead waits (its
        # notification's offset is not committed meanwhile), whatever it takes.
        return await self.linkedin_outages.call(
            get_lead,
            what=f"hydrating {lead_id}",
            logger=log,
            # LinkedIn 429/5xx, and the token store's PostgreSQL being away.
            retry_if=is_retriable,
        )

    async def _erase(self, notification: LeadNotification, form_id: int, account_id: int) -> Any:
        occurred = (
            datetime.fromtimestamp(notification.occurred_at / 1000, UTC)
            if notification.occurred_at
            else datetime.now(UTC)
        )
        lead_id = notification.lead_id()
        erase = EraseRequest(
            erase_lead_id=lead_id,
            account_id=account_id,
            form_id=form_id,
            origin=Origin.PUSH,
            occurred_at=occurred,
        )
        return await self.raw_topic.send(
            key=_account_lead(account_id, lead_id).encode(), value=erase.to_record()
        )

    async def _failed(
        self,
        record: Record,
        notification: LeadNotification,
        account_id: int,
        code: str,
        message: str,
    ) -> Any:
        """Publish the error of a lead that could not be fetched for an account."""
        event = record.error(
            "hydrate",
            code,
            message,
            form_id=notification.form_id(),
            lead_id=notification.lead_id(),
            origin=Origin.PUSH.value,
        )
        # Still deterministic (a replay yields the same id), and one per account.
        error_id = uuid.uuid5(event.error_id, str(account_id))
        return await self._error(
            event.model_copy(update={"account_id": account_id, "error_id": error_id})
        )

    async def _error(self, event: ErrorEvent) -> Any:
        return await self.errors_topic.send(
            key=str(event.form_id or "").encode(), value=event.model_dump_json().encode()
        )

    async def _routes(self, owners: Collection[str]) -> dict[str, list[Route]]:
        async with self.db.every_account() as conn:
            return await routes_for_owners(conn, owners)

    async def _held(self, lead_ids: list[str], accounts: set[int]) -> set[tuple[int, str]]:
        async with self.db.accounts(accounts) as conn:
            return await ledger_holders(conn, lead_ids, accounts)

    async def _count_unrouted(self, owners: dict[str, Unrouted]) -> None:
        async with self.db.connection() as conn:
            await count_unrouted(conn, owners)

    def _client(self, route: Route) -> LinkedInClient:
        """The client of the route's connection (made once per connection)."""
        client = self.clients.get(route.connection_id)
        if client is None:
            store = PostgresTokenStore(
                self.settings, self.db, route.account_id, route.connection_id
            )
            # Not the puller's pace (five calls a second, made for pages of a thousand leads):
            # one call per lead would cap pushes at five leads a second. The semaphore
            # (hydrate_concurrency) bounds the calls instead; 429s back off as everywhere.
            client = self.clients[route.connection_id] = LinkedInClient.from_settings(
                self.settings, store, requests_per_second=None
            )
        return client

    async def _mark_refused(self, route: Route, client: LinkedInClient, reason: str) -> str:
        """Mark the route's connection expired or revoked (as the puller does); which.

        The batch's other leads of this connection are refused at the same moment and come
        here too: they wait for the one marking, and get its answer."""
        marking = self.refused.get(client)
        if marking is None:
            marking = self.refused[client] = asyncio.ensure_future(self._mark(route, client))
            log.error(
                "LinkedIn connection %d of account %d unusable: %s",
                route.connection_id,
                route.account_id,
                reason,
            )
        return await asyncio.shield(marking)

    async def _mark(self, route: Route, client: LinkedInClient) -> str:
        if self.clients.get(route.connection_id) is client:
            del self.clients[route.connection_id]  # the next batch looks the connection up again
        mark: Callable[[], Any] = functools.partial(self._mark_refused_in_db, route)
        status: str = await self.outages.call(mark, what="marking a refused connection", logger=log)
        return status

    async def _mark_refused_in_db(self, route: Route) -> str:
        # The connection is an account row: marked with its account in hand.
        async with self.db.account(route.account_id) as conn:
            return await mark_refused(conn, route.connection_id)


def _fetch_order(routed: list[Route], targets: list[Route]) -> list[Route]:
    """The usable connections to try, best first: an active account's before a disabled
    one's, an account that wants the lead before one that holds it already."""
    wanting = {t.account_id for t in targets}
    usable = [r for r in routed if r.usable]
    return sorted(
        usable,
        key=lambda r: (r.account_status != "active", r.account_id not in wanting, r.connection_id),
    )


def register_hydrate(app: faust.App, settings: Settings, db: Database) -> None:
    hydrator = Hydrator(app, settings, db)
    topic = app.topic(settings.topics.notifications, value_type=bytes, value_serializer="raw")

    @app.agent(topic, name="hydrate", concurrency=1)
    async def hydrate(stream: faust.StreamT[bytes]) -> None:
        async for records in batches(stream, settings):
            await hydrator.hydrate(records)

    del hydrate
