"""Hydration: a lead notification becomes the full lead on ``leadsync.leads.raw``, once
for every account that connected the lead's owner.

One webhook URL serves every account: a notification names only its owner, and
:mod:`sinks.routing` finds the accounts whose connection may read it (as discovery found).
For a ``CREATED`` notification the lead is fetched from LinkedIn once (``GET
/rest/leadFormResponses/{id}`` with the form projection) and published with origin ``push``
as one record per account (``account_id`` set, key ``account:lead``); a ``DELETED`` one
becomes an erase request per account. An account that already holds the lead in its
ledger, or for which this worker already fetched it, is left out; when none is left,
nothing is fetched.

The lead is fetched through an active account's connection, one that wants it first. A
disabled account's connection never fetches another account's lead (its member's consent
was given to an account leadsync no longer serves); it fetches the disabled account's own,
when no active connection did. A disabled account still gets its record: the import records
it as skipped, so the account's figures show what it missed.

An account gets the lead only if its own connection may read the owner. Discovery says so
beforehand (routing); LinkedIn's answer overrides it: an account whose connection was tried
and refused gets an error event instead of the lead (``owner_not_readable`` for a 403, after
which routing forgets the owner for that connection; ``linkedin_error`` for another
refusal), even when another account's connection fetched the lead. A connection LinkedIn
no longer accepts is marked (in its account), its account gets ``connection_revoked`` or
``connection_expired``, and the next connection is tried. A lead LinkedIn no longer has
(404) is ``lead_not_found``. Each of these is in the account's error log; the lead stays
recoverable by the account's next pull once it may read it.

Every notification for a lead routed to an account is counted for reconciliation
(:mod:`sinks.reconciliation`): as a push of that lead to that account when the account got
the lead, or already held it (a duplicate, dropped here); not when the account got an error
instead. One statement per batch.

A notification whose owner no account connected is acknowledged (its offset commits, so
nothing is retried), counted in ``unrouted_owners`` and logged, never imported.

LinkedIn 429/5xx are retried here with back-off (the notification's offset is not committed
meanwhile). The batch's offsets are committed only after every resulting record is on its
topic.

Each notification is hydrated in a span of the trace its ``traceparent`` header carries
(leadsync.tracing): the lines logged meanwhile carry its trace id, and the raw leads, erase
requests and error events it becomes carry the span as their ``traceparent`` header.
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

from leadsync import tracing
from leadsync.retry import RetryPolicy, is_retriable
from leadsync.settings import Settings
from linkedin import Forbidden, LinkedInClient, LinkedInError, NotFound, ReconnectRequired
from schemas.envelopes import EraseRequest, Origin, RawLead
from schemas.events import ErrorEvent
from schemas.linkedin import Lead
from schemas.notifications import LeadNotification, ReceivedNotification
from sinks.connections import PostgresTokenStore, mark_refused
from sinks.database import Database
from sinks.reconciliation import Sighting, push_sighting, record_sightings
from sinks.routing import (
    Route,
    Unrouted,
    count_unrouted,
    forget_owner,
    ledger_holders,
    routes_for_owners,
)
from streams.agents import batches, outage_policy
from streams.records import Record, error_headers

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
        # Every CREATED notification routed, duplicates included: the pushes to count.
        arrivals: list[tuple[LeadNotification, int, list[Route]]] = []
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
                    [await self._erase(record, notification, form_id, r.account_id) for r in routed]
                )
            else:
                wanted[lead_id] = (record, notification, routed)
                arrivals.append((notification, form_id, routed))
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
        held: set[tuple[int, str]] = set()
        # The submission time (epoch ms) of each lead published, for each account it went to.
        delivered: dict[tuple[int, str], int] = {}
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
            for sent, got in await asyncio.gather(*leads):
                pending.extend(sent)
                delivered.update(got)
        await asyncio.gather(*pending)  # every record acknowledged before the offsets move
        sightings = _push_sightings(arrivals, delivered, held, self.recent)
        if sightings:
            await self.outages.call(
                lambda: self._record_sightings(sightings), what="counting pushes", logger=log
            )
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
    ) -> tuple[list[Any], dict[tuple[int, str], int]]:
        """Fetch the lead once and publish it for each target account (or its error); the
        records sent, and the submission time of the lead for each account it went to.

        An account gets the lead only if its own connection may read the owner: routing
        knows it from discovery, and LinkedIn's word at fetch time overrides it: a target
        whose connection was tried and refused gets that refusal, never the lead fetched
        through another account's connection."""
        with tracing.traced(record.trace):
            sent, got = await self._fetch_and_publish(record, notification, routed, targets)
            lead_id = notification.lead_id()
            log.info(
                "lead %s hydrated: %d records for accounts %s (%d got the lead)",
                lead_id,
                len(sent),
                ", ".join(str(t.account_id) for t in targets),
                len(got),
                extra={"lead_id": lead_id},
            )
        return sent, got

    async def _fetch_and_publish(
        self,
        record: Record,
        notification: LeadNotification,
        routed: list[Route],
        targets: list[Route],
    ) -> tuple[list[Any], dict[tuple[int, str], int]]:
        lead_id = notification.lead_id()
        owner = notification.owner_urn() or NO_OWNER
        # What each connection came to: its status when it is not (or no longer) usable,
        # LinkedIn's refusal when it could not fetch the lead.
        unusable = {r.connection_id: r.connection_status for r in routed if not r.usable}
        refused: dict[int, LinkedInError] = {}
        shared: Lead | None = None  # fetched through an active account's connection: for all
        own: dict[int, Lead] = {}  # fetched through a disabled account's: for that one alone
        gone = False
        # Fetched only when an account that wants it can take it.
        candidates = _fetch_order(routed, targets) if any(t.usable for t in targets) else []
        for route in candidates:
            client = self._client(route)
            try:
                fetched = await self._get_lead(client, lead_id)
            except NotFound:
                gone = True  # withdrawn before it was fetched: whoever asks, it is gone
                break
            except ReconnectRequired as exc:
                unusable[route.connection_id] = await self._mark_refused(route, client, str(exc))
                continue
            except Forbidden as exc:
                # The member lost the role discovery found: their account is routed the
                # owner's leads no more (another member's connection may still read them).
                refused[route.connection_id] = exc
                await self._forget(route, owner, exc)
                continue
            except LinkedInError as exc:
                refused[route.connection_id] = exc  # another member may have the rights
                continue
            if route.account_status != "active":
                own[route.account_id] = fetched  # candidates' last: each disabled one's own
                continue
            shared = fetched
            break
        sent = []
        got: dict[tuple[int, str], int] = {}
        for target in targets:
            account_id = target.account_id
            lead = shared or own.get(account_id)
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
            elif target.connection_id in refused:
                code, message = _refusal(refused[target.connection_id], owner, lead_id)
                sent.append(await self._failed(record, notification, account_id, code, message))
            elif gone:
                message = f"LinkedIn no longer has lead {lead_id} (withdrawn before it was fetched)"
                sent.append(
                    await self._failed(record, notification, account_id, "lead_not_found", message)
                )
            elif lead is not None:
                raw = RawLead(lead=lead, origin=Origin.PUSH, account_id=account_id)
                got[(account_id, lead_id)] = lead.submitted_at
                sent.append(
                    await self.raw_topic.send(
                        key=_account_lead(account_id, lead_id).encode(),
                        value=raw.to_record(),
                        headers=_headers(record),
                    )
                )
            else:
                # Not fetched for it: its connection was not to be tried (a disabled
                # account's is never used for another's lead) and none other fetched it.
                error = next(iter(refused.values()), None)
                message = (
                    f"LinkedIn answered {error.status}: {error.message}"
                    if error is not None
                    else "no LinkedIn connection could fetch this lead"
                )
                sent.append(
                    await self._failed(record, notification, account_id, "linkedin_error", message)
                )
        return sent, got

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

    async def _erase(
        self, record: Record, notification: LeadNotification, form_id: int, account_id: int
    ) -> Any:
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
        with tracing.traced(record.trace):
            log.info(
                "lead %s deleted on LinkedIn: erase request for account %s",
                lead_id,
                account_id,
                extra={"lead_id": lead_id},
            )
        return await self.raw_topic.send(
            key=_account_lead(account_id, lead_id).encode(),
            value=erase.to_record(),
            headers=_headers(record),
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
            key=str(event.form_id or "").encode(),
            value=event.model_dump_json().encode(),
            headers=error_headers(event),
        )

    async def _forget(self, route: Route, owner: str, refusal: LinkedInError) -> None:
        """LinkedIn refused the route's connection this owner's lead: forget that the
        connection reads the owner (its account is no longer routed the owner's leads)."""

        async def forget() -> bool:
            async with self.db.account(route.account_id) as conn:
                return await forget_owner(conn, route.account_id, route.connection_id, owner)

        if await self.outages.call(forget, what="forgetting a refused owner", logger=log):
            log.warning(
                "LinkedIn refused connection %d of account %d the leads of %s (%s): the"
                " account is no longer routed them until a discovery finds them readable",
                route.connection_id,
                route.account_id,
                owner,
                refusal,
            )

    async def _routes(self, owners: Collection[str]) -> dict[str, list[Route]]:
        async with self.db.every_account() as conn:
            return await routes_for_owners(conn, owners)

    async def _held(self, lead_ids: list[str], accounts: set[int]) -> set[tuple[int, str]]:
        async with self.db.accounts(accounts) as conn:
            return await ledger_holders(conn, lead_ids, accounts)

    async def _record_sightings(self, sightings: list[Sighting]) -> None:
        async with self.db.accounts({s.account_id for s in sightings}) as conn:
            await record_sightings(conn, sightings)

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


