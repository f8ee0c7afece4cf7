"""Reconciliation through the whole pipeline: LinkedIn (the sandbox) drops and duplicates
push notifications, the scheduled pull fills in, and ``GET
/api/forms/{id}/reconciliation`` says, per day, how many leads LinkedIn holds, how many came
by push, how many only the pull found, and how many duplicate pushes were absorbed: exactly
what the sandbox's own log of pushes says."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from harness.processes import Ingress, Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from tests.e2e.conftest import wait_for_runs
from tests.e2e.test_push import (
    _create_leads,
    _pushes,
    _settle,
    connect,
    for_account,
    ingress,
    push_settings,
)
from tests.integration.admin_client import AccountWithToken, admin_client, new_account

__all__ = ["ingress", "push_settings"]  # the fixtures shared with the push tests

FORM = 7767641  # a sponsored form of the sandbox (seed 7)


@pytest.fixture(scope="module")
async def account(push_settings: Settings, sandbox: Sandbox, ingress: Ingress) -> AccountWithToken:
    """An account of its own, connected, the form's Import on and its owner subscribed."""
    made = await new_account(push_settings, "reconcile")
    settings = for_account(push_settings, made.name)
    connect(settings, sandbox)
    leadsync(settings, "forms", "import", str(FORM), "on")
    assert f"-> {push_settings.ingress_public_url}" in leadsync(settings, "subscribe")
    return made


def _day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


async def test_the_figures_match_what_linkedin_pushed_and_holds(
    push_settings: Settings, sandbox: Sandbox, account: AccountWithToken, worker: Worker
) -> None:
    settings = for_account(push_settings, account.name)
    faults = {"drop_rate": 0.2, "duplicate_rate": 0.2}
    sandbox.control.patch("/config", json={"push_faults": faults}).raise_for_status()
    try:
        created = _create_leads(sandbox, FORM, 300, rate=500)
    finally:
        sandbox.control.patch(
            "/config", json={"push_faults": {"drop_rate": 0, "duplicate_rate": 0}}
        ).raise_for_status()
    pushes = [p for p in _pushes(sandbox, created) if p["status"] == 200]
    delivered = Counter(p["lead_id"] for p in pushes)
    lost = created - set(delivered)
    assert 20 < len(lost) < 100, f"about 20 % dropped: {len(lost)}"
    assert 20 < sum(1 for n in delivered.values() if n > 1) < 100, "about 20 % duplicated"
    _settle(worker)
    # LinkedIn delivers some again, long after: the leads are in the ledger by now.
    again = {p["lead_id"]: p for p in pushes}
    for push in [again[lead_id] for lead_id in sorted(again)[:10]]:
        _deliver_again(push)
        delivered[push["lead_id"]] += 1
    _settle(worker)

    # Before any pull: what the push brought, and nothing known of LinkedIn's side yet.
    days = {lead.id: _day(lead.submitted_at) for lead in sandbox.state.store.all()}
    async with admin_client(settings, token=account.token) as api:
        before = await api.get(f"/api/forms/{FORM}/reconciliation", params={"days": 2})
    assert before.status_code == 200, before.text
    assert _busy(before.json()["days"]) == _expected(days, set(), delivered)

    with Scheduler(settings) as scheduler:
        (run,) = wait_for_runs(settings, {FORM}, 1, scheduler=scheduler)
        assert run[1] == "succeeded", run
        _settle(worker)
    async with admin_client(settings, token=account.token) as api:
        after = await api.get(f"/api/forms/{FORM}/reconciliation", params={"days": 2})
    expected = _expected(days, created, delivered)
    assert _busy(after.json()["days"]) == expected
    total = {k: sum(row[k] for row in expected.values()) for k in next(iter(expected.values()))}
    assert total == {
        "on_linkedin": 300,
        "by_push": 300 - len(lost),
        "only_by_pull": len(lost),
        "duplicates": sum(n - 1 for n in delivered.values()),
    }


def _deliver_again(push: dict[str, Any]) -> None:
    """Post a notification LinkedIn sent before to the receiver again, as it sent it."""
    answer = httpx.post(
        push["webhook"],
        content=push["body"].encode(),
        headers={"Content-Type": "application/json", "X-LI-Signature": push["signature"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def _busy(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The days with any lead, by day."""
    return {
        str(row["day"]): {k: v for k, v in row.items() if k != "day"}
        for row in rows
        if row["on_linkedin"] or row["by_push"]
    }


def _expected(
    days: dict[str, date], pulled: set[str], delivered: Counter[str]
) -> dict[str, dict[str, int]]:
    per_day: dict[str, dict[str, int]] = {}
    for lead_id in pulled | set(delivered):
        row = per_day.setdefault(
            days[lead_id].isoformat(),
            {"on_linkedin": 0, "by_push": 0, "only_by_pull": 0, "duplicates": 0},
        )
        pushes = delivered.get(lead_id, 0)
        row["on_linkedin"] += lead_id in pulled
        row["by_push"] += pushes > 0
        row["only_by_pull"] += lead_id in pulled and not pushes
        row["duplicates"] += max(pushes - 1, 0)
    return per_day
