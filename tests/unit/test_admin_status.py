"""The status indicator's four colours and their reasons (English for the API, phrases for
the console to translate), the refresh token's warnings and the retention warning
(admin.status)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin.status import (
    FormHealth,
    RetentionFacts,
    english,
    form_status,
    retention_days,
    retention_warning,
    token_warning,
)

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


# -- the connection's refresh token (LinkedIn ends it a year after the member connected) --

EXPIRES = NOW + timedelta(days=20, hours=3)


@pytest.mark.parametrize(
    ("left", "warning", "in_words"),
    [
        (timedelta(days=30), 30, "30 days"),
        (timedelta(days=20, hours=3), 30, "20 days 3 hours"),
        (timedelta(days=7), 7, "7 days"),
        (timedelta(days=2), 7, "2 days"),
        (timedelta(hours=24), 1, "24 hours"),
        (timedelta(hours=5), 1, "5 hours"),
    ],
)
def test_a_refresh_token_ending_soon_turns_yellow_and_names_its_warning(
    left: timedelta, warning: int, in_words: str
) -> None:
    expires = NOW + left
    status = form_status(_health(refresh_expires_at=expires), NOW, STALE)
    assert status.color == "yellow"
    assert status.reason == (
        f"The LinkedIn connection's refresh token expires on {expires:%Y-%m-%d %H:%M} UTC"
        f" (in {in_words}; the {warning}-day warning): reconnect LinkedIn before then."
    )
    assert token_warning(expires, NOW) == warning


def test_a_refresh_token_further_than_30_days_is_green() -> None:
    later = _health(refresh_expires_at=NOW + timedelta(days=30, seconds=1))
    assert form_status(later, NOW, STALE) == form_status(_health(), NOW, STALE)
    assert form_status(later, NOW, STALE).color == "green"
    assert token_warning(NOW + timedelta(days=30, seconds=1), NOW) is None


def test_an_ended_refresh_token_is_red_even_while_the_connection_looks_active() -> None:
    ended = NOW - timedelta(hours=1)
    status = form_status(_health(refresh_expires_at=ended), NOW, STALE)
    assert (status.color, status.reason) == (
        "red",
        "The LinkedIn connection's refresh token expired on 2026-11-27 11:00 UTC: nothing can"
        " be pulled or fetched. Reconnect LinkedIn to resume the periodic sync.",
    )
    at_the_second = form_status(_health(refresh_expires_at=NOW), NOW, STALE)
    assert at_the_second.color == "red"


def test_a_token_warning_and_a_stale_form_say_both() -> None:
    health = _health(refresh_expires_at=EXPIRES, last_imported_at=NOW - timedelta(days=4))
    status = form_status(health, NOW, STALE)
    assert status.color == "yellow"
    assert status.reason == (
        "The LinkedIn connection's refresh token expires on 2026-12-17 15:00 UTC"
        " (in 20 days 3 hours; the 30-day warning): reconnect LinkedIn before then."
        " No contact imported for 4 days (threshold 3 days)."
    )


def test_import_off_stays_grey_whatever_the_token() -> None:
    health = _health(import_enabled=False, refresh_expires_at=NOW - timedelta(days=1))
    assert form_status(health, NOW, STALE).color == "grey"


# -- retention: leads LinkedIn deletes before leadsync imports them ------------------------

SPONSORED = "urn:li:sponsoredAccount:1234567"
ORGANIZATION = "urn:li:organization:2414183"


def _facts(**changes: object) -> RetentionFacts:
    values: dict[str, object] = {
        "import_enabled": True,
        "import_enabled_at": NOW - timedelta(days=10),
        "created_on_linkedin": None,
        "oldest_skipped_at": None,
        "backfilled": False,
        "watermark": NOW - timedelta(hours=2),
        "owner_urn": SPONSORED,
        "lead_type": None,
        "connection_status": "active",
        "refresh_expires_at": NOW + timedelta(days=200),
        "sync_failures": 0,
        "sync_retry_at": None,
    }
    values.update(changes)
    return RetentionFacts(**values)  # type: ignore[arg-type]  # test values by field name


def test_sponsored_leads_are_kept_90_days_others_as_the_setting_says() -> None:
    assert retention_days(None, SPONSORED, 365) == 90
    assert retention_days("SPONSORED", None, 365) == 90
    assert retention_days(None, ORGANIZATION, 365) == 365
    assert retention_days("COMPANY", SPONSORED, 365) == 365
    assert retention_days(None, SPONSORED, 30) == 30


def test_a_form_working_normally_has_no_retention_warning() -> None:
    assert retention_warning(_facts(), NOW, 365) is None
    # Created on LinkedIn after Import went on: nothing older to lose.
    assert retention_warning(_facts(created_on_linkedin=NOW - timedelta(days=5)), NOW, 365) is None


def test_a_form_switched_on_with_older_submissions_is_flagged_with_the_loss_date() -> None:
    created = NOW - timedelta(days=40)
    warning = retention_warning(_facts(created_on_linkedin=created), NOW, 365)
    assert warning is not None
    assert warning.cause == "older_submissions"
    assert warning.leads_lost_from == created + timedelta(days=90)
    assert warning.reason == (
        "Submissions older than 2026-11-17 12:00 UTC (when Import went on) are not imported,"
        " and LinkedIn deletes them after 90 days: they are lost from 2027-01-16 12:00 UTC."
        " Start a manual import with all submissions."
    )
    # An organic form's leads stay as long as the setting says.
    organic = retention_warning(
        _facts(created_on_linkedin=created, owner_urn=ORGANIZATION), NOW, 365
    )
    assert organic is not None
    assert organic.leads_lost_from == created + timedelta(days=365)


def test_a_pushed_lead_skipped_while_import_was_off_is_evidence_enough() -> None:
    skipped = NOW - timedelta(days=85)
    warning = retention_warning(_facts(oldest_skipped_at=skipped), NOW, 365)
    assert warning is not None
    assert (warning.cause, warning.leads_lost_from) == (
        "older_submissions",
        skipped + timedelta(days=90),
    )


def test_the_loss_already_begun_says_since() -> None:
    created = NOW - timedelta(days=120)
    warning = retention_warning(_facts(created_on_linkedin=created), NOW, 365)
    assert warning is not None
    assert warning.leads_lost_from == created + timedelta(days=90)
    assert "they are lost since 2026-10-28 12:00 UTC." in warning.reason


def test_a_manual_import_of_all_submissions_clears_the_older_submissions_warning() -> None:
    facts = _facts(created_on_linkedin=NOW - timedelta(days=40), backfilled=True)
    assert retention_warning(facts, NOW, 365) is None


def test_import_switched_on_longer_ago_than_the_retention_has_nothing_left_to_lose() -> None:
    facts = _facts(
        import_enabled_at=NOW - timedelta(days=91), created_on_linkedin=NOW - timedelta(days=200)
    )
    assert retention_warning(facts, NOW, 365) is None


def test_import_off_is_never_flagged() -> None:
    facts = _facts(import_enabled=False, created_on_linkedin=NOW - timedelta(days=40))
    assert retention_warning(facts, NOW, 365) is None


@pytest.mark.parametrize(
    "broken",
    [
        {"connection_status": "revoked"},
        {"connection_status": "expired"},
        {"refresh_expires_at": NOW - timedelta(days=1)},
    ],
)
def test_a_broken_connection_flags_the_leads_since_the_last_pull(broken: dict[str, object]) -> None:
    watermark = NOW - timedelta(days=70)
    warning = retention_warning(_facts(watermark=watermark, **broken), NOW, 365)
    assert warning is not None
    assert warning.cause == "pulls_blocked"
    assert warning.leads_lost_from == watermark + timedelta(days=90)
    assert warning.reason == (
        "No pull since 2026-09-18 12:00 UTC (the LinkedIn connection is broken) and LinkedIn"
        " deletes leads after 90 days: the leads since then are lost from 2026-12-17 12:00 UTC."
        " Reconnect LinkedIn."
    )


def test_failing_pulls_are_flagged_only_when_leads_age_out_before_the_next_attempt() -> None:
    watermark = NOW - timedelta(days=89, hours=23)
    soon = _facts(watermark=watermark, sync_failures=3, sync_retry_at=NOW + timedelta(hours=2))
    warning = retention_warning(soon, NOW, 365)
    assert warning is not None
    assert (warning.cause, warning.leads_lost_from) == (
        "pulls_blocked",
        watermark + timedelta(days=90),
    )
    assert "(the scheduled pulls fail)" in warning.reason
    later = _facts(
        watermark=NOW - timedelta(days=3), sync_failures=3, sync_retry_at=NOW + timedelta(hours=2)
    )
    assert retention_warning(later, NOW, 365) is None


def test_the_earliest_of_two_losses_is_shown() -> None:
    facts = _facts(
        created_on_linkedin=NOW - timedelta(days=60),
        watermark=NOW - timedelta(days=50),
        connection_status="revoked",
    )
    warning = retention_warning(facts, NOW, 365)
    assert warning is not None
    assert (warning.cause, warning.leads_lost_from) == (
        "older_submissions",
        NOW + timedelta(days=30),
    )


# -- the reason's phrases: English for the API, translated by the console ---------------------


def test_the_reason_is_phrases_whose_dates_and_durations_stay_apart_for_a_translation() -> None:
    health = _health(refresh_expires_at=EXPIRES, last_imported_at=NOW - timedelta(days=4))
    status = form_status(health, NOW, STALE)

    def marked(text: str, **params: object) -> str:
        """Each text the console would look up in its catalog, between guillemets."""
        return f"«{english(text, **params)}»"

    assert status.reason == status.text(english)
    assert status.text(marked) == (
        "«The LinkedIn connection's refresh token expires on 2026-12-17 15:00 UTC"
        " (in ««20 days» «3 hours»»; «the 30-day warning»): reconnect LinkedIn before then.»"
        " «No contact imported for «4 days» (threshold «3 days»).»"
    )


def test_a_connection_s_recorded_reason_is_looked_up_as_it_is_and_never_formatted() -> None:
    health = _health(connection_status="revoked", connection_reason="refused {grant}")
    status = form_status(health, NOW, STALE)
    looked_up: list[str] = []

    def recording(text: str, **params: object) -> str:
        looked_up.append(text)
        return english(text, **params)

    assert (
        status.text(recording)
        == status.reason
        == (
            "The LinkedIn connection behind this form is revoked (refused {grant})."
            " Reconnect LinkedIn to resume the periodic sync."
        )
    )
    assert "refused {grant}" in looked_up
