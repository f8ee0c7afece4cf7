"""Hydration: a lead notification becomes the full lead on ``leadsync.leads.raw``.

For each ``CREATED`` notification the lead is fetched from LinkedIn
(``GET /rest/leadFormResponses/{id}`` with the form projection) and published with origin
``push``; a ``DELETED`` one becomes an erase request. A lead already imported, or already
fetched by this worker, is dropped before the API call. LinkedIn 429/5xx are retried here
with back-off (the notification's offset is not committed meanwhile); a lead LinkedIn no
longer has (404) and a connection that must be renewed become error events, and the lead
stays recoverable by the next pull. The batch's offsets are committed only after every
resulting record is on its topic.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import faust
import psycopg
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from leadsync.settings import Settings
from linkedin import (
    LinkedInClient,
    LinkedInError,
    NotFound,
    ReconnectRequired,
    RetriableError,
)
from schemas.envelopes import EraseRequest, Origin, RawLead
from schemas.events import ErrorEvent
from schemas.notifications import LeadNotification, ReceivedNotification
from sinks.connections import PostgresTokenStore, mark_refused
from streams.agents import records_of, retry_while_unavailable
from streams.lead_batches import Record

log = logging.getLogger(__name__)

RECENT_LEADS = 100_000

# The owner's own active connection, else any active one; failing both, the owner's (or any)
# unusable connection, so that the error says why: revoked or expired, not "none".
CONNECTION_FOR_OWNER = """
SELECT id, status FROM (
    SELECT c.id, c.status, 0 AS rank
    FROM ad_accounts a JOIN linkedin_connections c ON c.id = a.connection_id
    WHERE a.urn = %(owner)s OR a.organization_urn = %(owner)s
    UNION ALL
    SELECT id, status, 1 FROM linkedin_connections
) AS candidates
ORDER BY status <> 'active', rank, id
LIMIT 1
"""

# The error code of a lead whose owner has no usable connection, by the connection's status.
UNUSABLE_CONNECTION = {"revoked": "connection_revoked", "expired": "connection_expired"}


class Hydrator:
    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.settings = settings
        self.raw_topic = app.topic(
            settings.topics.leads_raw, value_type=bytes, value_serializer="raw"
        )
        self.errors_topic = app.topic(
            settings.topics.errors, value_type=bytes, value_serializer="raw"
        )
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_conninfo(), min_size=1, max_size=2, open=False, timeout=10
        )
        self.clients: dict[int, LinkedInClient] = {}
        # The marking of each client's connection that LinkedIn refused, done once.
        self.refused: dict[LinkedInClient, asyncio.Future[str]] = {}
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.limit = asyncio.Semaphore(settings.hydrate_concurrency)

    async def hydrate(self, records: list[Record]) -> None:
        pending: list[Any] = []
        wanted: dict[str, tuple[Record, LeadNotification]] = {}
        for record in records:
            try:
                notification = ReceivedNotification.model_validate_json(record.value).notification()
                form_id = notification.form_id()
            except (ValidationError, ValueError) as exc:
                message = " ".join(str(exc).splitlines()[:2])[:300]
                pending.append(
                    self._error(
                        record.error(
                            "hydrate", "undecodable_notification", message, with_bytes=True
                        )
                    )
                )
                continue
            lead_id = notification.lead_id()
            if notification.lead_action == "DELETED":
                occurred = (
                    datetime.fromtimestamp(notification.occurred_at / 1000, UTC)
                    if notification.occurred_at
                    else datetime.now(UTC)
                )
                erase = EraseRequest(
                    erase_lead_id=lead_id, form_id=form_id, origin=Origin.PUSH, occurred_at=occurred
                )
                wanted.pop(lead_id, None)
                pending.append(
                    await self.raw_topic.send(key=lead_id.encode(), value=erase.to_record())
                )
            elif lead_id not in self.recent:
                wanted[lead_id] = (record, notification)
        if wanted:
            # Database outages are waited out here: nothing may escape the agent's loop.
            backoff = self.settings.retry_backoff_max_s
            imported = await retry_while_unavailable(
                lambda: self._already_imported(list(wanted)), backoff
            )
            for lead_id in imported:
                del wanted[lead_id]
            # One connection lookup per owner and batch, not one per lead.
            owners = {n.owner_urn() for _, n in wanted.values()}
            clients = await retry_while_unavailable(lambda: self._clients_for(owners), backoff)
            results = await asyncio.gather(
                *(self._fetch(record, n, clients[n.owner_urn()]) for record, n in wanted.values())
            )
            pending.extend(r for r in results if r is not None)
        await asyncio.gather(*pending)  # every record acknowledged before the offsets move
        for lead_id in wanted:
            self.recent[lead_id] = None
        while len(self.recent) > RECENT_LEADS:
            self.recent.popitem(last=False)

    async def _clients_for(
        self, owners: set[str | None]
    ) -> dict[str | None, LinkedInClient | str | None]:
        return {owner: await self._client_for(owner) for owner in owners}

    async def _fetch(
        self,
        record: Record,
        notification: LeadNotification,
        client: LinkedInClient | str | None,
    ) -> Any:
        lead_id = notification.lead_id()
        if client is None:
            return await self._failed(
                record,
                notification,
                "no_connection",
                "no LinkedIn connection can fetch this lead; connect, then pull",
            )
        if isinstance(client, str):
            return await self._failed(
                record,
                notification,
                UNUSABLE_CONNECTION[client],
                f"the LinkedIn connection was {client}: reconnect; the lead comes in with the"
                " next pull after reconnecting",
            )
        delay = 0.5
        while True:
            try:
                async with self.limit:
                    lead = await client.get_lead(lead_id)
                raw = RawLead(lead=lead, origin=Origin.PUSH)
                return await self.raw_topic.send(key=lead_id.encode(), value=raw.to_record())
            except NotFound:
                return await self._failed(
                    record,
                    notification,
                    "lead_not_found",
                    f"LinkedIn no longer has lead {lead_id} (withdrawn before it was fetched)",
                )
            except ReconnectRequired as exc:
                status = await self._mark_refused(client, str(exc))
                return await self._failed(
                    record,
                    notification,
                    UNUSABLE_CONNECTION[status],
                    f"the LinkedIn connection was {status}: reconnect; the lead comes in with"
                    " the next pull after reconnecting",
                )
            except RetriableError as exc:
                log.warning("hydrating %s: %s; retrying in %.1f s", lead_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_backoff_max_s)
            except LinkedInError as exc:
                return await self._failed(
                    record,
                    notification,
                    "linkedin_error",
                    f"LinkedIn answered {exc.status}: {exc.message}",
                )

    async def _failed(
        self, record: Record, notification: LeadNotification, code: str, message: str
    ) -> Any:
        """Publish the error of a lead that could not be fetched, on its form and lead."""
        return await self._error(
            record.error(
                "hydrate",
                code,
                message,
                form_id=notification.form_id(),
                lead_id=notification.lead_id(),
                origin=Origin.PUSH.value,
            )
        )

    async def _error(self, event: ErrorEvent) -> Any:
        return await self.errors_topic.send(
            key=str(event.form_id or "").encode(), value=event.model_dump_json().encode()
        )

    async def _already_imported(self, lead_ids: list[str]) -> list[str]:
        await self.pool.open(wait=False)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT lead_id FROM imported_leads WHERE lead_id = ANY(%s)", (lead_ids,)
            )
            return [row[0] for row in await cur.fetchall()]

    async def _client_for(self, owner_urn: str | None) -> LinkedInClient | str | None:
        """The client of the owner's connection; else the status of its unusable connection
        ("revoked", "expired"); None when there is no connection at all."""
        await self.pool.open(wait=False)
        async with self.pool.connection() as conn:
            cur = await conn.execute(CONNECTION_FOR_OWNER, {"owner": owner_urn or ""})
            row = await cur.fetchone()
        if row is None:
            return None
        connection_id: int = row[0]
        if row[1] != "active":
            status: str = row[1]
            return status
        if connection_id not in self.clients:
            store = PostgresTokenStore(self.settings, connection_id)
            # Not the puller's pace (five calls a second, made for pages of a thousand leads):
            # one call per lead would cap pushes at five leads a second. The semaphore
            # (hydrate_concurrency) bounds the calls instead; 429s back off as everywhere.
            self.clients[connection_id] = LinkedInClient.from_settings(
                self.settings, store, requests_per_second=None
            )
        return self.clients[connection_id]

    async def _mark_refused(self, client: LinkedInClient, reason: str) -> str:
        """Mark the client's connection expired or revoked (as the puller does); which.

        The batch's other leads of this connection are refused at the same moment and come
        here too: they wait for the one marking, and get its answer."""
        marking = self.refused.get(client)
        if marking is None:
            marking = self.refused[client] = asyncio.ensure_future(self._mark(client))
            log.error("LinkedIn connection unusable: %s", reason)
        return await asyncio.shield(marking)

    async def _mark(self, client: LinkedInClient) -> str:
        for connection_id, known in list(self.clients.items()):
            if known is client:
                del self.clients[connection_id]  # the next batch looks the connection up again
                # Off the event loop: other notifications are being hydrated meanwhile.
                status: str = await retry_while_unavailable(
                    functools.partial(
                        asyncio.to_thread, _mark_refused, self.settings, connection_id
                    ),
                    self.settings.retry_backoff_max_s,
                )
                return status
        return "revoked"


def _mark_refused(settings: Settings, connection_id: int) -> str:
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        return mark_refused(conn, connection_id)


def register_hydrate(app: faust.App, settings: Settings) -> None:
    hydrator = Hydrator(app, settings)
    topic = app.topic(settings.topics.notifications, value_type=bytes, value_serializer="raw")

    @app.agent(topic, name="hydrate", concurrency=1)
    async def hydrate(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.import_batch_size, within=settings.import_batch_window_s
        ):
            await hydrator.hydrate(records_of(events))

    del hydrate
