"""Two workers in one consumer group: they share the raw topic's partitions, a worker that dies
hands its partitions to the other, and two of them racing on one new person create one
contact and say so once.

architecture.md 3.2 and 3.5 with more than one worker: whichever worker a lead lands on,
and whatever happens to that worker, every lead is imported exactly once and every committed
change has one outbox row, one event, and one count.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from harness.consumer_groups import partition_of, shared_by, wait_for_assignment
from harness.operator import switch_import
from harness.processes import Worker
from leadsync.kafka.producing import publish_all
from leadsync.settings import Settings
from tests.faults.checks import CREATED, UPDATED, assert_imported_exactly_once
from tests.faults.dataset import build
from tests.faults.flow import LogWatch, Publisher
from tests.integration.produce import envelope, lead_for, settings_account
from tests.integration.topics import read_topic

pytestmark = pytest.mark.integration

ASSIGNED_S = 60.0  # two faust workers starting on two cores, then a rebalance
WAVE = 200  # new people at once, each with one lead on each worker at the same moment
MAX_WAVES = 8
# The retry line of a batch that met a contact another worker created meanwhile
# (sinks.upserts.ContactCreatedConcurrently, through leadsync.retry).
RACE_LINE = "import pipeline: ContactCreatedConcurrently"
_BATCH_LINE = re.compile(r"imported batch: (\d+) records")


def _rng(name: str) -> random.Random:
    seed = int(os.environ.get("LEADSYNC_FAULTS_SEED", time.time_ns() % 1_000_000))
    print(f"{name}: seed {seed} (LEADSYNC_FAULTS_SEED={seed} repeats the run)")
    return random.Random(seed)


def _shared(settings: Settings, workers: list[Worker]) -> dict[str, frozenset[int]]:
    """Wait until each worker holds some of the raw topic's partitions; the shape."""

    def check() -> None:
        for worker in workers:
            worker.check_running()

    return wait_for_assignment(
        settings.kafka_bootstrap_servers,
        settings.worker_app_id,
        settings.topics.leads_raw,
        shared_by(len(workers), settings.topic_partitions),
        ASSIGNED_S,
        check,
    )


def test_a_worker_killed_mid_flow_hands_its_partitions_to_the_other(settings: Settings) -> None:
    rng = _rng("two workers")
    stream = build(settings, 6_000, rng)
    with Worker(settings) as survivor, Worker(settings) as victim:
        before = _shared(settings, [survivor, victim])
        survivor_watch, victim_watch = LogWatch(survivor), LogWatch(victim)
        with Publisher(settings, stream, 200, 0.4) as publisher:
            # Both import, then one dies at a random moment of its work.
            survivor_watch.wait_for("imported batch", 60)
            victim_watch.wait_for("imported batch", 60)
            time.sleep(rng.uniform(1.0, 4.0))  # some seconds into publishing's ~15
            os.kill(victim.pid, signal.SIGKILL)
            assert victim.process is not None
            victim.process.wait(10)
            killed_at = time.monotonic()
            assert publisher.is_alive(), "publishing ended before the kill: nothing to hand over"
            # The group notices the missing heartbeats (session timeout) and rebalances.
            after = _shared(settings, [survivor])
            took_over_s = time.monotonic() - killed_at
            publisher.finish()
            settle_start = time.monotonic()
            survivor.settle(timeout_s=150)
            settled_s = time.monotonic() - settle_start
        survivor.check_running()

    (member,) = after
    assert member in before, "the survivor left the group instead of keeping its place"
    moved = sorted(after[member] - before[member])
    assert moved, f"no partition moved to the survivor: {before} -> {after}"
    victim_log = victim.log_path.read_text(errors="replace")
    assert "Crashed reason" not in victim_log, "an agent crashed: see " + str(victim.log_path)
    outcome = assert_imported_exactly_once(settings, stream.expected, survivor.log_path)
    victim_records = _records_processed(victim.log_path)
    assert victim_records > 0, "the killed worker never imported: the partitions were not shared"
    print(
        f"two workers: partitions {dict(before)} -> {dict(after)} ({moved} moved) {took_over_s:.1f}"
        f" s after the kill; settled {settled_s:.1f} s after publishing ended; records"
        f" processed by the killed worker {victim_records}, by the survivor"
        f" {outcome.records_processed}; {outcome}; records published {len(stream.records)}"
    )


