"""The status indicator's four colours and their reasons (admin.status)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin.status import FormHealth, form_status

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
STALE = timedelta(hours=72)


def _health(**changes: object) -> FormHealth:
    values: dict[str, object] = {
        "import_enabled": True,
        "import_enabled_at": NOW - timedelta(days=30),
        "last_imported_at": NOW - timedelta(hours=1),
        "connection_status": "active",
        "connection_reason": None,
    }
    values.update(changes)
    return FormHealth(**values)  # type: ignore[arg-type]  # test values by field name


def test_enabled_and_importing_is_green() -> None:
    status = form_status(_health(), NOW, STALE)
    assert (status.color, status.reason) == ("green", "Import is on and working.")


def test_enabled_waiting_for_its_first_lead_is_green_until_the_threshold() -> None:
    fresh = _health(import_enabled_at=NOW - timedelta(hours=2), last_imported_at=None)
    status = form_status(fresh, NOW, STALE)
    assert (status.color, status.reason) == ("green", "Import is on; waiting for the first lead.")
    old = _health(import_enabled_at=NOW - timedelta(hours=100), last_imported_at=None)
    status = form_status(old, NOW, STALE)
    assert status.color == "yellow"
    assert status.reason == "No contact imported yet for 4 days 4 hours (threshold 3 days)."


def test_disabled_is_grey_even_with_a_broken_connection() -> None:
    status = form_status(_health(import_enabled=False), NOW, STALE)
    assert (status.color, status.reason) == (
        "grey",
        "Import is off for this form: nothing is imported.",
    )
    revoked = _health(import_enabled=False, connection_status="revoked")
    status = form_status(revoked, NOW, STALE)
    assert (status.color, status.reason) == (
        "grey",
        "Import is off for this form: nothing is imported."
        " Note: The LinkedIn connection behind this form is revoked.",
    )


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_enabled_with_a_broken_connection_is_red(state: str) -> None:
    health = _health(connection_status=state, connection_reason="refresh token expired")
    status = form_status(health, NOW, STALE)
    assert (status.color, status.reason) == (
        "red",
        f"The LinkedIn connection behind this form is {state} (refresh token expired)."
        " Reconnect LinkedIn to resume the periodic sync.",
    )


def test_red_wins_over_yellow() -> None:
    health = _health(connection_status="expired", last_imported_at=NOW - timedelta(days=9))
    assert form_status(health, NOW, STALE).color == "red"


def test_the_threshold_itself_is_still_green() -> None:
    assert form_status(_health(last_imported_at=NOW - STALE), NOW, STALE).color == "green"
    later = _health(last_imported_at=NOW - STALE - timedelta(seconds=1))
    status = form_status(later, NOW, STALE)
    assert status.color == "yellow"
    assert status.reason == "No contact imported for 3 days (threshold 3 days)."


def test_a_form_without_a_connection_is_not_red() -> None:
    status = form_status(_health(connection_status=None), NOW, STALE)
    assert (status.color, status.reason) == ("green", "Import is on and working.")
