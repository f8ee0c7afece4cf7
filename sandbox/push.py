"""Pushing signed ``LEAD_ACTION`` notifications to every matching subscription.

Guarantee (LinkedIn's, imitated): at most once. Each notification is POSTed once to each
matching, unblocked subscription, in creation order per subscription (with
``push_concurrency`` 1, the default), unless a push fault says otherwise; a non-2xx answer
or a network error is recorded and never retried, and a notification meant for a blocked
subscription is lost. Every attempt, and every loss, is in
:attr:`Pusher.log` (what the control API shows as "what was pushed").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector, PushFate
from sandbox.leads import LeadRecord, dumps
from sandbox.signing import notification_signature
from sandbox.webhooks import Subscription, WebhookRegistry


def notification_body(lead: LeadRecord, action: str, occurred_at: int) -> bytes:
    """The notification JSON exactly as POSTed (URNs only, no answers)."""
    body: dict[str, Any] = {
        "type": "LEAD_ACTION",
        "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead.id}",
        "leadGenForm": lead.form_urn,
        "owner": {lead.owner_key: lead.owner_urn},
    }
    if lead.entity:
        # Notifications name the creative "sponsoredCreative"; leads say "associatedCreative".
        key = "sponsoredCreative" if lead.entity[0] == "associatedCreative" else lead.entity[0]
        body["associatedEntity"] = {key: lead.entity[1]}
    body |= {"leadType": lead.lead_type, "leadAction": action, "occurredAt": occurred_at}
    return dumps(body)


@dataclass
class PushRecord:
    """One notification's fate at one subscription."""

    seq: int
    subscription_id: int
    webhook: str
    lead_id: str
    action: str
    fate: str
    outcome: str  # delivered, failed, dropped, lost-blocked
    status: int | None
    signature: str
    body: str
    at_ms: int


@dataclass
class _Delivery:
    subscription: Subscription
    lead_id: str
    action: str
    body: bytes


class Pusher:
    """Per-subscription queues and workers; started and closed with the server."""

    def __init__(
        self,
        registry: WebhookRegistry,
        faults: FaultInjector,
        config: Callable[[], SandboxConfig],
        clock: Clock,
    ) -> None:
        self._registry = registry
        self._faults = faults
        self._config = config
        self._clock = clock
        self.log: list[PushRecord] = []
        self.client: httpx.AsyncClient | None = None
        self._queues: dict[int, asyncio.Queue[_Delivery]] = {}
        self._workers: dict[int, list[asyncio.Task[None]]] = {}
        self._held: dict[int, _Delivery] = {}
        self._delayed: set[asyncio.Task[None]] = set()

    def notify(self, lead: LeadRecord, action: str) -> int:
        """Queue the notification for every matching subscription; returns how many."""
        body = notification_body(lead, action, self._clock.now_ms())
        targets = self._registry.matching(lead)
        for subscription in targets:
            self._queue(subscription.id).put_nowait(_Delivery(subscription, lead.id, action, body))
        return len(targets)

    def _queue(self, subscription_id: int) -> asyncio.Queue[_Delivery]:
        queue = self._queues.get(subscription_id)
        if queue is None:
            queue = self._queues[subscription_id] = asyncio.Queue()
            self._workers[subscription_id] = [
                asyncio.create_task(self._work(subscription_id, queue))
                for _ in range(self._config().push_concurrency)
            ]
        return queue

    async def _work(self, subscription_id: int, queue: asyncio.Queue[_Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._handle(subscription_id, delivery)
            finally:
                queue.task_done()

    async def _handle(self, subscription_id: int, delivery: _Delivery) -> None:
        config = self._config().push_faults
        fate = self._faults.push_fate(config)
        held = self._held.pop(subscription_id, None)
        if fate is PushFate.REORDER and held is None:
            # Held back until the next notification for this subscription has gone out.
            self._held[subscription_id] = delivery
            return
        if fate is PushFate.DROP:
            self._record(delivery, fate, "dropped", None, "")
        elif fate is PushFate.DELAY:
            task = asyncio.create_task(self._later(delivery, self._faults.delay_s(config)))
            self._delayed.add(task)
            task.add_done_callback(self._delayed.discard)
        else:
            await self._send(delivery, fate)
            if fate is PushFate.DUPLICATE:
                await self._send(delivery, fate)
        if held is not None:
            await self._send(held, PushFate.REORDER)

    async def _later(self, delivery: _Delivery, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self._send(delivery, PushFate.DELAY)

    async def _send(self, delivery: _Delivery, fate: PushFate) -> None:
        config = self._config()
        secret = config.client_secret.get_secret_value()
        signature = notification_signature(secret, delivery.body, config.signature_variant)
        if delivery.subscription.blocked or self.client is None:
            self._record(delivery, fate, "lost-blocked", None, signature)
            return
        try:
            response = await self.client.post(
                delivery.subscription.webhook,
                content=delivery.body,
                headers={"Content-Type": "application/json", "X-LI-Signature": signature},
                timeout=config.delivery_timeout_s,
            )
        except httpx.HTTPError:
            self._record(delivery, fate, "failed", None, signature)
            return
        outcome = "delivered" if 200 <= response.status_code < 300 else "failed"
        self._record(delivery, fate, outcome, response.status_code, signature)

    def _record(
        self, delivery: _Delivery, fate: PushFate, outcome: str, status: int | None, signature: str
    ) -> None:
        self.log.append(
            PushRecord(
                seq=len(self.log) + 1,
                subscription_id=delivery.subscription.id,
                webhook=delivery.subscription.webhook,
                lead_id=delivery.lead_id,
                action=delivery.action,
                fate=fate.value,
                outcome=outcome,
                status=status,
                signature=signature,
                body=delivery.body.decode(),
                at_ms=self._clock.now_ms(),
            )
        )

    async def drain(self) -> None:
        """Wait until every queued, held and delayed notification has been dealt with."""
        for queue in list(self._queues.values()):
            await queue.join()
        for subscription_id in list(self._held):
            held = self._held.pop(subscription_id, None)
            if held is not None:
                await self._send(held, PushFate.REORDER)
        while self._delayed:
            await asyncio.gather(*list(self._delayed))

    async def close(self) -> None:
        for tasks in self._workers.values():
            for task in tasks:
                task.cancel()
        for task in list(self._delayed):
            task.cancel()
        self._queues.clear()
        self._workers.clear()

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.log[since:]]
