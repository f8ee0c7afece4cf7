"""Events about an account's LinkedIn connection, published on ``leadsync.errors``.

``connection.expiring``: the connection's refresh token (its access token, when LinkedIn
gave no refresh token) ends in 30, 7 or 1 days; after that leadsync can no longer reach
LinkedIn for the account until its member connects again. Each threshold is announced once
per connection and expiry (a warning first given at 5 days left is the 7-day one).

The event travels as an :class:`schemas.events.ErrorEvent` (the errors topic has one
schema, which every consumer of it, leadsync's error log included, reads): ``stage``
``connection``, ``code`` ``connection.expiring``, no form or lead, a message saying what to
do, and ``raw_ref`` holding :class:`ConnectionExpiring` (``raw_ref.event`` is
``connection.expiring``). Its ``error_id`` is deterministic for (account, connection,
expiry, threshold): a replay is recognised.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import ErrorEvent

CONNECTION_EXPIRING = "connection.expiring"
CONNECTION_STAGE = "connection"
# The warnings, in days before the end: each given once per connection and expiry.
EXPIRY_THRESHOLDS_DAYS = (30, 7, 1)


def tightest_threshold(seconds_left: float) -> int | None:
    """The tightest warning (30, 7 or 1 days) a token ending in ``seconds_left`` is within;
    None when it ends later than the widest. One rule for the form's status, the API, the
    metric and the event."""
    within = [days for days in EXPIRY_THRESHOLDS_DAYS if seconds_left <= days * 86_400]
    return min(within) if within else None


_NAMESPACE = uuid.UUID("0b9f3f9e-6a36-4f55-9d2c-3c1f35d1f0a7")


class ConnectionExpiring(BaseModel):
    """The details of a ``connection.expiring`` event (its ``raw_ref``)."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["connection.expiring"] = "connection.expiring"
    account_id: int
    connection_id: int
    member_urn: str | None = None
    member_name: str | None = None
    expires_at: datetime = Field(description="when the connection stops working")
    ends_with: Literal["refresh_token", "access_token"] = "refresh_token"
    days_left: int = Field(description="whole days left (0: less than a day)")
    threshold_days: int = Field(description="the warning given: 30, 7 or 1 days before")

    def message(self) -> str:
        who = self.member_name or self.member_urn or f"connection {self.connection_id}"
        left = "less than a day" if self.days_left < 1 else f"{self.days_left} days"
        return (
            f"the LinkedIn connection of {who} (connection {self.connection_id}) ends in"
            f" {left}, on {self.expires_at.isoformat(timespec='minutes')}: after that no lead"
            " comes in for this account until the member connects again (`leadsync linkedin"
            " connect`, or a new link from POST /api/linkedin/authorization)"
        )

    def error_id(self) -> uuid.UUID:
        key = (
            f"{self.account_id}:{self.connection_id}:{self.expires_at.isoformat()}"
            f":{self.threshold_days}"
        )
        return uuid.uuid5(_NAMESPACE, key)

    def to_error_event(self, occurred_at: datetime) -> ErrorEvent:
        """The record published on ``leadsync.errors``."""
        return ErrorEvent(
            error_id=self.error_id(),
            occurred_at=occurred_at,
            stage=CONNECTION_STAGE,
            code=CONNECTION_EXPIRING,
            message=self.message(),
            account_id=self.account_id,
            raw_ref=self.model_dump(mode="json"),
        )

    @classmethod
    def from_error_event(cls, event: ErrorEvent) -> ConnectionExpiring | None:
        """The details of an error event that is a ``connection.expiring`` one, else None."""
        if event.code != CONNECTION_EXPIRING or event.raw_ref is None:
            return None
        return cls.model_validate(event.raw_ref)
