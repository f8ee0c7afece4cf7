"""Manual imports' sync requests onto Kafka, through one producer for the whole app.

The producer is made on first use (the app starts without Kafka) and kept: a producer per
request paid a connection and a metadata round trip each time, in a thread. An operator
waits at most ``QUEUE_WITHIN_S`` for Kafka's acknowledgement; past that the request counts
as not queued. librdkafka gives up on it half a second before that, so the answer is
normally its verdict. (A request Kafka wrote but whose acknowledgement was lost may still
arrive: the puller ignores requests of runs already failed.)
"""

from __future__ import annotations

from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.settings import Settings
from schemas.envelopes import SyncRequest

QUEUE_WITHIN_S = 5.0


class SyncRequests:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._publisher: AsyncPublisher | None = None

    async def publish(self, request: SyncRequest) -> None:
        """Return once Kafka has the request; raise :class:`PublishError` when it refused it
        and ``TimeoutError`` when it did not answer in time."""
        if self._publisher is None:
            self._publisher = AsyncPublisher(self._settings, answer_within_s=QUEUE_WITHIN_S)
        topic = self._settings.topics.sync_requests
        await self._publisher.send(topic, request.key(), request.to_record())

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close(2.0)
            self._publisher = None
