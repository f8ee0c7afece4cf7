"""Rest.li 2.0 parsing from raw query bytes: what LinkedIn accepts and what it refuses."""

from __future__ import annotations

import pytest

from sandbox.restli import (
    FieldSpec,
    RestliSyntaxError,
    parse_bool,
    parse_int,
    parse_leaf,
    parse_projection,
    parse_structured,
    split_query,
)

OWNER = "(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123)"


def test_owner_with_literal_delimiters_and_encoded_urn_parses() -> None:
    assert parse_structured("owner", OWNER) == {"sponsoredAccount": "urn:li:sponsoredAccount:123"}


def test_nested_value_as_in_lead_notification_criteria() -> None:
    raw = "(value:(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123))"
    assert parse_structured("owner", raw) == {
        "value": {"sponsoredAccount": "urn:li:sponsoredAccount:123"}
    }


def test_time_range_and_list() -> None:
    assert parse_structured("r", "(start:1,end:2)") == {"start": "1", "end": "2"}
    assert parse_structured("l", "List(a,b%2Cc)") == ["a", "b,c"]


@pytest.mark.parametrize(
    "raw",
    [
        # everything encoded, as a generic HTTP client does it
        "%28sponsoredAccount%3Aurn%3Ali%3AsponsoredAccount%3A123%29",
        # lower-case escapes are the same thing
        "%28sponsoredAccount%3aurn%3ali%3asponsoredAccount%3a123%29",
        # the colon after the key encoded
        "(sponsoredAccount%3Aurn%3Ali%3AsponsoredAccount%3A123)",
        # the closing parenthesis encoded
        "(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123%29",
        # the URN left unencoded
        "(sponsoredAccount:urn:li:sponsoredAccount:123)",
        # double-encoded
        "%2528sponsoredAccount%253Aurn%29",
    ],
)
def test_over_or_under_encoded_owner_is_refused(raw: str) -> None:
    with pytest.raises(RestliSyntaxError, match="owner"):
        parse_structured("owner", raw)


def test_encoded_comma_between_fields_is_refused() -> None:
    with pytest.raises(RestliSyntaxError, match="submittedAtTimeRange"):
        parse_structured("submittedAtTimeRange", "(start:1%2Cend:2)")


def test_unencoded_urn_message_says_what_to_do() -> None:
    with pytest.raises(RestliSyntaxError, match="percent-encoded"):
        parse_structured("owner", "(sponsoredAccount:urn:li:sponsoredAccount:123)")


@pytest.mark.parametrize("raw", ["(a:1", "(a:1))", "(:1)", "(a:)", "()x", ""])
def test_malformed_structure_is_refused(raw: str) -> None:
    with pytest.raises(RestliSyntaxError):
        parse_structured("p", raw)


def test_whole_value_urn_must_be_fully_encoded() -> None:
    encoded = "urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A7%2C1%29"
    assert parse_leaf("v", encoded) == "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7,1)"
    for raw in (
        "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7,1)",
        "urn%3Ali%3AversionedLeadGenForm%3A(urn%3Ali%3AleadGenForm%3A7%2C1)",
    ):
        with pytest.raises(RestliSyntaxError, match="fully"):
            parse_leaf("v", raw)


def test_split_query_keeps_values_encoded_and_refuses_duplicates() -> None:
    assert split_query(b"q=owner&owner=" + OWNER.encode() + b"&count=10") == {
        "q": "owner",
        "owner": OWNER,
        "count": "10",
    }
    with pytest.raises(RestliSyntaxError, match="twice"):
        split_query(b"start=0&start=10")
    with pytest.raises(RestliSyntaxError, match="without a name"):
        split_query(b"=3")
    with pytest.raises(RestliSyntaxError, match="ASCII"):
        split_query("q=é".encode())


def test_scalars() -> None:
    assert parse_int("count", "100") == 100
    assert parse_bool("t", "true") is True
    assert parse_bool("t", "false") is False
    for bad in ("-1", "1.5", "ten", ""):
        with pytest.raises(RestliSyntaxError):
            parse_int("count", bad)
    with pytest.raises(RestliSyntaxError):
        parse_bool("t", "True")


def test_projection_with_nested_fields() -> None:
    specs = parse_projection("id,formResponse,form:(hiddenFields,content:(questions))")
    assert specs == (
        FieldSpec("id"),
        FieldSpec("formResponse"),
        FieldSpec(
            "form",
            (FieldSpec("hiddenFields"), FieldSpec("content", (FieldSpec("questions"),))),
        ),
    )


@pytest.mark.parametrize(
    "raw", ["id%2Cform", "form%3A%28id%29", "id,,form", "form:(", "form:()", "id,"]
)
def test_bad_projection_is_refused(raw: str) -> None:
    with pytest.raises(RestliSyntaxError, match="fields"):
        parse_projection(raw)
