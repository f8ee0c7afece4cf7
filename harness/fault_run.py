"""The fault run: leads flowing from the LinkedIn sandbox through every part of leadsync while
everything goes wrong on a schedule, then the checker (:mod:`harness.fault_check`).

The run builds its own world on loopback:
- a Kafka cluster of its own (``brokers``, three by default: replication factor 3,
  ``min.insync.replicas`` 2), started from the local stack's jars;
- a throwaway database on the local PostgreSQL, which every leadsync process reaches through
  a TCP proxy (``harness.tcp_proxy``) that the run cuts;
- the sandbox, in this process, with push drops and duplicates on;
- ``workers`` workers, one scheduler, two receivers sharing one port.

The account connects LinkedIn, switches Import on for four forms of three ad accounts and
subscribes; the sandbox then creates ``leads`` leads over ``duration_s`` seconds, pushing
each (or dropping it, or pushing it twice). Meanwhile, on a schedule spread over the
duration: workers, the scheduler and the receivers are SIGKILLed and started again; a broker
is killed and restarted (down ``broker_down_s``); PostgreSQL is unreachable for
``database_outage_s``; ``poison`` undecodable records land on the raw topic; the receiver
gets malformed, unsigned, badly signed, oversized and slow requests. Then a manual import
of each form (what an operator does after an incident; the scheduled pull would do the same
later) fetches what the dropped and failed pushes lost, and the checker judges the result.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from harness.children import free_port
from harness.fault_check import FaultWindow, SandboxRecord, Verdict, check
from harness.kafka_cluster import KafkaCluster
from harness.operator import account_id_of, migrate, with_app_login
from harness.processes import Ingress, LeadsyncProcess, Scheduler, Worker, leadsync
from harness.receiver_abuse import AbuseReport, abuse
from harness.sandboxes import Sandbox, serving
from harness.scratch import run_database
from harness.tcp_proxy import TcpProxy, database_through
from leadsync.kafka.producing import publish_all
from leadsync.kafka.topics import ensure_topics
from leadsync.settings import Settings, load_settings

# Sponsored forms of the sandbox (seed 7) on three ad accounts the demo member has roles on.
FORMS = (7571309, 7410233, 7234246, 7767641)
WEBHOOK_PATH = "/linkedin/webhook"
READ_TIMEOUT_S = 3.0  # the receivers' deadline on reading a request


@dataclass(frozen=True)
class FaultPlan:
    leads: int = 20_000
    duration_s: float = 300.0
    drop_rate: float = 0.1
    duplicate_rate: float = 0.1
    poison: int = 100
    database_outage_s: float = 60.0
    broker_down_s: float = 20.0
    brokers: int = 3
    workers: int = 2
    seed: int = 7

    @classmethod
    def small(cls, seed: int = 7) -> FaultPlan:
        """The CI-sized run: every fault, briefer."""
        return cls(
            leads=1_200,
            duration_s=75.0,
            poison=20,
            database_outage_s=12.0,
            broker_down_s=8.0,
            seed=seed,
        )


@dataclass
class Outcome:
    plan: FaultPlan
    verdict: Verdict
    sandbox: SandboxRecord
    faults: list[FaultWindow]
    kills: Counter[str]
    abuse: list[AbuseReport]
    published_s: float  # from the first lead created to the last
    made_whole_s: float  # from the last lead created to the checks (pull, settling)
    crashed_agents: int  # "Crashed reason" in the workers' logs: a crash loses its batch
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Each failed check; empty when the run was clean."""
        found = self.verdict.problems(self.plan.poison)
        if self.crashed_agents:
            found.append(f"{self.crashed_agents} agent crashes in the workers' logs")
        found += [f"receiver abuse: {kind}" for r in self.abuse for kind in r.unexpected]
        return found

    def line(self) -> str:
        """The headline, as the README quotes it."""
        plan, verdict = self.plan, self.verdict
        broker = "broker restarts" if self.faults_named("broker") else "no broker restart"
        return (
            f"{verdict.leads:,} leads, {self.sandbox.duplicate_deliveries:,} duplicate"
            f" deliveries, {self.sandbox.dropped_share:.0%} pushes dropped,"
            f" {sum(self.kills.values())} kills, {broker},"
            f" {plan.database_outage_s:.0f} s database outage, {plan.poison} poison records:"
            f" {len(verdict.lost)} lost, {len(verdict.duplicated)} duplicated,"
            f" {verdict.errors_logged:,} errors logged"
            f" ({verdict.poison_logged} poison + {verdict.rejected_leads} invalid leads)"
        )

    def faults_named(self, prefix: str) -> list[FaultWindow]:
        return [f for f in self.faults if f.name.startswith(prefix)]

    def details(self) -> list[str]:
        verdict = self.verdict
        p50, p99 = verdict.latency(0.50), verdict.latency(0.99)
        lines = [
            f"published over {self.published_s:.0f} s; made whole {self.made_whole_s:.0f} s"
            " after the last lead (manual import of each form, settling)",
            f"imported {verdict.imported:,} leads by origin {dict(verdict.imported_by_origin)}"
            f" into {verdict.contacts:,} contacts; rejected {verdict.rejected_leads} leads"
            f" {dict(verdict.rejection_codes)}",
            f"pushes by fate {dict(self.sandbox.pushes_by_fate)}, by outcome"
            f" {dict(self.sandbox.push_outcomes)}",
            f"kills {dict(self.kills)}",
            "pushed lead -> committed: "
            + (f"p50 {p50:.2f} s, p99 {p99:.2f} s" if p50 is not None and p99 is not None else "-")
            + f" over {len(verdict.push_latency_s):,} leads",
        ]
        for fault in self.faults:
            recovered = verdict.recovery_s.get(fault.name)
            took = f"{recovered:.1f} s" if recovered is not None else "-"
            lines.append(
                f"fault {fault.name}: {fault.ended - fault.started:.1f} s; the slowest lead"
                f" pushed in the 5 s after it committed in {took}"
            )
        lines += [report.line() for report in self.abuse]
        lines += self.notes
        lines += [f"PROBLEM {problem}" for problem in self.problems()]
        return lines


