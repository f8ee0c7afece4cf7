"""The checks every /rest call must pass: version, protocol header."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.errors import RestliError
from sandbox.guard import check_protocol, check_version, live_versions

NOV_2026 = int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp() * 1000)


def _refusal(value: str | None) -> RestliError:
    with pytest.raises(RestliError) as caught:
        check_version(value, NOV_2026, 12)
    return caught.value


def test_live_window_is_the_last_twelve_months() -> None:
    assert live_versions(NOV_2026, 12) == ("202511", "202611")


@pytest.mark.parametrize("value", ["202611", "202511", "202606", "202611.01", " 202610 "])
def test_live_versions_pass(value: str) -> None:
    check_version(value, NOV_2026, 12)


def test_missing_version_is_400() -> None:
    for value in (None, ""):
        error = _refusal(value)
        assert error.status == 400
        assert "version must be present" in error.message


@pytest.mark.parametrize("value", ["202510", "202301", "202612", "202701"])
def test_sunset_or_unreleased_version_is_426(value: str) -> None:
    error = _refusal(value)
    assert error.status == 426
    assert error.body() == {
        "message": f"Requested version {value} is not active (live versions: 202511 to 202611)",
        "serviceErrorCode": 4261,
        "status": 426,
    }


@pytest.mark.parametrize("value", ["2026-11", "20261", "v202611", "202613", "202600", "latest"])
def test_malformed_version_is_426(value: str) -> None:
    assert _refusal(value).status == 426


def test_version_window_follows_the_clock() -> None:
    a_year_later = NOV_2026 + 365 * 86_400_000
    with pytest.raises(RestliError):
        check_version("202611", a_year_later + 31 * 86_400_000, 12)
    check_version("202611", a_year_later, 12)


@pytest.mark.parametrize("value", [None, "", "1.0.0", "2.0", "2.0.0 "])
def test_protocol_header_must_be_2_0_0(value: str | None) -> None:
    with pytest.raises(RestliError) as caught:
        check_protocol(value)
    assert caught.value.status == 400
    assert set(caught.value.body()) == {"message", "serviceErrorCode", "status"}


def test_protocol_2_0_0_passes() -> None:
    check_protocol("2.0.0")
