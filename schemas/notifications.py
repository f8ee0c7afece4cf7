"""LinkedIn lead notifications (webhooks) and the envelope leadsync keeps them in."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_RESPONSE_URN = "urn:li:leadGenFormResponse:"
_FORM = re.compile(r"urn:li:leadGenForm:(\d+)")


class LeadNotification(BaseModel):
    """A ``LEAD_ACTION`` notification: URNs only, no answers."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str = "LEAD_ACTION"
    # The lead's URN: an id after the prefix, made of what LinkedIn's ids are made of (it
    # becomes a Kafka key and a path segment of the hydration's GET).
    lead_gen_form_response: str = Field(
        alias="leadGenFormResponse", pattern=r"^urn:li:leadGenFormResponse:[A-Za-z0-9_-]{1,200}$"
    )
    lead_gen_form: str = Field(alias="leadGenForm", min_length=1)
    owner: dict[str, str] = Field(default_factory=dict)
    associated_entity: dict[str, Any] = Field(default_factory=dict, alias="associatedEntity")
    lead_type: str = Field(default="SPONSORED", alias="leadType")
    lead_action: Literal["CREATED", "DELETED"] = Field(alias="leadAction")
    occurred_at: int | None = Field(default=None, alias="occurredAt")

    def lead_id(self) -> str:
        return self.lead_gen_form_response.removeprefix(_RESPONSE_URN)

    def form_id(self) -> int:
        match = _FORM.search(re.sub(r"\s+", "", self.lead_gen_form))
        if not match:
            raise ValueError(f"no form id in {self.lead_gen_form!r}")
        return int(match.group(1))

    def owner_urn(self) -> str | None:
        return self.owner.get("sponsoredAccount") or self.owner.get("organization")

    def creative_urn(self) -> str | None:
        # Either key is seen in the wild (reference page, section 4).
        for key in ("sponsoredCreative", "associatedCreative"):
            value = self.associated_entity.get(key)
            if isinstance(value, str):
                return value
        return None


class ReceivedNotification(BaseModel):
    """Value of ``leadsync.notifications``: the bytes as received, and how they arrived."""

    model_config = ConfigDict(extra="forbid")

    received_at: datetime
    signature_variant: str
    body: str = Field(description="the POST body exactly as received (UTF-8 JSON)")

    def notification(self) -> LeadNotification:
        return LeadNotification.model_validate_json(self.body)
