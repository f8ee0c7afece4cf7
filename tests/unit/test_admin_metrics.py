"""The connections' lifetime as Prometheus reads it: bounded labels, the first end first."""

from __future__ import annotations

from datetime import UTC, datetime

from admin.metrics_routes import render
from sinks.token_expiry import ConnectionLifetime

DAY = 86400.0


def _connection(n: int, status: str, seconds_left: float | None) -> ConnectionLifetime:
    return ConnectionLifetime(
        account_id=n, connection_id=n, member_urn=f"urn:li:person:{n}", member_name=None,
        status=status, status_reason=None, expires_at=datetime(2027, 1, 1, tzinfo=UTC),
        ends_with="refresh_token", seconds_left=seconds_left,
    )  # fmt: skip


def _samples(text: bytes) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.decode().splitlines()
        if line and not line.startswith("#")
    }


def test_the_first_end_and_the_connections_ending_within_each_threshold() -> None:
    samples = _samples(
        render(
            [
                _connection(1, "active", 20 * DAY),
                _connection(2, "active", 5 * DAY),
                _connection(3, "active", 0.5 * DAY),
                _connection(4, "active", 200 * DAY),
                _connection(5, "revoked", 1 * DAY),  # refused already: not "ending"
                _connection(6, "expired", -3 * DAY),
            ]
        )
    )
    assert samples["leadsync_linkedin_token_first_end_seconds"] == 0.5 * DAY
    assert samples['leadsync_linkedin_connections_ending{within_days="30"}'] == 3
    assert samples['leadsync_linkedin_connections_ending{within_days="7"}'] == 2
    assert samples['leadsync_linkedin_connections_ending{within_days="1"}'] == 1
    assert samples['leadsync_linkedin_connections{status="active"}'] == 4
    assert samples['leadsync_linkedin_connections{status="revoked"}'] == 1
    assert samples['leadsync_linkedin_connections{status="expired"}'] == 1
    # No account, connection or member in any label.
    assert "urn:li:person" not in render([_connection(1, "active", DAY)]).decode()


def test_without_active_connections_the_first_end_is_absent() -> None:
    samples = _samples(render([_connection(1, "revoked", None)]))
    assert "leadsync_linkedin_token_first_end_seconds" not in samples
    assert samples['leadsync_linkedin_connections_ending{within_days="30"}'] == 0
