"""A lead as the sandbox holds it, and its JSON exactly as ``leadFormResponses`` returns it.

Serialising pages is the hot path of a backfill, so each lead caches the JSON bytes of the
last top-level projection it was rendered with (a backfill uses one projection throughout)
and a page is assembled by joining bytes. Projections into sub-fields take the general
path: build the dict, project it, serialise it.

Projections are strict, as Rest.li's are: ``fields=`` returns only the fields named. The
reference's example field list leaves out ``submitter``, ``leadMetadata`` and
``associatedEntity``; a client that needs the campaign or creative URN must ask for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.restli import FieldSpec


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON, the way every sandbox response body is written."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(slots=True)
class LeadRecord:
    """One submitted form. ``entity`` is (key, URN, name): a creative, or an event."""

    id: str
    owner_key: str
    owner_urn: str
    owner_name: str
    submitter: str
    lead_type: str
    form_urn: str
    submitted_at: int
    test_lead: bool
    campaign: tuple[str, str] | None
    entity: tuple[str, str, str] | None
    answers: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    # The JSON of the last projection asked for: a backfill asks for the same one every page.
    _cached_for: str | None = None
    _cached: bytes = b""

    def base(self) -> dict[str, Any]:
        """The fields LinkedIn returns when no projection is given."""
        return {
            "id": self.id,
            "owner": {self.owner_key: self.owner_urn},
            "submitter": self.submitter,
            "leadType": self.lead_type,
            "versionedLeadGenFormUrn": self.form_urn,
            "submittedAt": self.submitted_at,
            "testLead": self.test_lead,
            "leadMetadata": (
                {"sponsoredLeadMetadata": {"campaign": self.campaign[0]}} if self.campaign else {}
            ),
            "associatedEntity": {self.entity[0]: self.entity[1]} if self.entity else {},
            "formResponse": {"answers": self.answers, "consentResponses": self.consents},
        }

    def info(self) -> dict[str, Any]:
        """The display-name decorations, only returned when projected."""
        info: dict[str, Any] = {"ownerInfo": {f"{self.owner_key}Name": self.owner_name}}
        info["associatedEntityInfo"] = (
            {f"{self.entity[0]}Name": self.entity[2]} if self.entity else {}
        )
        info["leadMetadataInfo"] = (
            {
                "sponsoredLeadMetadataInfo": {
                    "campaign": {"name": self.campaign[1], "id": self.campaign[0]}
                }
            }
            if self.campaign
            else {}
        )
        return info

    def full(self) -> dict[str, Any]:
        return self.base() | self.info()

    def projected(self, fields: tuple[str, ...] | None) -> bytes:
        """The lead's JSON with only ``fields`` (top-level names), or the default set."""
        if fields is None:
            return dumps(self.base())
        full = self.full()
        return dumps({name: full[name] for name in fields if name in full})

    def cached(self, key: str, build: Callable[[LeadRecord], bytes]) -> bytes:
        """The JSON for projection ``key``, built once and kept until another key is asked."""
        if self._cached_for == key and self._cached:
            return self._cached
        body = build(self)
        self._cached_for, self._cached = key, body
        return body

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ownerKey": self.owner_key,
            "owner": self.owner_urn,
            "ownerName": self.owner_name,
            "submitter": self.submitter,
            "leadType": self.lead_type,
            "form": self.form_urn,
            "submittedAt": self.submitted_at,
            "testLead": self.test_lead,
            "campaign": list(self.campaign) if self.campaign else None,
            "entity": list(self.entity) if self.entity else None,
            "answers": self.answers,
            "consents": self.consents,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> LeadRecord:
        campaign = data["campaign"]
        entity = data["entity"]
        return cls(
            id=data["id"],
            owner_key=data["ownerKey"],
            owner_urn=data["owner"],
            owner_name=data["ownerName"],
            submitter=data["submitter"],
            lead_type=data["leadType"],
            form_urn=data["form"],
            submitted_at=data["submittedAt"],
            test_lead=data["testLead"],
            campaign=(campaign[0], campaign[1]) if campaign else None,
            entity=(entity[0], entity[1], entity[2]) if entity else None,
            answers=data["answers"],
            consents=data["consents"],
        )


def project(value: Any, specs: tuple[FieldSpec, ...]) -> Any:
    """Keep only the projected fields of a dict (or of each dict in a list).

    Fields the object does not have are skipped, as LinkedIn does for unknown fields.
    """
    if isinstance(value, list):
        return [project(item, specs) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for spec in specs:
        if spec.name in value:
            child = value[spec.name]
            result[spec.name] = child if spec.children is None else project(child, spec.children)
    return result
