"""Sync requests onto ``leadsync.sync-requests``: the one home of "start a run".

A run is recorded first, in its account (a manual import also resets the form's counters, a
product rule), then its :class:`~schemas.envelopes.SyncRequest`, naming the account and keyed
"account:form", is published; the puller executes it for that account. A request Kafka did
not take fails its run, which would otherwise stay queued and refuse every later import of
the form. The command line's ``sync``, the admin API and the scheduler all start runs
through here.
"""

from __future__ import annotations

import logging
from uuid import UUID

from confluent_kafka import KafkaException

from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.kafka.producing import PublishError
from leadsync.settings import Settings
from schemas.envelopes import SyncOptions, SyncRequest, SyncTrigger
from sinks import sync_runs
from sinks.database import Database

log = logging.getLogger(__name__)

# How long the admin API waits for Kafka's acknowledgement before it answers; past that the
# request counts as not queued (librdkafka gives up on it half a second before).
QUEUE_WITHIN_S = 5.0
# The command line has no HTTP answer due: it waits as long as a one-off publish always did.
COMMAND_LINE_QUEUE_WITHIN_S = 30.0


class RequestNotQueued(PublishError):
    """Kafka did not take a run's request; the run is recorded as failed with ``reason``."""

    def __init__(self, run_id: UUID, reason: str) -> None:
        super().__init__(reason)
        self.run_id = run_id


async def publish_request(
    settings: Settings, publisher: AsyncPublisher, request: SyncRequest, *, account_id: int
) -> None:
    """Return once Kafka has the request (acks=all). ``account_id`` is the account the caller
    acts for: a request naming another one is a bug, refused before it is sent."""
    if request.account_id != account_id:
        raise ValueError(
            f"sync request {request.run_id} names account {request.account_id}, not {account_id}"
        )
    topic = settings.topics.sync_requests
    await publisher.send(topic, request.key(), request.to_record())


async def request_manual_import(
    settings: Settings,
    db: Database,
    publisher: AsyncPublisher,
    form_id: int,
    options: SyncOptions,
    requested_by: str,
    *,
    account_id: int,
) -> UUID:
    """Record a manual import of the account's form and publish its request; the run's id.

    Raises :class:`~sinks.sync_runs.UnknownForm`, :class:`~sinks.sync_runs.RunAlreadyActive`,
    or :class:`RequestNotQueued` once the run is marked failed because Kafka did not take it
    (refused it, or did not answer within the publisher's ``answer_within_s``).
    """
    async with db.account(account_id) as conn:
        run_id = await sync_runs.create_run(
            conn, form_id, SyncTrigger.MANUAL, options, requested_by
        )
    request = SyncRequest(
        run_id=run_id,
        account_id=account_id,
        form_id=form_id,
        trigger=SyncTrigger.MANUAL,
        options=options,
    )
    try:
        await publish_request(settings, publisher, request, account_id=account_id)
    except (PublishError, KafkaException, TimeoutError) as exc:
        log.warning("sync request for run %s not published: %r", run_id, exc)
        within = publisher.answer_within_s
        reason = f"not queued: {str(exc) or f'no answer from Kafka in {within:g} s'}"
        async with db.account(account_id) as conn:
            await sync_runs.finish_run(conn, run_id, reason)
        raise RequestNotQueued(run_id, reason) from exc
    return run_id


async def request_manual_import_once(
    settings: Settings,
    db: Database,
    form_id: int,
    options: SyncOptions,
    requested_by: str,
    *,
    account_id: int,
    queue_within_s: float = COMMAND_LINE_QUEUE_WITHIN_S,
) -> UUID:
    """:func:`request_manual_import` with a publisher of its own, for a one-off caller (the
    command line's ``sync``)."""
    publisher = AsyncPublisher(settings, answer_within_s=queue_within_s)
    try:
        return await request_manual_import(
            settings, db, publisher, form_id, options, requested_by, account_id=account_id
        )
    finally:
        publisher.close(1.0)  # the one record is acknowledged or given up on already
