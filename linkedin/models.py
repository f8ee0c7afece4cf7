"""LinkedIn answers that ``schemas.linkedin`` does not model: accounts, organizations and
subscriptions.

Leads and forms are ``schemas.linkedin.Lead`` and ``LeadForm``. As there, only the fields
leadsync reads are typed, everything else is kept (``extra="allow"``), and open enumerations
(roles, statuses) are plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linkedin.restli import Owner
from schemas.linkedin import Localized


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AdAccountUser(_Model):
    """One ad account the connected member can use, and their role on it."""

    account: str
    role: str = ""
    user: str | None = None

    def account_id(self) -> int | None:
        tail = self.account.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else None


class AdAccount(_Model):
    id: int
    name: str = ""
    status: str | None = None
    test: bool = False
    reference: str | None = Field(default=None, description="the linked organization URN")
    currency: str | None = None
    type: str | None = None


class MultiLocaleName(Localized):
    """A name in several locales (``{"en_US": ...}``) and the one the page prefers."""

    preferred_locale: dict[str, str] | None = Field(default=None, alias="preferredLocale")

    def preferred(self) -> str:
        """The name in the preferred locale, else in any locale it has ("" without one)."""
        locale = self.preferred_locale or {}
        language, country = locale.get("language"), locale.get("country")
        return self.text(f"{language}_{country}" if language and country else language)


class Organization(_Model):
    """An organization (Company Page): ``GET /rest/organizations/{id}``."""

    id: int
    localized_name: str | None = Field(default=None, alias="localizedName")
    vanity_name: str | None = Field(default=None, alias="vanityName")
    name: MultiLocaleName | None = None

    @property
    def urn(self) -> str:
        return f"urn:li:organization:{self.id}"

    def display_name(self) -> str | None:
        """The name to show: ``localizedName`` (the name in the page's preferred locale),
        else ``name`` in that locale or any; None when LinkedIn gave none."""
        for candidate in (self.localized_name, self.name.preferred() if self.name else None):
            if candidate and candidate.strip():
                return candidate.strip()
        return None


class LeadNotificationSubscription(_Model):
    """A ``leadNotifications`` element: where LinkedIn pushes lead notifications."""

    id: str
    webhook: str
    owner: dict[str, str] = Field(default_factory=dict)
    lead_type: str | None = Field(default=None, alias="leadType")
    versioned_form: str | None = Field(default=None, alias="versionedForm")

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        # Ids come back as numbers in bodies and as text in x-restli-id; compare as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def matches(self, webhook: str, owner: Owner, lead_type: str) -> bool:
        """Whether this is the owner-level subscription described; a form-level one (with
        ``versionedForm``) covers one form only and does not count."""
        return (
            self.versioned_form is None
            and _same_url(self.webhook, webhook)
            and self.owner == owner.to_json()
            and (self.lead_type is None or self.lead_type == lead_type)
        )


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")


@dataclass(frozen=True)
class Subscribed:
    """What :meth:`LinkedInClient.subscribe` did: ``created`` is False when one existed."""

    id: str
    created: bool


class Member(_Model):
    """Who connected, from OpenID Connect's ``/v2/userinfo``: ``sub`` is the id part of the
    member's person URN."""

    sub: str
    name: str | None = None

    @property
    def urn(self) -> str:
        return f"urn:li:person:{self.sub}"
