"""Fixtures giving every integration test a real Kafka broker and PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from confluent_kafka.admin import AdminClient
from psycopg import AsyncConnection
from pydantic import SecretStr

from harness.operator import migrate, with_app_login
from harness.processes import Worker
from harness.scratch import run_database
from leadsync.kafka.topics import ensure_topics, wait_for_kafka
from leadsync.settings import Settings, load_settings
from tests.services import ServicesUnavailable, services

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    try:
        service_context = services()
        found = service_context.__enter__()
    except ServicesUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        with run_database(found.admin_database_url) as database_url:
            settings = load_settings(
                demo=True,
                # The account the tests act for (harness.operator.migrate makes it).
                account="acme",
                kafka_bootstrap_servers=found.kafka_bootstrap,
                database_url=SecretStr(database_url),
                topic_prefix=f"leadsync-test-{uuid.uuid4().hex[:8]}",
                topic_partitions=3,
                # Short timeouts so the worker's first partition assignment is quick.
                kafka_session_timeout_s=6,
                kafka_heartbeat_interval_s=1,
                kafka_commit_interval_s=0.3,
                import_batch_window_s=0.1,
            )
            migrate(settings)
            # The processes connect as their own role, as in production (not SET ROLE).
            settings = with_app_login(settings)
            wait_for_kafka(settings, 60)
            ensure_topics(settings)
            yield settings
            _delete_topics(settings)
    finally:
        service_context.__exit__(None, None, None)


def _delete_topics(settings: Settings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(settings.topic_prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncConnection[tuple[object, ...]]]:
    async with await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def worker(settings: Settings) -> Iterator[Worker]:
    with Worker(settings) as running:
        yield running
