"""The outbox relay publishes a committed contact change at once: the import's transaction
wakes it (NOTIFY), it does not wait for its next poll."""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest

from harness.operator import switch_import
from harness.processes import Worker
from leadsync.settings import Settings
from tests.faults.flow import LogWatch
from tests.integration.produce import envelope, lead_for, publish_raw
from tests.integration.topics import read_topic

pytestmark = pytest.mark.integration

POLL_S = 60.0  # the relay's poll, far longer than the test waits
WITHIN_S = 15.0


def test_a_contact_change_is_published_without_waiting_for_the_relays_poll(
    settings: Settings,
) -> None:
    form_id = random.randrange(100_000_000, 999_999_999)
    switch_import(settings, [form_id])
    email = f"wakeup-{uuid.uuid4().hex[:8]}@example.com"
    with Worker(settings.model_copy(update={"relay_idle_s": POLL_S})) as worker:
        LogWatch(worker).wait_for("outbox relay active", 90)
        time.sleep(1.0)  # its first look found nothing: it now waits
        published = time.monotonic()
        publish_raw(settings, envelope(lead_for(uuid.uuid4().hex, email, form_id=form_id)))
        while True:
            worker.check_running()
            records = read_topic(settings.kafka_bootstrap_servers, settings.topics.contact_changes)
            events = [json.loads(value) for _, value in records]
            if any(e["data"]["contact"].get("email") == email for e in events):
                break
            waited = time.monotonic() - published
            assert waited < WITHIN_S, (
                f"no event {waited:.0f} s after the lead:\n{worker.log_tail()}"
            )
            time.sleep(0.2)
