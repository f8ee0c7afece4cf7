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
from pydantic import ValidationError

from leadsync.retry import RetryPolicy, is_retriable
from leadsync.settings import Settings
from linkedin import LinkedInClient, LinkedInError, NotFound, ReconnectRequired
from schemas.envelopes import EraseRequest, Origin, RawLead
from schemas.events import ErrorEvent
from schemas.notifications import LeadNotification, ReceivedNotification
from sinks.connections import PostgresTokenStore, connection_for_owner, mark_refused
from sinks.database import Database
from sinks.upserts import ledger_state
from streams.agents import batches, outage_policy
from streams.lead_batches import Record

log = logging.getLogger(__name__)

RECENT_LEADS = 100_000

# The error code of a lead whose owner has no usable connection, by the connection's status.
UNUSABLE_CONNECTION = {"revoked": "connection_revoked", "expired": "connection_expired"}


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
            imported = await self.outages.call(
                lambda: self._already_imported(list(wanted)), what="reading the ledger", logger=log
            )
            for lead_id in imported:
                del wanted[lead_id]
            # One connection lookup per owner and batch, not one per lead.
            owners = {n.owner_urn() for _, n in wanted.values()}
            clients = await self.outages.call(
                lambda: self._clients_for(owners), what="finding the connections", logger=log
            )
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

        async def get_lead() -> Any:
            async with self.limit:
                return await client.get_lead(lead_id)

        try:
            # LinkedIn's 429/5xx outlast the client's own retries: this lead waits (its
            # notification's offset is not committed meanwhile), whatever it takes.
            lead = await self.linkedin_outages.call(
                get_lead,
                what=f"hydrating {lead_id}",
                logger=log,
                # LinkedIn 429/5xx, and the token store's PostgreSQL being away.
                retry_if=is_retriable,
            )
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
        except LinkedInError as exc:
            return await self._failed(
                record,
                notification,
                "linkedin_error",
                f"LinkedIn answered {exc.status}: {exc.message}",
            )
        raw = RawLead(lead=lead, origin=Origin.PUSH)
        return await self.raw_topic.send(key=lead_id.encode(), value=raw.to_record())

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
        async with self.db.connection() as conn:
            return list(await ledger_state(conn, lead_ids))

    async def _client_for(self, owner_urn: str | None) -> LinkedInClient | str | None:
        """The client of the owner's connection; else the status of its unusable connection
        ("revoked", "expired"); None when there is no connection at all."""
        async with self.db.connection() as conn:
            found = await connection_for_owner(conn, owner_urn)
        if found is None:
            return None
        connection_id, status = found
        if status != "active":
            return status
        if connection_id not in self.clients:
            store = PostgresTokenStore(self.settings, self.db, connection_id)
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
                return await self.outages.call(
                    functools.partial(self._mark_refused_in_db, connection_id),
                    what="marking a refused connection",
                    logger=log,
                )
        return "revoked"

    async def _mark_refused_in_db(self, connection_id: int) -> str:
        async with self.db.connection() as conn:
            return await mark_refused(conn, connection_id)


def register_hydrate(app: faust.App, settings: Settings, db: Database) -> None:
    hydrator = Hydrator(app, settings, db)
    topic = app.topic(settings.topics.notifications, value_type=bytes, value_serializer="raw")

    @app.agent(topic, name="hydrate", concurrency=1)
    async def hydrate(stream: faust.StreamT[bytes]) -> None:
        async for records in batches(stream, settings):
            await hydrator.hydrate(records)

    del hydrate
