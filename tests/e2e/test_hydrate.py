"""Hydration when LinkedIn misbehaves: 429 and 5xx answers, an expired access token, and a
lead withdrawn between its notification and its fetch.

Real broker, database and sandbox; ``leadsync ingress`` and ``leadsync worker`` as
subprocesses. The forms, fixtures and checks are those of the push tests: one account
(``acme``) connected to the demo member, whose error log and connection the checks read.
"""

from __future__ import annotations

import re
import time

from harness.processes import Worker
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from tests.e2e.conftest import query
from tests.e2e.test_push import (
    DELETE_FORM,
    ONCE_FORM,
    TWICE_FORM,
    _assert_each_lead_once,
    _create_leads,
    _outcome,
    _pushes,
    _settle,
    account_id,
    account_rows,
    ingress,
    push_settings,
    subscribed,
)

__all__ = ["ingress", "push_settings", "subscribed"]  # fixtures shared with the push tests


def test_429_and_5xx_answers_are_waited_out_and_every_lead_comes_in(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    storm = {"faults": {"throttle_rate": 0.3, "error_rate": 0.2}}
    sandbox.control.patch("/config", json=storm).raise_for_status()
    try:
        created = _create_leads(sandbox, ONCE_FORM, 100, rate=100)
        _settle(worker)
    finally:
        calm = {"faults": {"throttle_rate": 0, "error_rate": 0}}
        sandbox.control.patch("/config", json=calm).raise_for_status()
    # Each lead once, none lost to a hydration failure (checked by code on the error log).
    _assert_each_lead_once(push_settings, ONCE_FORM, created)
    # The storm was real: LinkedIn's client was refused (429) and failed (5xx), and waited.
    log = worker.log_path.read_text(errors="replace")
    assert ": 429 on attempt" in log, worker.log_tail()
    assert re.search(r": 5\d\d on attempt \d+/\d+; retrying in", log), worker.log_tail()


def test_an_expired_access_token_is_refreshed_and_the_leads_come_in(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    token_ttl_s = sandbox.state.config.access_token_ttl_s
    connection = "SELECT access_token, status FROM linkedin_connections WHERE account_id = %s"
    before = account_rows(push_settings, connection)
    sandbox.control.post("/clock/advance", json={"seconds": token_ttl_s + 60}).raise_for_status()
    created = _create_leads(sandbox, TWICE_FORM, 20, rate=50)
    _settle(worker)
    _assert_each_lead_once(push_settings, TWICE_FORM, created)
    # Refreshed through the account's connection, and stored there.
    after = account_rows(push_settings, connection)
    assert [status for _, status in after] == ["active"]
    assert after[0][0] != before[0][0], "the access token should have been refreshed and stored"


def test_a_lead_withdrawn_before_its_fetch_is_in_the_error_log_and_nothing_else(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    # The CREATED notification is held back 5 s; meanwhile the lead is withdrawn and the
    # DELETED notification lost, so the hydrator asks LinkedIn for a lead it no longer has.
    held = {"push_faults": {"delay_rate": 1, "delay_ms": 5000}}
    sandbox.control.patch("/config", json=held).raise_for_status()
    before = sandbox.lead_ids({DELETE_FORM})
    job = sandbox.control.post("/leads", json={"count": 1, "rate": 50, "formId": DELETE_FORM})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 30
    while not (created := sandbox.lead_ids({DELETE_FORM}) - before):
        assert time.monotonic() < deadline, "the sandbox did not create the lead"
        time.sleep(0.05)
    (lead_id,) = created
    lost = {"push_faults": {"delay_rate": 0, "drop_rate": 1}}
    sandbox.control.patch("/config", json=lost).raise_for_status()
    sandbox.control.delete(f"/leads/{lead_id}").raise_for_status()
    sandbox.control.patch("/config", json={"push_faults": {"drop_rate": 0}}).raise_for_status()
    sandbox.control.post("/pushes/flush").raise_for_status()  # the held CREATED goes out
    pushes = {(p["action"], p["outcome"]) for p in _pushes(sandbox, created)}
    assert pushes == {("CREATED", "delivered"), ("DELETED", "dropped")}, pushes
    _settle(worker)

    imported, errors = _outcome(push_settings, DELETE_FORM)
    assert lead_id not in imported
    assert errors == {lead_id: "lead_not_found"}
    # In the error log of the account that connected the owner (and only there).
    line = query(
        push_settings,
        "SELECT account_id, stage, origin, message FROM error_log WHERE lead_id = %s",
        lead_id,
    )
    assert len(line) == 1
    account, stage, origin, message = line[0]
    assert account == account_id(push_settings)
    assert (stage, origin) == ("hydrate", "push")
    assert lead_id in message
    counted = account_rows(
        push_settings,
        "SELECT errors, linkedin_errors FROM form_counters WHERE account_id = %s AND form_id = %s",
        DELETE_FORM,
    )
    assert counted == [(0, 1)]  # a lead LinkedIn no longer has is LinkedIn's, not a mapping's


def test_a_revoked_connection_is_marked_and_its_leads_are_logged_for_the_next_pull(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    # Last in this module: the connection stays revoked.
    sandbox.control.post("/tokens/revoke", json={}).raise_for_status()
    created = _create_leads(sandbox, ONCE_FORM, 3, rate=50)
    _settle(worker)

    imported, errors = _outcome(push_settings, ONCE_FORM)
    assert not imported & created
    assert {lead_id: errors.get(lead_id) for lead_id in created} == dict.fromkeys(
        created, "connection_revoked"
    )
    # Each lead's error is the account's: its error log tells it to reconnect.
    logged = query(
        push_settings,
        "SELECT DISTINCT account_id FROM error_log WHERE lead_id = ANY(%s)",
        sorted(created),
    )
    assert logged == [(account_id(push_settings),)]
    ((status, reason),) = account_rows(
        push_settings,
        "SELECT status, status_reason FROM linkedin_connections WHERE account_id = %s",
    )
    assert status == "revoked"
    assert "reconnect" in reason
