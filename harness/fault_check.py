"""The fault run's checker: what the database holds after the run, against the sandbox's own
record of the leads it created and of the notifications it pushed.

A user's checks, each one count:
- **lost**: a lead the sandbox created that is neither imported nor in the error log;
- **duplicated**: a second submission row of one lead, a second ``created`` event of one
  contact, a lead both imported and rejected;
- **phantom**: an imported lead the sandbox never created, a contact no imported lead names;
- **errors routed**: every poison record in the operator's error log once, every rejected
  lead in its account's error log for its answers (never for a failure of the pipeline:
  a notification lost, LinkedIn away, an internal error);
- **latency**: pushed leads, from their submission (when the sandbox pushed them) to the
  commit of their import; and per fault, the slowest of the leads pushed in the five seconds
  after its end (the pipeline flows again end to end, on every partition).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from schemas.events import ContactEventType

# Codes that mean the pipeline failed a lead rather than the lead's answers being invalid.
PIPELINE_FAILURES = frozenset(
    {
        "invalid_notification",
        "undecodable_notification",
        "lead_not_found",
        "no_connection",
        "connection_revoked",
        "connection_expired",
        "linkedin_error",
        "internal_error",
    }
)
POISON_CODE = "undecodable_record"
# A fault's recovery: leads pushed in this many seconds after its end, all committed.
RECOVERY_PROBE_S = 5.0


@dataclass(frozen=True)
class SandboxRecord:
    """What the sandbox knows: each created lead's submission time (epoch ms), and each
    notification's fate."""

    submitted_ms: dict[str, int]
    pushes_by_fate: Counter[str]
    push_outcomes: Counter[str]

    @property
    def duplicate_deliveries(self) -> int:
        """Notifications pushed a second time (a duplicated one is logged twice)."""
        return self.pushes_by_fate["duplicate"] // 2

    @property
    def dropped_share(self) -> float:
        return self.pushes_by_fate["drop"] / max(1, len(self.submitted_ms))


@dataclass(frozen=True)
class FaultWindow:
    """One fault as it happened: epoch seconds."""

    name: str
    started: float
    ended: float


@dataclass
class Verdict:
    leads: int
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    phantom: list[str] = field(default_factory=list)
    misrouted: list[str] = field(default_factory=list)
    poison_logged: int = 0
    rejected_leads: int = 0
    rejection_codes: Counter[str] = field(default_factory=Counter)
    imported: int = 0
    imported_by_origin: Counter[str] = field(default_factory=Counter)
    contacts: int = 0
    push_latency_s: list[float] = field(default_factory=list)
    recovery_s: dict[str, float | None] = field(default_factory=dict)

    @property
    def errors_logged(self) -> int:
        return self.poison_logged + self.rejected_leads

    def latency(self, quantile: float) -> float | None:
        if len(self.push_latency_s) < 2:
            return None
        cuts = statistics.quantiles(self.push_latency_s, n=100, method="inclusive")
        return cuts[round(quantile * 100) - 1]

    def problems(self, poison: int) -> list[str]:
        """Each failed check, with a few examples; empty when the run was clean."""
        found = [
            f"{name}: {len(items)}, e.g. {items[:3]}"
            for name, items in (
                ("lost", self.lost),
                ("duplicated", self.duplicated),
                ("phantom", self.phantom),
                ("misrouted errors", self.misrouted),
            )
            if items
        ]
        if self.poison_logged != poison:
            found.append(f"poison records logged {self.poison_logged}, published {poison}")
        return found


