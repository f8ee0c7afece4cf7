"""Two ``leadsync ingress`` processes on one port (SO_REUSEPORT): one killed or restarted
while notifications flow leaves the other answering, and every notification answered 200 is
on ``leadsync.notifications`` (architecture.md 3.1)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest

from harness.children import free_port
from harness.listeners import listens_on
from harness.processes import Ingress
from leadsync.settings import Settings
from schemas.notifications import ReceivedNotification
from tests.integration.test_ingress import WEBHOOK, new_lead_id, notification, sign
from tests.integration.topics import read_topic

pytestmark = pytest.mark.integration

SENDERS = 8
PER_PHASE = 150  # notifications answered in each phase (both up, one down, ...) at least
GIVE_UP_S = 60.0  # per notification: a sender sends again until then, as a proxy would
# What a sender that got no answer can see: the connection refused or reset, or closed
# before the answer (its receiver died while the request was in it).
NO_ANSWER = (httpx.TransportError,)


class Senders:
    """LinkedIn's side: new notifications until told to stop, each on a connection of its
    own (so the kernel picks a receiver for each), each sent again until answered 200."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self.sent: dict[str, bytes] = {}  # answered 200
        self.unanswered = 0  # attempts that got no answer (and were sent again)
        # Answers other than 200: a 503 when Kafka's acknowledgement is late (sent again;
        # the record may still land, like an unanswered one); anything else is a failure.
        self.refused: list[str] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            await asyncio.gather(*(self._send(client) for _ in range(SENDERS)))

    async def answered(self, count: int) -> None:
        """Until ``count`` more notifications have been answered 200."""
        target = len(self.sent) + count
        while len(self.sent) < target:  # noqa: ASYNC110 - a count, not an event, is waited for
            await asyncio.sleep(0.02)

    async def _send(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            lead_id = new_lead_id()
            body = notification(lead_id)
            headers = {
                "Content-Type": "application/json",
                "X-LI-Signature": sign(self.secret, body),
            }
            deadline = time.monotonic() + GIVE_UP_S
            while True:
                try:
                    response = await client.post(self.url, content=body, headers=headers)
                except NO_ANSWER:
                    self.unanswered += 1
                else:
                    if response.status_code == 200:
                        self.sent[lead_id] = body
                        break
                    self.refused.append(f"{response.status_code} {response.text}")
                assert time.monotonic() < deadline, f"{lead_id} never answered 200"
                await asyncio.sleep(0.05)


def wait_listening(receiver: Ingress, timeout_s: float = 60) -> None:
    """Until the receiver listens on the port itself (it listens once its app has started):
    its health check may have been answered by the other one."""
    deadline = time.monotonic() + timeout_s
    while not listens_on(receiver.pid, receiver.settings.ingress_port):
        receiver.check_running()
        assert time.monotonic() < deadline, f"not listening:\n{receiver.log_tail()}"
        time.sleep(0.1)


async def restart(receiver: Ingress) -> None:
    await asyncio.to_thread(receiver.start)
    await asyncio.to_thread(wait_listening, receiver)


async def test_a_receiver_killed_or_restarted_beside_another_loses_no_acknowledged_notification(
    settings: Settings,
) -> None:
    shared = settings.model_copy(update={"ingress_port": free_port()})
    port = shared.ingress_port
    first, second = Ingress(shared), Ingress(shared)
    senders = Senders(
        f"http://127.0.0.1:{port}{WEBHOOK}", shared.linkedin_client_secret.get_secret_value()
    )
    phases: list[tuple[str, int]] = []  # (what happened, notifications answered meanwhile)
    with first, second:
        for receiver in (first, second):
            wait_listening(receiver)
        assert listens_on(first.pid, port)  # both at once, each on its own socket
        assert listens_on(second.pid, port)
        sending = asyncio.create_task(senders.run())
        try:
            await senders.answered(PER_PHASE)
            phases.append(("both up", len(senders.sent)))
            # One dies at once: requests in it get no answer, its queue is reset.
            os.kill(first.pid, signal.SIGKILL)
            await senders.answered(PER_PHASE)  # the other alone
            phases.append(("first SIGKILLed, second alone", len(senders.sent)))
            await restart(first)
            await senders.answered(PER_PHASE)
            phases.append(("first restarted", len(senders.sent)))
            # The other is restarted the ordinary way: SIGTERM, then started again.
            await asyncio.to_thread(second.stop)
            await senders.answered(PER_PHASE)  # the first alone
            phases.append(("second stopped, first alone", len(senders.sent)))
            await restart(second)
            await senders.answered(PER_PHASE)
            phases.append(("second restarted", len(senders.sent)))
        finally:
            senders.stop.set()
            await sending  # every notification started is answered 200 (or the test fails)

    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.notifications)
    on_topic: dict[str, int] = {}
    for key, value in records:
        lead_id = (key or b"").decode()
        if lead_id not in senders.sent:
            continue
        envelope = ReceivedNotification.model_validate_json(value)
        assert envelope.body.encode() == senders.sent[lead_id]  # the bytes as acknowledged
        on_topic[lead_id] = on_topic.get(lead_id, 0) + 1
    # Every 200 is a record on the topic; a notification is there twice only when its
    # receiver published it and died before answering, so the sender sent it again.
    assert set(on_topic) == set(senders.sent), "acknowledged but not on the topic"
    twice = sum(on_topic.values()) - len(on_topic)
    assert twice <= senders.unanswered + len(senders.refused), (twice, senders.unanswered)
    assert all(answer.startswith("503 ") for answer in senders.refused), senders.refused[:5]
    print(
        f"two receivers on one port: {len(senders.sent)} notifications answered 200 {phases};"
        f" {senders.unanswered} attempts unanswered and {len(senders.refused)} answered 503"
        f" (sent again), {twice} published twice,"
        " 0 lost"
    )