def test_two_workers_racing_on_one_new_person_create_one_contact(settings: Settings) -> None:
    """Each new person's two leads (two forms, one moment) land on partitions of different
    workers and are published together. So that both workers import them at the same time
    whatever the machine's timing, the test holds a SHARE lock on ``contacts`` (reads go
    on, writes wait) until a batch of each worker is waiting to write, then lets both go."""
    token = uuid.uuid4().hex[:8]
    rng = random.Random(token)
    forms = [rng.randrange(100_000_000, 999_999_999) for _ in range(2)]
    switch_import(settings, forms)
    account = settings_account(settings)
    emails: list[str] = []
    races = 0
    with Worker(settings) as one, Worker(settings) as other:
        shape = _shared(settings, [one, other])
        first, second = (min(owned) for owned in shape.values())  # one partition of each
        logs = [w.log_path for w in (one, other)]
        # One wave normally races; more only if a worker's batch held none of the other's
        # people.
        for wave in range(MAX_WAVES):
            people = [f"racer{wave}.{n}-{token}@faults.example.com" for n in range(WAVE)]
            emails += people
            records: list[tuple[bytes, bytes]] = []
            when = 1_765_000_000_000  # the same moment: whichever commits second updates
            for n, email in enumerate(people):
                for form_id, partition in zip(forms, (first, second), strict=True):
                    prefix = f"{token}-{wave}-{n}-{form_id}"
                    lead_id = _lead_id_on(prefix, account, partition, settings)
                    lead = lead_for(lead_id, email, form_id=form_id, submitted_at=when)
                    value = envelope(lead, account_id=account)
                    records.append((f"{account}:{lead_id}".encode(), json.dumps(value).encode()))
            with _writes_to_contacts_held(settings, waiters=2, workers=(one, other)):
                publish_all(settings, settings.topics.leads_raw, records)
            one.settle(timeout_s=90)
            races = sum(path.read_text(errors="replace").count(RACE_LINE) for path in logs)
            if races:
                break
        for worker in (one, other):
            worker.check_running()

    racers = len(emails)
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        contacts: dict[str, uuid.UUID] = dict(
            conn.execute(
                "SELECT email, id FROM contacts WHERE account_id = %s AND email = ANY(%s)",
                (account, emails),
            ).fetchall()
        )
        assert sorted(contacts) == sorted(emails), "not one contact per person"
        outbox = conn.execute(
            "SELECT contact_id, event_type, event_id::text FROM outbox"
            " WHERE contact_id = ANY(%s) ORDER BY id",
            (list(contacts.values()),),
        ).fetchall()
        counters = conn.execute(
            "SELECT sum(imported), sum(updated) FROM form_counters"
            " WHERE account_id = %s AND form_id = ANY(%s)",
            (account, forms),
        ).fetchone()
        submissions = conn.execute(
            "SELECT count(*) FROM form_submissions WHERE account_id = %s AND form_id = ANY(%s)",
            (account, forms),
        ).fetchone()

    kinds: dict[uuid.UUID, list[str]] = defaultdict(list)
    for contact_id, event_type, _ in outbox:
        kinds[contact_id].append(event_type)
    wrong = {e: kinds[c] for e, c in contacts.items() if kinds[c] != [CREATED, UPDATED]}
    assert not wrong, (
        f"{len(wrong)} of {racers} people without exactly one created then one updated"
        f" ({races} races seen), e.g. {list(wrong.items())[:3]}"
    )
    assert counters == (racers, racers), f"counters imported/updated {counters}"
    assert submissions == (2 * racers,)
    # What a downstream consumer sees: one `created` per person on the topic.
    created_on_topic = _created_on_topic(settings, {str(c) for c in contacts.values()})
    assert sorted(created_on_topic.values()) == [1] * racers, (
        f"`created` events per contact on the topic: {Counter(created_on_topic.values())}"
    )
    # Evidence that the workers did meet: a batch found a person another batch had just
    # created, and was applied again as an update.
    assert races > 0, "no batch met a contact created meanwhile: the workers never raced"
    print(f"race: {racers} people in {racers // WAVE} wave(s) on partitions {first} and"
          f" {second} of {dict(shape)}; {races} batches met a contact the other worker"
          " created meanwhile")  # fmt: skip


@contextlib.contextmanager
def _writes_to_contacts_held(
    settings: Settings, waiters: int, workers: tuple[Worker, ...], timeout_s: float = 60.0
) -> Iterator[None]:
    """Holds writes to ``contacts`` during the block and after it until ``waiters`` sessions
    wait to write there, then releases them together."""
    with psycopg.connect(settings.database_conninfo()) as conn:
        conn.execute("LOCK TABLE contacts IN SHARE MODE")
        yield
        deadline = time.monotonic() + timeout_s
        while True:
            row = conn.execute(
                "SELECT count(DISTINCT pid) FROM pg_locks"
                " WHERE relation = 'contacts'::regclass AND NOT granted"
            ).fetchone()
            if row is not None and row[0] >= waiters:
                break
            for worker in workers:
                worker.check_running()
            assert time.monotonic() < deadline, f"{row} sessions waiting to write contacts"
            time.sleep(0.05)
        conn.commit()


def _lead_id_on(prefix: str, account: int, partition: int, settings: Settings) -> str:
    """A lead id starting with ``prefix`` whose record key lands on ``partition``."""
    for n in range(10_000):
        lead_id = f"{prefix}-{n}"
        if partition_of(f"{account}:{lead_id}".encode(), settings.topic_partitions) == partition:
            return lead_id
    raise AssertionError(f"no lead id for partition {partition}")


def _created_on_topic(settings: Settings, contact_ids: set[str]) -> Counter[str]:
    """Distinct `created` event ids per contact on the contact-changes topic (a relay may
    publish one event twice, with one id: consumers dedupe on it)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for _, value in read_topic(settings.kafka_bootstrap_servers, settings.topics.contact_changes):
        event = json.loads(value)
        if event.get("subject") in contact_ids and event.get("type") == CREATED:
            seen[event["subject"]].add(event["id"])
    return Counter({subject: len(ids) for subject, ids in seen.items()})


def _records_processed(log: Path) -> int:
    """Records in the batches a worker's log says it imported."""
    return sum(int(m[1]) for m in _BATCH_LINE.finditer(log.read_text(errors="replace")))
