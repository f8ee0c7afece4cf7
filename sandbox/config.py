"""The sandbox's own knobs: one pydantic model, settable from the CLI and at runtime.

leadsync's ``Settings`` says where the sandbox listens and which app credentials leadsync
uses; everything that shapes the sandbox's behaviour (seed, token lifetimes, retention,
signature variant, throttling, faults) lives here instead, so a test or the demo can change
it while the server runs (``PATCH /sandbox/config``) without touching leadsync's settings.
Every change is validated as a whole: an invalid patch leaves the previous config in place.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from leadsync.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

DAY_S = 86_400
REDIRECT_URI = re.compile(r"^https?://[^\s/?#]+[^\s#]*$")
Rate = float  # a share in [0, 1]


class SignatureVariant(StrEnum):
    """The three readings of LinkedIn's ``X-LI-Signature`` (reference, section 4)."""

    PREFIXED_BODY = "a"  # hex(HMAC(secret, "hmacsha256=" + body))
    PREFIXED_HEADER = "b"  # "hmacsha256=" + hex(HMAC(secret, body))
    BARE = "c"  # hex(HMAC(secret, body))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThrottleConfig(_Model):
    """Daily request budgets, reset at midnight UTC on the sandbox clock (None: unlimited)."""

    member_daily_limit: int | None = Field(default=None, ge=0)
    app_daily_limit: int | None = Field(default=None, ge=0)
    # LinkedIn documents no Retry-After; off by default so clients learn to back off alone.
    retry_after: bool = False


class FaultConfig(_Model):
    """Faults on the REST API: a share of 5xx answers, of 429 answers, and added latency."""

    error_rate: float = Field(default=0.0, ge=0, le=1)
    # A "429 storm": this share of calls is throttled (short-term limits, beside the daily
    # budgets of ThrottleConfig), always without Retry-After.
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    error_statuses: tuple[int, ...] = (500, 504)
    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    latency_jitter_ms: float = Field(default=0.0, ge=0, le=60_000)


class PushFaultConfig(_Model):
    """Faults on push: each notification is dropped, duplicated, delayed or held back."""

    drop_rate: float = Field(default=0.0, ge=0, le=1)
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    delay_rate: float = Field(default=0.0, ge=0, le=1)
    delay_ms: float = Field(default=2_000.0, ge=0, le=600_000)
    # A reordered notification is held back and sent right after the next one.
    reorder_rate: float = Field(default=0.0, ge=0, le=1)


class GenerationConfig(_Model):
    """The mix of generated leads (item 8 of the sandbox issue)."""

    duplicate_person_rate: float = Field(default=0.08, ge=0, le=1)
    invalid_answer_rate: float = Field(default=0.03, ge=0, le=1)
    test_lead_rate: float = Field(default=0.02, ge=0, le=1)
    # Demo trickle: one lead every this many seconds while the server runs (0: off).
    trickle_every_s: float = Field(default=0.0, ge=0)


class SandboxConfig(_Model):
    """Everything that shapes the sandbox's behaviour; frozen, replaced as a whole."""

    seed: int = 1
    client_id: str = DEMO_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEMO_CLIENT_SECRET)
    # The app's registered redirect URIs: an authorization's redirect_uri must be one of them
    # exactly, as on LinkedIn. Empty: any http(s) URI is accepted (the sandbox's leniency).
    redirect_uris: tuple[str, ...] = ()
    # The demo member's name (the first member; the others are sandbox.members').
    member_first_name: str = "Demo"
    member_last_name: str = "Member"
    # The member signed in approves every authorization request; True: they cancel instead.
    member_denies_consent: bool = False
    access_token_ttl_s: int = Field(default=60 * DAY_S, gt=0)
    refresh_token_ttl_s: int = Field(default=365 * DAY_S, gt=0)
    retention_days: int = Field(default=365, ge=1)
    # LinkedIn keeps each monthly version live for about a year.
    version_lifetime_months: int = Field(default=12, ge=0)
    # No documented maximum; peers use 100 to 1000, so larger pages are refused.
    max_page_count: int = Field(default=1000, ge=1)
    signature_variant: SignatureVariant = SignatureVariant.PREFIXED_BODY
    revalidate_every_s: float = Field(default=2 * 3600, gt=0)
    challenge_timeout_s: float = Field(default=3.0, gt=0)
    delivery_timeout_s: float = Field(default=5.0, gt=0)
    # Notifications in flight at once per subscription. 1 (the default) sends them one after
    # the other, in creation order; more is how LinkedIn keeps up at volume (and then they
    # may arrive out of order): the benchmarks' 1,000 leads/s need it.
    push_concurrency: int = Field(default=1, ge=1, le=64)
    max_failed_validations: int = Field(default=3, ge=1)
    throttle: ThrottleConfig = ThrottleConfig()
    faults: FaultConfig = FaultConfig()
    push_faults: PushFaultConfig = PushFaultConfig()
    generation: GenerationConfig = GenerationConfig()

    @field_validator("redirect_uris")
    @classmethod
    def _absolute_http_uris(cls, uris: tuple[str, ...]) -> tuple[str, ...]:
        for uri in uris:
            if not REDIRECT_URI.match(uri):
                raise ValueError(f"{uri!r} is not an absolute http(s) URL without a fragment")
        return uris

    def patched(self, patch: dict[str, Any]) -> SandboxConfig:
        """A new config with ``patch`` deep-merged in; raises ``ValidationError`` if invalid."""
        merged = _merge(self.model_dump(), patch)
        return SandboxConfig.model_validate(merged)

    def public(self) -> dict[str, Any]:
        """The config as JSON, with the client secret masked."""
        return self.model_dump(mode="json")


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged
