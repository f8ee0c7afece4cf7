"""docker-compose.yml, the Prometheus scrape config and the Grafana dashboard hold together
(no Docker engine here: they are read as the tools would read them, and checked against the
code): every process is scraped where it serves, checked on its /readyz, and every panel
asks for figures leadsync exposes."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.core import Metric

from admin.metrics_routes import render
from ingest.webhook.metrics import IngressMetrics
from leadsync import metrics
from leadsync.settings import load_settings
from sinks.outbox_backlog import OutboxBacklog
from streams.ops import ASSIGNED_PARTITIONS, CONSUMER_LAG

# PyYAML comes with uvicorn[standard]; its stubs are not a dev dependency, and the documents
# are checked here as plain data anyway.
yaml: Any = importlib.import_module("yaml")

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
SETTINGS = load_settings(demo=True)
# Where each process serves /metrics and /readyz by default (what compose runs).
PROCESS_PORTS = {
    "ingress": SETTINGS.ingress_port,
    "admin": SETTINGS.admin_port,
    "worker": SETTINGS.worker_metrics_port,
    "scheduler": SETTINGS.scheduler_metrics_port,
}


def _yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    return document


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml(ROOT / "docker-compose.yml")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document = json.loads((OPS / "grafana" / "dashboards" / "leadsync.json").read_text())
    assert isinstance(document, dict)
    return document


def test_the_default_ports_do_not_clash() -> None:
    taken = [*PROCESS_PORTS.values(), SETTINGS.sandbox_port]
    assert len(set(taken)) == len(taken)


@pytest.mark.parametrize("service", sorted(PROCESS_PORTS))
def test_every_process_is_healthy_only_when_its_readyz_says_ready(
    compose: dict[str, Any], service: str
) -> None:
    check = " ".join(compose["services"][service]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{PROCESS_PORTS[service]}/readyz" in check


@pytest.mark.parametrize("service", ["worker", "scheduler"])
def test_the_servers_of_their_own_listen_on_the_compose_network(
    compose: dict[str, Any], service: str
) -> None:
    assert compose["services"][service]["environment"]["LEADSYNC_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container


def test_prometheus_scrapes_every_process_where_it_serves(compose: dict[str, Any]) -> None:
    config = _yaml(OPS / "prometheus.yml")
    scraped = {}
    for job in config["scrape_configs"]:
        for discovery in job["dns_sd_configs"]:
            for name in discovery["names"]:
                scraped[name] = discovery["port"]
    assert scraped == PROCESS_PORTS
    assert set(scraped) <= set(compose["services"])
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./ops/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts


def test_grafana_is_provisioned_with_the_dashboard_and_its_datasource(
    compose: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {m.split(":")[0]: m.split(":")[1] for m in grafana["volumes"]}
    provisioning = ROOT / mounts["./ops/grafana/provisioning"].replace(
        "/etc/grafana/provisioning", "ops/grafana/provisioning"
    )
    (source,) = _yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    (provider,) = _yaml(provisioning / "dashboards" / "leadsync.yml")["providers"]
    assert provider["options"]["path"] == mounts["./ops/grafana/dashboards"]
    assert source["url"] == "http://prometheus:9090"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def _sample_names(*families: Metric) -> set[str]:
    """The series names Prometheus stores for these families, samples or not."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    names: set[str] = set()
    for family in families:
        names.update(family.name + suffix for suffix in suffixes.get(family.type, [""]))
        names.update(sample.name for sample in family.samples)
    return names


def _exposed() -> set[str]:
    """Every series name a leadsync process exposes."""
    families: list[Metric] = []
    for registry in (metrics.REGISTRY, metrics.PROCESS, IngressMetrics().registry):
        families.extend(registry.collect())
    text = render([], OutboxBacklog(0, None)).decode()
    admin_names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    return (
        _sample_names(*families)
        | admin_names
        | {
            ASSIGNED_PARTITIONS,
            CONSUMER_LAG,
            # Absent without an active connection; the admin's unit tests show it.
            "leadsync_linkedin_token_first_end_seconds",
        }
    )


def test_every_panel_asks_for_figures_leadsync_exposes(dashboard: dict[str, Any]) -> None:
    exposed = _exposed() | {"up"}
    asked = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            asked.update(re.findall(r"\b((?:leadsync|process)_[a-z_]+|up)\b", target["expr"]))
    assert asked, "no panel asks for anything"
    assert asked <= exposed, asked - exposed


def test_every_figure_of_the_issue_has_a_panel(dashboard: dict[str, Any]) -> None:
    exprs = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    for figure in (
        "leadsync_leads_received_total",
        "leadsync_leads_published_total",
        "leadsync_import_leads_total",
        "leadsync_import_failures_total",
        CONSUMER_LAG,
        "leadsync_sync_runs_total",
        "leadsync_linkedin_calls_total",
        "leadsync_linkedin_token_first_end_seconds",
        "leadsync_outbox_backlog",
    ):
        assert figure in exprs, figure
