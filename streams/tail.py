"""``leadsync tail``: contact-change events as a consumer sees them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from leadsync.settings import Settings


def describe(event: dict[str, Any]) -> str:
    """One line: when, what, whose (account), which contact, which fields changed."""
    data = event.get("data") or {}
    contact = data.get("contact") or {}
    fields = ", ".join(str(c.get("field")) for c in data.get("changes") or [])
    kind = str(event.get("type", "?")).rsplit(".", 1)[-1]
    email = contact.get("email")
    subject = event.get("subject")
    account = event.get("leadsyncaccount")
    return (
        f"{event.get('time')} {kind:8} account {account} {subject} {email}"
        f" [{data.get('cause')}] {fields}"
    )


def tail_changes(
    settings: Settings,
    from_beginning: bool,
    count: int,
    as_json: bool,
    out: Callable[[str], None],
    account_id: int | None = None,
) -> int:
    """Print the events (of one account when ``account_id`` is given) until ``count``."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            # A throw-away group: tailing never moves a real consumer's offsets.
            "group.id": f"leadsync-tail-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    topic = settings.topics.contact_changes
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        consumer.assign([TopicPartition(topic, p, start) for p in metadata.partitions])
        seen = 0
        while count == 0 or seen < count:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            raw = message.value() or b"{}"
            # The key starts with the account ("<account>:<contact>"): no need to decode
            # another account's events to skip them.
            if account_id is not None and not (message.key() or b"").startswith(
                f"{account_id}:".encode()
            ):
                continue
            out(raw.decode() if as_json else describe(json.loads(raw)))
            seen += 1
        return seen
    except KeyboardInterrupt:
        return 0
    finally:
        consumer.close()
