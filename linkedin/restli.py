"""Rest.li 2.0 query encoding, built by hand because generic HTTP clients get it wrong.

In a finder parameter the structure stays literal and only the strings inside it are
percent-encoded: ``owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123)``. A URN given
as a whole parameter value or as a path key is encoded completely, parentheses and commas
included: ``urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A7%2C1%29``. httpx
would re-encode parts of the structure if handed ``params=``, so the client builds the query
string here and passes the finished URL; the tests compare the bytes sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import quote

# The projection a lead is fetched with, as LinkedIn's own Lead Sync collection writes it.
# Commas, colons and parentheses are Rest.li syntax here and must stay literal.
# The reference page's projection, plus the fields that carry the campaign and creative URNs
# and the submitter (a projection returns only what it names; the *Info fields hold names).
REFERENCE_LEAD_FIELDS = (
    "ownerInfo,associatedEntityInfo,leadMetadataInfo,owner,leadType,versionedLeadGenFormUrn,"
    "id,submittedAt,testLead,formResponse,form:(hiddenFields,creationLocale,name,id,content)"
)
LEAD_FIELDS = REFERENCE_LEAD_FIELDS + ",leadMetadata,associatedEntity,submitter"

_URN = re.compile(r"^urn:li:[A-Za-z]+:\S+$")


class LeadType(StrEnum):
    SPONSORED = "SPONSORED"
    COMPANY = "COMPANY"
    EVENT = "EVENT"
    ORGANIZATION_PRODUCT = "ORGANIZATION_PRODUCT"


OwnerKind = Literal["sponsoredAccount", "organization"]


@dataclass(frozen=True)
class Owner:
    """Who leads belong to: an ad account (sponsored leads) or an organization (organic)."""

    kind: OwnerKind
    urn: str

    def __post_init__(self) -> None:
        if self.kind not in ("sponsoredAccount", "organization"):
            raise ValueError(f"owner kind must be sponsoredAccount or organization: {self.kind}")
        if not _URN.match(self.urn):
            raise ValueError(f"not a LinkedIn URN: {self.urn!r}")

    @classmethod
    def sponsored_account(cls, account: int | str) -> Owner:
        """From an ad account id (``123``) or URN (``urn:li:sponsoredAccount:123``)."""
        return cls("sponsoredAccount", _as_urn("sponsoredAccount", account))

    @classmethod
    def organization(cls, organization: int | str) -> Owner:
        """From an organization id or URN (``urn:li:organization:123``)."""
        return cls("organization", _as_urn("organization", organization))

    @classmethod
    def from_urn(cls, urn: str) -> Owner:
        """From a URN of either kind, as stored on a form (``forms.owner_urn``)."""
        if ":organization:" in urn:
            return cls.organization(urn)
        return cls.sponsored_account(urn)

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Owner:
        """From the API's JSON union, e.g. ``{"sponsoredAccount": "urn:li:..."}``."""
        if len(value) != 1:
            raise ValueError(f"an owner has exactly one member: {value!r}")
        ((kind, urn),) = value.items()
        if kind == "sponsoredAccount":
            return cls("sponsoredAccount", urn)
        if kind == "organization":
            return cls("organization", urn)
        raise ValueError(f"unknown owner kind: {kind!r}")

    def to_json(self) -> dict[str, str]:
        return {self.kind: self.urn}

    def to_restli(self) -> str:
        """The union in finder syntax: ``(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A1)``."""
        return f"({self.kind}:{encode(self.urn)})"


def _as_urn(kind: str, value: int | str) -> str:
    text = str(value).strip()
    if text.isdigit():
        return f"urn:li:{kind}:{text}"
    if not text.startswith(f"urn:li:{kind}:"):
        raise ValueError(f"expected an id or urn:li:{kind}:<id>, got {text!r}")
    return text


def encode(value: str) -> str:
    """Percent-encode everything but unreserved characters (RFC 3986), as Rest.li 2.0 wants
    for a string inside a structure, a whole URN parameter value, or a path key."""
    return quote(value, safe="")


def normalize_urn(urn: str) -> str:
    """``urn`` without whitespace: LinkedIn has been seen to send ``(urn:..., 1)``."""
    return re.sub(r"\s+", "", urn)


def time_range(start_ms: int, end_ms: int) -> str:
    """``(start:<ms>,end:<ms>)``. Both bounds are always sent: omitting ``end`` is
    undocumented, and so is inclusiveness, which callers absorb by overlapping windows."""
    for name, bound in (("start_ms", start_ms), ("end_ms", end_ms)):
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
            raise ValueError(f"{name} must be a non-negative integer of epoch milliseconds")
    if start_ms > end_ms:
        raise ValueError(f"time range starts after it ends: {start_ms} > {end_ms}")
    return f"(start:{start_ms},end:{end_ms})"


def lead_type_param(lead_type: LeadType | str) -> str:
    return f"(leadType:{LeadType(lead_type).value})"


def query(*pairs: tuple[str, str | int | bool]) -> str:
    """Join name/value pairs whose values are already Rest.li-encoded; bools are lowercase."""
    parts = []
    for name, value in pairs:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{name}={text}")
    return "&".join(parts)


def path_key(value: int | str) -> str:
    """A resource key in a path: an integer as is, anything else fully encoded."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a resource key")
    text = str(value)
    if not text:
        raise ValueError("empty resource key")
    return encode(text)
