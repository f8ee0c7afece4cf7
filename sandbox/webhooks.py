"""Lead notification subscriptions and LinkedIn's webhook challenge handshake.

A subscription is created only after its URL passes the handshake (the create call answers
400 otherwise, naming the reason). It is then re-validated every ``revalidate_every_s`` of
sandbox time (two hours, as LinkedIn); ``max_failed_validations`` failures in a row (3)
block it for good: notifications meant for a blocked subscription are lost, never queued,
and only deleting and re-creating the subscription restores delivery.

The handshake: ``GET <url>?challengeCode=<uuid4>``, answered within ``challenge_timeout_s``
with 200, ``Content-Type: application/json`` and ``{"challengeCode": <same>,
"challengeResponse": <lowercase hex HMAC-SHA256(client secret, challengeCode)>}``.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from sandbox.leads import LeadRecord
from sandbox.signing import challenge_response


@dataclass
class Subscription:
    id: int
    webhook: str
    owner_key: str
    owner_urn: str
    lead_type: str
    versioned_form: str | None
    created_at: int
    validated_at: int
    failures: int = 0
    blocked: bool = False

    def matches(self, lead: LeadRecord) -> bool:
        return (
            self.owner_urn == lead.owner_urn
            and self.lead_type == lead.lead_type
            and self.versioned_form in (None, lead.form_urn)
        )

    def to_json(self) -> dict[str, Any]:
        """The subscription as ``GET /rest/leadNotifications/{id}`` returns it."""
        body: dict[str, Any] = {
            "id": self.id,
            "webhook": self.webhook,
            "owner": {self.owner_key: self.owner_urn},
            "leadType": self.lead_type,
        }
        if self.versioned_form:
            body["versionedForm"] = self.versioned_form
        return body

    def status(self) -> dict[str, Any]:
        """The subscription plus its validation state, for the control API."""
        return self.to_json() | {
            "validatedAt": self.validated_at,
            "failures": self.failures,
            "blocked": self.blocked,
        }


@dataclass(frozen=True)
class Challenge:
    """One handshake as it happened."""

    subscription_id: int | None
    webhook: str
    at_ms: int
    ok: bool
    reason: str


async def run_challenge(
    client: httpx.AsyncClient, url: str, secret: str, timeout_s: float
) -> tuple[bool, str]:
    """Challenge ``url`` once; (passed, reason)."""
    code = str(uuid.uuid4())
    separator = "&" if "?" in url else "?"
    try:
        response = await client.get(f"{url}{separator}challengeCode={code}", timeout=timeout_s)
    except httpx.TimeoutException:
        return False, f"no answer within {timeout_s:g} s"
    except httpx.HTTPError as exc:
        return False, f"unreachable ({type(exc).__name__})"
    if response.status_code != 200:
        return False, f"answered HTTP {response.status_code}"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return False, "Content-Type is not application/json"
    try:
        body = response.json()
    except ValueError:
        return False, "body is not JSON"
    if not isinstance(body, dict) or body.get("challengeCode") != code:
        return False, "challengeCode not echoed"
    if body.get("challengeResponse") != challenge_response(secret, code):
        return False, "challengeResponse is not the HMAC-SHA256 of the challenge code"
    return True, "ok"


class WebhookRegistry:
    """Every subscription, and the log of every handshake."""

    def __init__(self) -> None:
        self.subscriptions: dict[int, Subscription] = {}
        self.challenges: list[Challenge] = []
        self._next_id = 1

    def add(self, subscription_fields: dict[str, Any], now_ms: int) -> Subscription:
        subscription = Subscription(
            id=self._next_id, created_at=now_ms, validated_at=now_ms, **subscription_fields
        )
        self._next_id += 1
        self.subscriptions[subscription.id] = subscription
        return subscription

    def record(self, challenge: Challenge) -> None:
        self.challenges.append(challenge)

    def matching(self, lead: LeadRecord) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.matches(lead)]

    def due(self, now_ms: int, every_s: float) -> list[Subscription]:
        return [
            s
            for s in self.subscriptions.values()
            if not s.blocked and now_ms - s.validated_at >= every_s * 1000
        ]

    def settle(self, subscription: Subscription, ok: bool, now_ms: int, limit: int) -> None:
        """Apply one re-validation outcome: success resets the count, failures block."""
        subscription.validated_at = now_ms
        if ok:
            subscription.failures = 0
            return
        subscription.failures += 1
        if subscription.failures >= limit:
            subscription.blocked = True

    def to_state(self) -> dict[str, Any]:
        return {
            "next": self._next_id,
            "subscriptions": [asdict(s) for s in self.subscriptions.values()],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._next_id = state["next"]
        for data in state["subscriptions"]:
            subscription = Subscription(**data)
            self.subscriptions[subscription.id] = subscription
