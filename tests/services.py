"""Where the integration tests find Kafka and PostgreSQL.

In order: the environment (``LEADSYNC_KAFKA_BOOTSTRAP_SERVERS``, ``LEADSYNC_DATABASE_URL``,
what ``make test`` and CI set), testcontainers when a Docker engine answers, otherwise a
failure that says how to start the local stack. Each test run gets its own database and its
own topic prefix, so runs never see each other's data.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

HOW_TO_START = (
    "integration tests need Apache Kafka and PostgreSQL: run `make test` (it starts the local "
    "stack), or start them with `stack/kafka.sh start && stack/postgres.sh start` and set "
    "LEADSYNC_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:29092 and "
    "LEADSYNC_DATABASE_URL=postgresql://leadsync:leadsync@127.0.0.1:25432/leadsync"
)


class ServicesUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    admin_database_url: str  # a database on the server, used to create the run's own


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # installed with testcontainers; no stubs

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def services() -> Iterator[Services]:
    kafka = os.environ.get("LEADSYNC_KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("LEADSYNC_DATABASE_URL")
    if kafka and database:
        yield Services(kafka, database)
        return
    if not _docker_answers():
        raise ServicesUnavailable(HOW_TO_START)
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft() as kafka_container,
        PostgresContainer("postgres:16", driver=None) as postgres_container,
    ):
        yield Services(
            kafka_container.get_bootstrap_server(), postgres_container.get_connection_url()
        )