class FaultRun:
    """One run; :meth:`execute` returns its :class:`Outcome`. ``say`` gets progress lines."""

    def __init__(
        self, plan: FaultPlan, base: Settings, workdir: Path, say: Callable[[str], None] = print
    ) -> None:
        self.plan = plan
        self.base = base
        self.workdir = workdir
        self.say = say
        self.rng = random.Random(plan.seed)  # noqa: S311 - which broker, not a secret
        self.faults: list[FaultWindow] = []
        self.kills: Counter[str] = Counter()
        self.abuse_reports: list[AbuseReport] = []
        self.poison_sent = 0
        self.poison_rounds = 0

    def execute(self) -> Outcome:
        with contextlib.ExitStack() as stack:
            cluster = stack.enter_context(
                KafkaCluster(self.workdir / "kafka", brokers=self.plan.brokers)
            )
            self.say(f"kafka: {self.plan.brokers} brokers at {cluster.bootstrap}")
            database_url = stack.enter_context(run_database(self.base.database_conninfo()))
            settings = self._settings(cluster, database_url)
            sandbox = stack.enter_context(
                serving(  # seed 7, whose forms FORMS are
                    settings,
                    push_faults={
                        "drop_rate": self.plan.drop_rate,
                        "duplicate_rate": self.plan.duplicate_rate,
                    },
                )
            )
            settings = settings.model_copy(
                update={
                    "linkedin_api_url": f"{sandbox.url}/rest",
                    "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
                }
            )
            migrate(settings)
            settings = with_app_login(settings)
            ensure_topics(settings)
            server = urlsplit(settings.database_conninfo())
            assert server.hostname is not None
            assert server.port is not None
            proxy = stack.enter_context(TcpProxy(server.hostname, server.port))
            proxied = database_through(settings, proxy)
            return self._run(stack, settings, proxied, sandbox, cluster, proxy)
        raise AssertionError("unreachable")  # pragma: no cover - for mypy's flow analysis

    def _settings(self, cluster: KafkaCluster, database_url: str) -> Settings:
        port = free_port()
        return load_settings(
            demo=True,
            account="acme",
            kafka_bootstrap_servers=cluster.bootstrap,
            database_url=SecretStr(database_url),
            topic_prefix=f"faults-{uuid.uuid4().hex[:8]}",
            topic_partitions=6,
            topic_replication_factor=min(3, self.plan.brokers),
            kafka_session_timeout_s=6,
            kafka_heartbeat_interval_s=1,
            kafka_commit_interval_s=0.3,
            import_batch_window_s=0.1,
            scheduler_tick_s=1.0,
            ingress_port=port,
            ingress_public_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            # Shorter than the abuse's slow requests: the receiver must cut them off.
            ingress_read_timeout_s=READ_TIMEOUT_S,
        )

    def _run(
        self,
        stack: contextlib.ExitStack,
        settings: Settings,
        proxied: Settings,
        sandbox: Sandbox,
        cluster: KafkaCluster,
        proxy: TcpProxy,
    ) -> Outcome:
        plan = self.plan
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        receivers = [
            stack.enter_context(Ingress(proxied, log_path=logs / f"receiver-{n}.log"))
            for n in (1, 2)
        ]
        out = leadsync(settings, "linkedin", "connect")
        assert "tokens stored encrypted" in out, out
        for form_id in FORMS:
            leadsync(settings, "forms", "import", str(form_id), "on")
        out = leadsync(settings, "subscribe")
        self.say(out.strip())
        workers = [
            stack.enter_context(Worker(proxied, log_path=logs / f"worker-{n}.log"))
            for n in range(1, plan.workers + 1)
        ]
        scheduler = stack.enter_context(Scheduler(proxied, log_path=logs / "scheduler.log"))
        processes: list[LeadsyncProcess] = [*receivers, *workers, scheduler]
        self.say(f"processes: {len(workers)} workers, 1 scheduler, 2 receivers; logs in {logs}")

        started = time.monotonic()
        jobs = self._create_leads(sandbox)
        self._faults_on_schedule(settings, workers, scheduler, receivers, cluster, proxy, jobs)
        self._wait_for_jobs(sandbox, jobs, processes)
        published_s = time.monotonic() - started
        last_lead = time.monotonic()
        sandbox.control.post("/pushes/flush").raise_for_status()
        self.say(f"all {plan.leads:,} leads created in {published_s:.0f} s; importing the rest")
        for form_id in FORMS:
            done = leadsync(settings, "sync", str(form_id), timeout_s=600)
            self.say(f"form {form_id}: {done.strip().splitlines()[-1]}")
        workers[0].wait_caught_up(settings.topics.notifications, 300)
        workers[0].settle(300)
        made_whole_s = time.monotonic() - last_lead
        for process in processes:
            process.check_running()
        record = _sandbox_record(sandbox)
        refused = sum(report.error_events_expected for report in self.abuse_reports)
        verdict = check(
            settings.database_conninfo(),
            account_id_of(settings),
            list(FORMS),
            record,
            self.faults,
            Counter({"invalid_notification": refused} if refused else {}),
        )
        crashed = sum(_count(w, "Crashed reason") for w in workers)
        return Outcome(
            plan=plan,
            verdict=verdict,
            sandbox=record,
            faults=self.faults,
            kills=self.kills,
            abuse=self.abuse_reports,
            published_s=published_s,
            made_whole_s=made_whole_s,
            crashed_agents=crashed,
            notes=[f"logs: {logs}"],
        )

    def _create_leads(self, sandbox: Sandbox) -> list[int]:
        """One paced job per form; their ids."""
        per_form = [self.plan.leads // len(FORMS)] * len(FORMS)
        per_form[0] += self.plan.leads - sum(per_form)
        jobs = []
        for form_id, count in zip(FORMS, per_form, strict=True):
            rate = count / self.plan.duration_s
            answer = sandbox.control.post(
                "/leads", json={"count": count, "rate": rate, "formId": form_id}
            )
            assert answer.status_code == 202, answer.text
            jobs.append(int(answer.json()["id"]))
        return jobs

    def _faults_on_schedule(
        self,
        settings: Settings,
        workers: list[Worker],
        scheduler: Scheduler,
        receivers: list[Ingress],
        cluster: KafkaCluster,
        proxy: TcpProxy,
        jobs: list[int],
    ) -> None:
        """The faults, at fixed shares of the duration (one at a time, so that each one's
        recovery is its own)."""
        plan = self.plan
        poison_rounds = 4
        schedule: list[tuple[float, str, Callable[[], None]]] = [
            (0.08, "worker-1 SIGKILL", lambda: self._kill(workers[0], "worker")),
            (0.14, "poison", lambda: self._poison(settings, poison_rounds)),
            (0.18, "scheduler SIGKILL", lambda: self._kill(scheduler, "scheduler")),
            (0.24, "receiver abuse", lambda: self._abuse(settings)),
            (0.28, "receiver-1 SIGKILL", lambda: self._kill(receivers[0], "receiver")),
            (0.33, "poison", lambda: self._poison(settings, poison_rounds)),
            (0.36, "broker", lambda: self._broker(cluster)),
            (0.50, "database outage", lambda: self._outage(proxy)),
            (0.62, "poison", lambda: self._poison(settings, poison_rounds)),
            (0.74, f"worker-{len(workers)} SIGKILL", lambda: self._kill(workers[-1], "worker")),
            (0.80, "receiver abuse", lambda: self._abuse(settings)),
            (0.84, "receiver-2 SIGKILL", lambda: self._kill(receivers[-1], "receiver")),
            (0.90, "poison", lambda: self._poison(settings, poison_rounds)),
        ]
        start = time.monotonic()
        for share, name, action in schedule:
            delay = start + share * plan.duration_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.time()
            self.say(f"{time.monotonic() - start:6.1f} s  {name}")
            action()
            if not name.startswith(("poison", "receiver abuse")):
                self.faults.append(FaultWindow(name, began, time.time()))

    def _kill(self, process: LeadsyncProcess, kind: str) -> None:
        """SIGKILL, then started again at once (as a supervisor would)."""
        os.kill(process.pid, signal.SIGKILL)
        assert process.process is not None
        process.process.wait(10)
        self.kills[kind] += 1
        process.start()

    def _broker(self, cluster: KafkaCluster) -> None:
        node = self.rng.randrange(len(cluster.nodes)) + 1
        cluster.kill(node)
        time.sleep(self.plan.broker_down_s)
        cluster.restart(node)

    def _outage(self, proxy: TcpProxy) -> None:
        proxy.outage()
        time.sleep(self.plan.database_outage_s)
        proxy.recover()

    def _poison(self, settings: Settings, rounds: int) -> None:
        """A share of the poison records: bytes that are no lead envelope (not JSON, JSON of
        another shape, an envelope without a lead)."""
        count = self.plan.poison // rounds + int(self.poison_rounds < self.plan.poison % rounds)
        self.poison_rounds += 1
        kinds = [b"\x00\xffnot json", b'{"hello": "world"}', b'{"account_id": 1, "lead": null}']
        records = [
            (f"poison-{self.poison_sent + n}".encode(), kinds[n % len(kinds)] + str(n).encode())
            for n in range(count)
        ]  # fmt: skip
        publish_all(settings, settings.topics.leads_raw, records)
        self.poison_sent += count

    def _abuse(self, settings: Settings) -> None:
        secret = settings.linkedin_client_secret.get_secret_value()
        self.abuse_reports.append(
            abuse(settings.ingress_public_url, secret, read_timeout_s=READ_TIMEOUT_S)
        )

    def _wait_for_jobs(
        self, sandbox: Sandbox, jobs: list[int], processes: list[LeadsyncProcess]
    ) -> None:
        deadline = time.monotonic() + self.plan.duration_s * 2 + 120
        while True:
            status = sandbox.control.get("/status").json()
            if all(j["done"] for j in status["jobs"] if j["id"] in jobs):
                return
            for process in processes:
                process.check_running()
            assert time.monotonic() < deadline, f"the sandbox did not create the leads: {status}"
            time.sleep(1.0)


def _count(process: LeadsyncProcess, text: str) -> int:
    return process.log_path.read_text(errors="replace").count(text)


def _sandbox_record(sandbox: Sandbox) -> SandboxRecord:
    forms = set(FORMS)
    submitted = {
        lead.id: lead.submitted_at
        for lead in sandbox.state.store.all()
        if int(lead.form_urn.split(":")[-1].split(",")[0]) in forms
    }
    created = [
        p for p in sandbox.state.pusher.log if p.action == "CREATED" and p.lead_id in submitted
    ]
    return SandboxRecord(
        submitted_ms=submitted,
        pushes_by_fate=Counter(p.fate for p in created),
        push_outcomes=Counter(p.outcome for p in created),
    )


@contextlib.contextmanager
def workdir(keep: Path | None = None) -> Iterator[Path]:
    """Where the run's Kafka data and logs go: ``keep``, or a temporary directory removed
    afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="leadsync-faults-") as tmp:
        yield Path(tmp)


__all__ = ["FORMS", "FaultPlan", "FaultRun", "Outcome", "workdir"]