def check(conninfo: str, account_id: int, forms: list[int], sandbox: SandboxRecord,
          faults: list[FaultWindow], operator_errors: Counter[str]) -> Verdict:  # fmt: skip
    """Read the run's database as its owner (no row-level security) and judge it.
    ``operator_errors``: the errors other than poison the operator's log must hold (the
    receiver logs the signed but malformed requests it refused), by code."""
    verdict = Verdict(leads=len(sandbox.submitted_ms))
    expected = set(sandbox.submitted_ms)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        imported = _rows(
            conn,
            "SELECT lead_id, origin, contact_id, imported_at FROM imported_leads"
            " WHERE account_id = %s AND form_id = ANY(%s) AND erased_at IS NULL",
            account_id,
            forms,
        )
        rejected = _rows(
            conn,
            "SELECT lead_id, code FROM error_log WHERE account_id = %s AND form_id = ANY(%s)"
            " AND lead_id IS NOT NULL",
            account_id,
            forms,
        )
        submissions = _rows(
            conn,
            "SELECT lead_id, count(*) FROM form_submissions WHERE account_id = %s"
            " GROUP BY lead_id HAVING count(*) > 1",
            account_id,
        )
        created = _rows(
            conn,
            "SELECT contact_id, count(DISTINCT event_id) FROM outbox WHERE account_id = %s"
            " AND event_type = %s GROUP BY contact_id HAVING count(DISTINCT event_id) > 1",
            account_id,
            ContactEventType.CREATED.value,
        )
        unnamed = _rows(
            conn,
            "SELECT c.id FROM contacts c WHERE c.account_id = %s AND NOT EXISTS"
            " (SELECT 1 FROM imported_leads l WHERE l.account_id = c.account_id"
            "  AND l.contact_id = c.id)",
            account_id,
        )
        contacts = _rows(conn, "SELECT count(*) FROM contacts WHERE account_id = %s", account_id)
        poison = _rows(
            conn,
            "SELECT count(DISTINCT error_id) FROM pipeline_errors WHERE code = %s",
            POISON_CODE,
        )
        other_operator_errors = _rows(
            conn, "SELECT code, count(*) FROM pipeline_errors WHERE code <> %s GROUP BY code",
            POISON_CODE,
        )  # fmt: skip

    ledger = {lead_id: (origin, at) for lead_id, origin, _, at in imported}
    rejected_codes: dict[str, set[str]] = {}
    for lead_id, code in rejected:
        rejected_codes.setdefault(lead_id, set()).add(code)
    verdict.imported = len(ledger)
    verdict.imported_by_origin = Counter(origin for origin, _ in ledger.values())
    verdict.contacts = int(contacts[0][0])
    verdict.rejected_leads = len(rejected_codes)
    verdict.rejection_codes = Counter(c for codes in rejected_codes.values() for c in codes)
    verdict.poison_logged = int(poison[0][0])

    verdict.lost = sorted(expected - set(ledger) - set(rejected_codes))
    both = sorted(set(ledger) & set(rejected_codes))
    verdict.duplicated = (
        [f"submission rows of lead {lead}: {n}" for lead, n in submissions]
        + [f"created events of contact {contact}: {n}" for contact, n in created]
        + [f"lead {lead} imported and rejected" for lead in both]
    )
    verdict.phantom = [f"lead {lead}" for lead in sorted(set(ledger) - expected)] + [
        f"contact {row[0]}" for row in unnamed
    ]
    verdict.misrouted = [
        f"lead {lead}: {sorted(codes & PIPELINE_FAILURES)}"
        for lead, codes in sorted(rejected_codes.items())
        if codes & PIPELINE_FAILURES
    ]
    logged = Counter({code: int(n) for code, n in other_operator_errors})
    verdict.misrouted += [
        f"operator error log: {logged[code]} x {code}, expected {operator_errors[code]}"
        for code in sorted(set(logged) | set(operator_errors))
        if logged[code] != operator_errors[code]
    ]

    pushed = {
        lead: at.timestamp() - sandbox.submitted_ms[lead] / 1000
        for lead, (origin, at) in ledger.items()
        if origin == "push" and lead in sandbox.submitted_ms
    }
    verdict.push_latency_s = sorted(pushed.values())
    committed = {lead: at.timestamp() for lead, (origin, at) in ledger.items() if origin == "push"}
    for fault in faults:
        verdict.recovery_s[fault.name] = _recovery(fault, sandbox.submitted_ms, committed)
    return verdict


def _recovery(
    fault: FaultWindow, submitted_ms: dict[str, int], committed: dict[str, float]
) -> float | None:
    """The slowest of the leads pushed (and delivered) in the ``RECOVERY_PROBE_S`` seconds
    after the fault's end, from submission to commit: how long the pipeline took to flow
    again for all partitions. None when none was pushed then."""
    probe = [
        committed[lead] - ms / 1000
        for lead, ms in submitted_ms.items()
        if lead in committed and fault.ended <= ms / 1000 < fault.ended + RECOVERY_PROBE_S
    ]
    return max(probe) if probe else None


def _rows(conn: psycopg.Connection[Any], sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()
