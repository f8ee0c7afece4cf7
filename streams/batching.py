"""Batches that close when the stream goes quiet, not when a window ends.

faust's ``take_events(max_, within)`` yields when ``max_`` events are buffered or ``within``
seconds have passed. At light load a batch never fills, so every lead waits the whole window
at each agent it passes (hydration, then import): a fixed delay where a push should be a
round trip. :func:`take_ready` yields as soon as no new event has arrived for ``idle_s``
(a few milliseconds: the consumer had nothing more buffered), and still at ``max_`` events
or after ``within``. Under load, events keep arriving faster than ``idle_s`` apart, so the
batches grow to ``max_`` as before: throughput keeps its batches, latency at light load is
the idle gap.

It is faust's ``take_events`` (0.15.3) with that one change, keeping its acknowledgement
contract: a batch's events are acknowledged once the loop body that got them has returned
(and faust commits acknowledged offsets), never before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import faust
from faust.types import EventT


async def take_ready(
    stream: faust.StreamT[Any], max_: int, within: float, idle_s: float
) -> AsyncIterator[Sequence[EventT[Any]]]:
    """The stream's events in batches of at most ``max_``, each yielded once ``idle_s``
    passed without a new event, or at ``max_`` events, or ``within`` after its first."""
    # faust's Stream internals, as take_events uses them (absent from StreamT).
    inner = cast(Any, stream)
    loop = asyncio.get_running_loop()
    buffer: list[EventT[Any]] = []
    arrived = asyncio.Event()  # an event was added since the flag was last cleared
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:
                # A batch is being handed out: hold this event for the next one.
                try:
                    await consuming
                finally:
                    consuming = None
            event = inner.current_event
            if event is None:
                raise RuntimeError("take_ready found no current event")
            buffer.append(event)
            arrived.set()
            if len(buffer) >= max_:
                consumed.clear()
                # Never more than max_ in a batch: wait until this one is handed out.
                await inner.wait(consumed)
        except asyncio.CancelledError:  # pragma: no cover
            raise
        except Exception as exc:
            inner.log.exception("Error adding to take buffer: %r", exc)
            await inner.crash(exc)
        return value

    enable_acks = inner.enable_acks
    inner.enable_acks = False  # acknowledged here, once each batch is done with
    inner.add_processor(add_to_buffer)
    inner._enable_passive(inner.channel)
    try:
        while not inner.should_stop:
            if not buffer:
                arrived.clear()
                await inner.wait_for_stopped(arrived, timeout=within)
                if not buffer:
                    continue
            closes_at = loop.time() + within
            while len(buffer) < max_ and not inner.should_stop:
                left = closes_at - loop.time()
                if left <= 0:
                    break
                arrived.clear()
                await inner.wait_for_stopped(arrived, timeout=min(idle_s, left))
                if not arrived.is_set():
                    break  # quiet for idle_s: nothing more was buffered
            consuming = loop.create_future()
            events = list(buffer)
            try:
                yield events
            finally:
                buffer.clear()
                for event in events:
                    await inner.ack(event)
                if not consuming.done():
                    consuming.set_result(None)
                consumed.set()
    finally:
        inner.enable_acks = enable_acks
        inner._processors.remove(add_to_buffer)
