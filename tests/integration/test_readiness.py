"""``/healthz`` and ``/readyz`` of every process, with what they depend on taken away: each
answers 200 while ready, 503 with a JSON body naming what is not ready while PostgreSQL (or,
for the receiver, Kafka) is unreachable, and 200 again once it is back; alive throughout.

PostgreSQL and Kafka keep running for everyone else: the process reaches them through a
loopback proxy (``harness.tcp_proxy``, ``tests.integration.kafka_proxy``) that the test
cuts and restores.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from harness.children import free_port
from harness.processes import Admin, Ingress, LeadsyncProcess, Scheduler, Worker
from harness.tcp_proxy import TcpProxy, database_through
from leadsync.settings import Settings
from tests.integration.kafka_proxy import KafkaProxy

pytestmark = pytest.mark.integration

WAIT_S = 60.0


def _readyz(process: LeadsyncProcess, status: int) -> dict[str, Any]:
    """The body of ``/readyz`` once it answers ``status`` (waited for: a check may still be
    answering from before the change)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        answer = httpx.get(f"{process.ops_url}/readyz", timeout=10)
        if answer.status_code == status:
            body: dict[str, Any] = answer.json()
            return body
        process.check_running()
        assert time.monotonic() < deadline, f"/readyz still {answer.status_code}: {answer.text}"
        time.sleep(0.3)


def _alive(process: LeadsyncProcess) -> None:
    answer = httpx.get(f"{process.ops_url}/healthz", timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("process_type", [Worker, Scheduler, Admin], ids=lambda t: t.command)
def test_readyz_names_postgresql_while_it_is_unreachable_and_recovers_with_it(
    settings: Settings, process_type: type[LeadsyncProcess]
) -> None:
    server = urlsplit(settings.database_conninfo())
    assert server.hostname is not None
    assert server.port is not None
    with TcpProxy(server.hostname, server.port) as proxy:
        proxied = database_through(settings, proxy).model_copy(update={"admin_port": free_port()})
        with process_type(proxied) as process:
            process.wait_until_ready()
            ready = _readyz(process, 200)
            assert ready["status"] == "ready"
            assert ready["checks"]["postgresql"] == ready["checks"]["kafka"] == "ok"
            if process_type is Worker:
                assert ready["checks"]["partitions"] == "ok"

            proxy.outage()
            down = _readyz(process, 503)
            assert down["status"] == "not ready"
            assert list(down["not_ready"]) == ["postgresql"], down  # Kafka still answers
            assert down["not_ready"]["postgresql"].startswith("PostgreSQL does not answer")
            assert down["checks"]["kafka"] == "ok"
            for secret in (settings.database_app_password, server.password):
                raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
                assert not raw or raw not in str(down)
            _alive(process)

            proxy.recover()
            assert _readyz(process, 200)["status"] == "ready"
            _alive(process)


def test_the_receivers_readyz_names_kafka_while_it_is_unreachable(settings: Settings) -> None:
    with KafkaProxy.for_bootstrap(settings.kafka_bootstrap_servers) as proxy:
        proxied = settings.model_copy(
            update={
                "kafka_bootstrap_servers": f"127.0.0.1:{proxy.port}",
                "ingress_port": free_port(),
            }
        )
        with Ingress(proxied) as ingress:
            assert _readyz(ingress, 200)["checks"] == {"kafka": "ok"}

            proxy.outage()
            down = _readyz(ingress, 503)
            assert list(down["not_ready"]) == ["kafka"], down
            _alive(ingress)  # the existing health check (harness, compose) still answers

            proxy.recover()
            assert _readyz(ingress, 200)["status"] == "ready"
