"""Rest.li 2.0 encoding, unit by unit, against the examples of linkedin-lead-sync.md."""

from __future__ import annotations

import pytest

from linkedin import LEAD_FIELDS, LeadType, Owner, restli


def test_owner_union_keeps_structure_literal_and_encodes_the_urn() -> None:
    owner = Owner.sponsored_account(123)
    assert owner.to_restli() == "(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123)"
    assert Owner.organization("urn:li:organization:55").to_restli() == (
        "(organization:urn%3Ali%3Aorganization%3A55)"
    )


def test_owner_accepts_id_or_urn_and_rejects_the_wrong_kind() -> None:
    assert Owner.sponsored_account("urn:li:sponsoredAccount:9") == Owner.sponsored_account(9)
    assert Owner.organization(" 42 ").urn == "urn:li:organization:42"
    with pytest.raises(ValueError, match="sponsoredAccount"):
        Owner.sponsored_account("urn:li:organization:9")
    with pytest.raises(ValueError, match="URN"):
        Owner("organization", "not-a-urn")
    with pytest.raises(ValueError, match="kind"):
        Owner("person", "urn:li:person:1")  # type: ignore[arg-type]  # the point of the test


def test_owner_json_round_trip() -> None:
    owner = Owner.organization(7)
    assert owner.to_json() == {"organization": "urn:li:organization:7"}
    assert Owner.from_json(owner.to_json()) == owner
    assert Owner.from_json({"sponsoredAccount": "urn:li:sponsoredAccount:1"}).kind == (
        "sponsoredAccount"
    )
    with pytest.raises(ValueError, match="exactly one"):
        Owner.from_json({})
    with pytest.raises(ValueError, match="unknown"):
        Owner.from_json({"person": "urn:li:person:1"})


def test_whole_urn_value_is_fully_encoded_parentheses_and_comma_included() -> None:
    urn = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)"
    assert restli.encode(urn) == (
        "urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A7234246%2C1%29"
    )


def test_normalize_urn_drops_whitespace() -> None:
    assert restli.normalize_urn(" urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7, 1)\n") == (
        "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7,1)"
    )


def test_encode_leaves_only_unreserved_characters() -> None:
    assert restli.encode("a-b_c.d~e") == "a-b_c.d~e"
    assert restli.encode("a b/c?d&e=f'g") == "a%20b%2Fc%3Fd%26e%3Df%27g"


def test_time_range_sends_both_bounds() -> None:
    assert restli.time_range(1689894599288, 1689894600000) == (
        "(start:1689894599288,end:1689894600000)"
    )
    assert restli.time_range(5, 5) == "(start:5,end:5)"


@pytest.mark.parametrize(
    ("start", "end"),
    [(2, 1), (-1, 5), (1.5, 2), (True, 3)],
    ids=["reversed", "neg", "float", "bool"],
)
def test_time_range_rejects_nonsense(start: object, end: object) -> None:
    with pytest.raises(ValueError, match=r"time range|epoch milliseconds"):
        restli.time_range(start, end)  # type: ignore[arg-type]  # deliberately wrong types


@pytest.mark.parametrize("lead_type", list(LeadType))
def test_lead_type_param(lead_type: LeadType) -> None:
    assert restli.lead_type_param(lead_type) == f"(leadType:{lead_type.value})"
    assert restli.lead_type_param(lead_type.value) == f"(leadType:{lead_type.value})"


def test_unknown_lead_type_is_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="JOB"):
        restli.lead_type_param("JOB")


def test_projection_is_the_reference_one_plus_the_urn_fields() -> None:
    assert LEAD_FIELDS == (
        "ownerInfo,associatedEntityInfo,leadMetadataInfo,owner,leadType,versionedLeadGenFormUrn,"
        "id,submittedAt,testLead,formResponse,form:(hiddenFields,creationLocale,name,id,content)"
        ",leadMetadata,associatedEntity,submitter"
    )


def test_query_joins_pre_encoded_values_and_lowercases_booleans() -> None:
    assert restli.query(("q", "owner"), ("limitedToTestLeads", False), ("count", 10)) == (
        "q=owner&limitedToTestLeads=false&count=10"
    )
    assert restli.query(("x", True)) == "x=true"


def test_path_key() -> None:
    assert restli.path_key(7234246) == "7234246"
    assert restli.path_key("249592fc-d272-44ba-a7db-c2bdce579507-6") == (
        "249592fc-d272-44ba-a7db-c2bdce579507-6"
    )
    assert restli.path_key("urn:li:x:(a,1)") == "urn%3Ali%3Ax%3A%28a%2C1%29"
    with pytest.raises(ValueError, match="empty"):
        restli.path_key("")
    with pytest.raises(TypeError):
        restli.path_key(True)