def _headers(record: Record) -> list[tuple[str, bytes]] | None:
    """What the records made of a notification carry: its span of the lead's trace."""
    return record.trace.headers() if record.trace is not None else None


def _push_sightings(
    arrivals: list[tuple[LeadNotification, int, list[Route]]],
    delivered: dict[tuple[int, str], int],
    held: set[tuple[int, str]],
    recent: Collection[str],
) -> list[Sighting]:
    """A push per notification and account that got its lead now (on the lead's day) or
    had it already (a duplicate, on the notification's day); none for an account that got
    an error instead."""
    sightings = []
    for notification, form_id, routed in arrivals:
        lead_id = notification.lead_id()
        for route in routed:
            key = (route.account_id, lead_id)
            if key in delivered:
                sightings.append(
                    push_sighting(route.account_id, form_id, lead_id, delivered[key], True)
                )
            elif key in held or _account_lead(*key) in recent:
                when = notification.occurred_at or datetime.now(UTC).timestamp() * 1000
                sightings.append(push_sighting(route.account_id, form_id, lead_id, when, False))
    return sightings


def _fetch_order(routed: list[Route], targets: list[Route]) -> list[Route]:
    """The usable connections to try, best first: active accounts' (an account that wants
    the lead before one that holds it already), then each disabled account's that wants it,
    for itself alone. A disabled account's connection never fetches another's lead: its
    member's consent was given to an account leadsync no longer serves."""
    wanting = {t.account_id for t in targets}
    active = [r for r in routed if r.usable and r.account_status == "active"]
    disabled = [r for r in targets if r.usable and r.account_status != "active"]
    return sorted(active, key=lambda r: (r.account_id not in wanting, r.connection_id)) + sorted(
        disabled, key=lambda r: r.connection_id
    )


def _refusal(error: LinkedInError, owner: str, lead_id: str) -> tuple[str, str]:
    """The error code and message of a lead LinkedIn refused the account's own connection."""
    if isinstance(error, Forbidden):
        return "owner_not_readable", (
            f"LinkedIn refused this account's connection the leads of {owner or '(no owner)'}"
            f" (lead {lead_id}; {error.status}: {error.message}): the member who connected it"
            " has no role on it (any more). The owner's leads no longer come to this account;"
            " a member with a role on it connects, or discovers the forms again, to get them"
        )
    return "linkedin_error", (
        f"LinkedIn answered {error.status}: {error.message} to this account's connection for"
        f" lead {lead_id} of {owner or '(no owner)'}"
    )


def register_hydrate(app: faust.App, settings: Settings, db: Database) -> None:
    hydrator = Hydrator(app, settings, db)
    topic = app.topic(settings.topics.notifications, value_type=bytes, value_serializer="raw")

    @app.agent(topic, name="hydrate", concurrency=1)
    async def hydrate(stream: faust.StreamT[bytes]) -> None:
        async for records in batches(stream, settings):
            await hydrator.hydrate(records)

    del hydrate
