"""The admin process's one Kafka producer for manual imports' sync requests.

Made on first use (the app starts without Kafka) and kept: a producer per request paid a
connection and a metadata round trip each time, in a thread. An operator waits at most
``QUEUE_WITHIN_S`` for Kafka's acknowledgement (:mod:`ingest.sync_requests`); librdkafka
gives up on the request half a second before that, so the answer is normally its verdict.
(A request Kafka wrote but whose acknowledgement was lost may still arrive: the puller
ignores requests of runs already failed.)
"""

from __future__ import annotations

from ingest.sync_requests import QUEUE_WITHIN_S
from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.settings import Settings


class RequestPublisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._publisher: AsyncPublisher | None = None

    def publisher(self) -> AsyncPublisher:
        if self._publisher is None:
            self._publisher = AsyncPublisher(self._settings, answer_within_s=QUEUE_WITHIN_S)
        return self._publisher

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close(2.0)
            self._publisher = None
