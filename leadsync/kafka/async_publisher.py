"""An asyncio face on confluent-kafka's producer: ``await publish(...)`` returns once Kafka
acknowledged the record (acks=all, idempotent).

The producer is polled from the event loop itself, never from a thread of its own. A poll
thread runs every delivery report's Python callback under the GIL: each one waits for the
event loop's thread to let go of it (up to the interpreter's 5 ms switch interval when the
loop is busy) and then wakes the loop across threads. Polled here, the reports settle their
futures directly (bench/ingress.py: ~40 % more notifications a second through the webhook,
with less CPU each). librdkafka's own threads do the network I/O as before; a poll only
serves the reports they queued, without waiting (~0.2 us when there are none).

Two things poll: every send, after queueing its record (under load, records come in far
more often than Kafka answers, so reports are served as soon as they are there), and a
timer while records are unacknowledged, for when sends are rare. The timer fires every
``POLL_EVERY_S`` (uvloop's timers count whole milliseconds); on every loop iteration while
``BUSY`` records or more are out and Kafka answered within ``SPIN_S`` (under load, where a
millisecond's wait per answer cost a fifth of the webhook's throughput; a slow Kafka is not
waited for that way); and every ``POLL_IDLE_S`` once nothing happened for ``QUIET_S``
(Kafka slow or away). The same timer fails the futures of records sent with a time limit
that has passed (the webhook's answer is due whatever Kafka does): no timer per record.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from leadsync.kafka.producing import PublishError, produce, producer_config
from leadsync.settings import Settings

POLL_EVERY_S = 0.001
POLL_IDLE_S = 0.005
QUIET_S = 0.05
BUSY = 16
SPIN_S = 0.005

# librdkafka fails a timed-out record up to a second late (it scans its queues once a second).
_SCAN_S = 1.0
# A publisher's own time limit runs this much after librdkafka's: normally librdkafka's
# verdict (with its reason) settles a record first, and the limit is only a safety net.
_NET_S = 0.5

# Record headers: (name, value) pairs.
Headers = Sequence[tuple[str, str | bytes]]


def _delivery_timeout_ms(answer_within_s: float) -> int:
    """librdkafka's ``message.timeout.ms`` for records whose answer is due within
    ``answer_within_s``.

    Giving up a scan interval and the safety net before the answer is due makes the answer
    Kafka's own final verdict: a record librdkafka failed is never written afterwards, so a
    request answered 503 left nothing in Kafka (from a 2.5 s bound up; below that the limit
    may come first). Never 0, which librdkafka reads as "no limit".
    """
    bound = answer_within_s - _NET_S
    return max(1, int(max(bound - _SCAN_S, bound / 2) * 1000))


class AsyncPublisher:
    """A producer for the event loop that first sends through it (one loop per publisher).

    With ``answer_within_s``, every send's future fails with ``TimeoutError`` when Kafka
    gave no verdict within that time, and librdkafka gives up on the record before then.
    """

    def __init__(
        self, settings: Settings, answer_within_s: float | None = None, **overrides: Any
    ) -> None:
        if answer_within_s is not None:
            overrides = {"message.timeout.ms": _delivery_timeout_ms(answer_within_s)} | overrides
        self._producer = Producer(producer_config(settings, **overrides))
        self._within_s = answer_within_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._unacknowledged = 0
        self._active_at = 0.0  # when a record was last sent or acknowledged (loop time)
        self._served_at = 0.0  # when a poll last served reports
        self._timer: asyncio.TimerHandle | None = None
        # (due, future) of the records sent under the time limit, in the order sent.
        self._due: deque[tuple[float, asyncio.Future[None]]] = deque()

    @property
    def answer_within_s(self) -> float | None:
        """The time limit of each send, if the publisher has one."""
        return self._within_s

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop, self._loop_thread = loop, threading.get_ident()
        elif loop is not self._loop:
            raise RuntimeError("an AsyncPublisher serves the one event loop that first used it")
        return loop

    def _sent(self, count: int) -> None:
        """Records were queued: serve the reports already there, and poll again soon."""
        self._unacknowledged += count
        served = self._producer.poll(0)
        if self._loop is not None:
            self._active_at = now = self._loop.time()
            if served:
                self._served_at = now
            if self._timer is None:
                self._timer = self._loop.call_later(POLL_EVERY_S, self._poll)

    def _poll(self) -> None:
        self._timer = None
        served = self._producer.poll(0)
        if self._due and self._loop is not None:
            self._expire(self._loop.time())
        if not self._unacknowledged or self._loop is None:
            return
        now = self._loop.time()
        if served:
            self._active_at = self._served_at = now
        if now - self._active_at > QUIET_S:
            delay = POLL_IDLE_S
        elif self._unacknowledged >= BUSY and now - self._served_at < SPIN_S:
            delay = 0.0  # each loop iteration: a loaded loop hardly ever waits anyway
        else:
            delay = POLL_EVERY_S
        self._timer = self._loop.call_later(delay, self._poll)

    def _expire(self, now: float) -> None:
        due = self._due
        while due and (due[0][1].done() or due[0][0] <= now):
            future = due.popleft()[1]
            if not future.done():
                future.set_exception(TimeoutError())

    def _report(self, settle: Callable[[KafkaError | None], None], err: KafkaError | None) -> None:
        """A delivery report: on the loop's thread while it polls (or waits out a full
        queue); on another thread only while ``close`` flushes there."""
        if threading.get_ident() == self._loop_thread:
            self._unacknowledged -= 1
            settle(err)
        elif self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._report, settle, err)

    def send(
        self, topic: str, key: bytes, value: bytes, headers: Headers | None = None
    ) -> asyncio.Future[None]:
        """Queue a record (with ``headers``, if given); the future resolves when Kafka
        acknowledged it, fails with :class:`PublishError` when Kafka refused it, and with
        ``TimeoutError`` when neither happened within the publisher's time limit, if it has
        one."""
        loop = self._bind()
        future: asyncio.Future[None] = loop.create_future()
        settle = functools.partial(_settle, future)

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            self._report(settle, err)

        listed = list(headers) if headers else None
        produce(self._producer, topic, key, value, on_delivery, headers=listed, wait_s=0.1)
        # Only once queued: a record librdkafka refused outright raised, and has no future.
        if self._within_s is not None:
            self._due.append((loop.time() + self._within_s, future))
        self._sent(1)
        return future

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: Headers | None = None
    ) -> None:
        await self.send(topic, key, value, headers)

    def send_all(
        self,
        topic: str,
        records: list[tuple[bytes, bytes]],
        headers: Headers | None = None,
        record_headers: Sequence[Headers | None] | None = None,
    ) -> asyncio.Future[None]:
        """Queue (key, value) records, each with ``headers`` and then its own from
        ``record_headers`` (one per record, when given); the one future resolves when Kafka
        acknowledged every one of them, or fails with the first error.

        One future per batch instead of one per record: a backfill page is a thousand
        records, and the per-record futures cost the puller more than Kafka.
        """
        future: asyncio.Future[None] = self._bind().create_future()
        if not records:
            future.set_result(None)
            return future
        outstanding = [len(records)]

        def settle(err: KafkaError | None) -> None:
            # On the loop's thread (see _report): the count needs no lock.
            outstanding[0] -= 1
            if err is not None or not outstanding[0]:
                _settle(future, err)  # the first failure, else the last acknowledgement

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            self._report(settle, err)

        common = list(headers) if headers else None
        queued = 0
        try:
            for n, (key, value) in enumerate(records):
                own = record_headers[n] if record_headers is not None else None
                these = [*(common or ()), *own] if own else common
                produce(self._producer, topic, key, value, on_delivery, headers=these, wait_s=0.1)
                queued += 1
        except BaseException:
            # The caller gets the exception, not the future: the reports of the records
            # already queued find it cancelled.
            future.cancel()
            raise
        finally:
            self._sent(queued)  # one poll and one clock reading for the whole batch
        return future

    def close(self, timeout_s: float = 10.0) -> None:
        """Wait up to ``timeout_s`` for Kafka to acknowledge what was sent. From the loop's
        thread or another one (the reports then reach their futures through the loop)."""
        on_loop = threading.get_ident() == self._loop_thread
        if self._timer is not None and on_loop:
            self._timer.cancel()
            self._timer = None
        self._producer.flush(timeout_s)
        # What the flush did not settle is left to the timer as before (and time limits to
        # expire), should the loop run on.
        if on_loop and self._timer is None and (self._unacknowledged or self._due):
            assert self._loop is not None
            if not self._loop.is_closed():
                self._timer = self._loop.call_later(POLL_EVERY_S, self._poll)


def _settle(future: asyncio.Future[None], err: KafkaError | None) -> None:
    if future.done():
        return
    if err is None:
        future.set_result(None)
    else:
        future.set_exception(PublishError(f"Kafka did not acknowledge the record: {err.str()}"))
