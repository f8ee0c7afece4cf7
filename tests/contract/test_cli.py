"""Contract: ``leadsync sandbox`` sub-commands drive a running sandbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import typer
from typer.testing import CliRunner

from sandbox.cli import app
from sandbox.control_cli import parse_duration
from tests.contract.conftest import Sandbox, leads_query


def _run(sandbox: Sandbox, *args: str) -> str:
    result = CliRunner().invoke(app, ["--url", sandbox.url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_create_show_and_delete_leads_from_the_command_line(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    output = _run(sandbox, "leads", "create", "3", "--form", "7234246", "--test")
    assert output.startswith("created 3 lead(s)")
    lead_ids = [line.strip() for line in output.splitlines()[1:]]
    token = sandbox.token()
    tests = sandbox.rest("GET", leads_query(limitedToTestLeads="true"), token).json()
    assert sorted(e["id"] for e in tests["elements"]) == sorted(lead_ids)
    assert '"formResponse"' in _run(sandbox, "leads", "show", lead_ids[0])
    assert _run(sandbox, "leads", "delete", lead_ids[0]).strip() == f"deleted {lead_ids[0]}"
    assert sandbox.rest("GET", f"leadFormResponses/{lead_ids[0]}", token).status_code == 404


def test_leads_at_a_rate_and_preload(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    _run(sandbox, "leads", "create", "4", "--rate", "20")
    assert "created 50 lead(s); 54 in all" in _run(sandbox, "leads", "preload", "50")


def test_config_clock_and_tokens(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    token = sandbox.token()
    assert '"error_rate": 1.0' in _run(sandbox, "config", "set", "faults.error_rate=1.0")
    assert sandbox.rest("GET", leads_query(), token).status_code in (500, 504)
    _run(sandbox, "config", "set", "faults.error_rate=0")
    assert "revoked 1 grant(s)" in _run(sandbox, "tokens", "revoke")
    assert sandbox.rest("GET", leads_query(), token).status_code == 401
    before = sandbox.control("GET", "/status")["now"]
    _run(sandbox, "clock", "advance", "2h")
    assert sandbox.control("GET", "/status")["now"] - before >= 2 * 3600 * 1000


def test_unreachable_sandbox_is_reported() -> None:
    result = CliRunner().invoke(app, ["--url", "http://127.0.0.1:9", "status"])
    assert result.exit_code == 1
    assert "cannot reach the sandbox" in result.output


def test_durations() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("2h") == 7200
    assert parse_duration("1.5d") == 129_600
    with pytest.raises(typer.BadParameter):
        parse_duration("2 weeks")
