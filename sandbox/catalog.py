"""The sandbox's LinkedIn world: members, ad accounts, an organization, campaigns, forms.

Built deterministically from the seed and an epoch (the clock time the world was created
at): the same pair gives the same ids, names and timestamps. The reference page's examples
exist verbatim: ad account 1234567, campaign 198356826, creative 241257736 and form 7234246
"Test Form" (Italian) whose version 1 has exactly the reference's three questions. Around
them: forms in four locales, with one to three versions, in every state, a second and a
third ad account, an account the demo member has no role on (its leads answer it 403), and
an organization with company-page and event lead forms (organic leads), its name in English
(``GET /rest/organizations/{id}``). The members and their roles are :mod:`sandbox.members`'s;
what a member may read is :meth:`Catalog.accessible`.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from sandbox.form_specs import FormSpec, form_specs
from sandbox.members import Member, build_members
from sandbox.questions import LOCALES

DAY_MS = 86_400_000
ACCOUNTS = 4


@dataclass(frozen=True)
class AdAccount:
    id: int
    name: str
    test: bool
    reference: str  # the linked organization URN

    @property
    def urn(self) -> str:
        return f"urn:li:sponsoredAccount:{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "reference": self.reference,
            "status": "ACTIVE",
            "test": self.test,
            "type": "BUSINESS",
            "currency": "EUR",
            "servingStatuses": ["RUNNABLE"],
        }


@dataclass(frozen=True)
class Organization:
    """A Company Page. Its name is in one locale, the preferred one (LinkedIn's pages may
    carry several)."""

    id: int
    name: str
    locale: tuple[str, str] = ("en", "US")  # (language, country)

    @property
    def urn(self) -> str:
        return f"urn:li:organization:{self.id}"

    @property
    def vanity_name(self) -> str:
        """The page's address on linkedin.com/company/: the name, folded to ASCII, lowercase,
        words joined by hyphens."""
        folded = unicodedata.normalize("NFKD", self.name).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or str(self.id)

    def to_json(self) -> dict[str, Any]:
        """``GET /rest/organizations/{id}``'s answer (the fields of LinkedIn's example that
        say who the organization is)."""
        language, country = self.locale
        return {
            "$URN": self.urn,
            "id": self.id,
            "localizedName": self.name,
            "vanityName": self.vanity_name,
            "name": {
                "localized": {f"{language}_{country}": self.name},
                "preferredLocale": {"country": country, "language": language},
            },
            "primaryOrganizationType": "NONE",
            "versionTag": "1",
        }


@dataclass(frozen=True)
class Campaign:
    urn: str
    name: str
    creatives: tuple[tuple[str, str], ...]  # (URN, name)


@dataclass(frozen=True)
class FormVersion:
    form_id: int
    version_id: int
    name: str
    owner_key: str  # "sponsoredAccount" or "organization"
    owner_urn: str
    lead_type: str
    state: str
    created: int
    last_modified: int
    locale: str
    hidden_fields: tuple[tuple[str, str], ...]
    content: dict[str, Any]

    @property
    def urn(self) -> str:
        return f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{self.form_id},{self.version_id})"

    def questions(self) -> list[dict[str, Any]]:
        questions: list[dict[str, Any]] = self.content["questions"]
        return questions

    def to_json(self) -> dict[str, Any]:
        language, country = LOCALES[self.locale]
        return {
            "id": self.form_id,
            "versionId": self.version_id,
            "name": self.name,
            "owner": {self.owner_key: self.owner_urn},
            "created": self.created,
            "lastModified": self.last_modified,
            "state": self.state,
            "creationLocale": {"country": country, "language": language},
            "hiddenFields": [{"name": n, "value": v} for n, v in self.hidden_fields],
            "content": self.content,
        }


@dataclass(frozen=True)
class Form:
    id: int
    versions: tuple[FormVersion, ...]

    @property
    def latest(self) -> FormVersion:
        return self.versions[-1]

    def version_at(self, at_ms: int) -> FormVersion | None:
        """The version a member saw at ``at_ms``; None before the form existed."""
        current = None
        for version in self.versions:
            if version.last_modified <= at_ms:
                current = version
        return current


@dataclass
class Catalog:
    epoch_ms: int
    organization: Organization  # the one the ad accounts reference
    members: dict[str, Member] = field(default_factory=dict)  # the demo member first
    accounts: dict[int, AdAccount] = field(default_factory=dict)
    forms: dict[int, Form] = field(default_factory=dict)
    versions: dict[str, FormVersion] = field(default_factory=dict)
    campaigns: dict[str, tuple[Campaign, ...]] = field(default_factory=dict)
    events: dict[str, tuple[str, str]] = field(default_factory=dict)  # org URN -> (URN, name)

    @property
    def organization_urn(self) -> str:
        return self.organization.urn

    @property
    def organization_name(self) -> str:
        return self.organization.name

    @property
    def organizations(self) -> dict[int, Organization]:
        """Every organization of the world, by id (one today)."""
        return {self.organization.id: self.organization}

    @property
    def default_member(self) -> Member:
        """The demo member: who signs in unless told otherwise, whose tokens are minted."""
        return next(iter(self.members.values()))

    @property
    def member_urn(self) -> str:
        return self.default_member.urn

    def users_of(self, account_id: int) -> list[tuple[str, str]]:
        """(member URN, role) of everyone with a role on the ad account."""
        return [
            (m.urn, role)
            for m in self.members.values()
            if (role := m.role_on(account_id)) is not None
        ]

    def accessible(self, member_urn: str, owner_urn: str) -> bool:
        """Whether the member may read this owner's forms, leads and subscriptions: a role
        on the ad account, or on the organization."""
        member = self.members.get(member_urn)
        if member is None:
            return False
        if owner_urn in member.organizations:
            return True
        return any(f"urn:li:sponsoredAccount:{a}" == owner_urn for a, _ in member.roles)

    def owner_name(self, owner_urn: str) -> str:
        if owner_urn == self.organization_urn:
            return self.organization_name
        return next(a.name for a in self.accounts.values() if a.urn == owner_urn)

    def forms_of(self, owner_urn: str) -> list[Form]:
        return [f for f in self.forms.values() if f.latest.owner_urn == owner_urn]

    def live_forms(self) -> list[Form]:
        """Forms that receive new leads: published ones."""
        return [f for f in self.forms.values() if f.latest.state == "PUBLISHED"]


def build_catalog(
    seed: int, epoch_ms: int, *, member_first_name: str, member_last_name: str
) -> Catalog:
    """The world for ``seed`` as it stood at ``epoch_ms``; same inputs, same world. The
    member names are the demo member's."""
    rng = random.Random(f"catalog-{seed}")  # noqa: S311 - seeded on purpose: replayable
    fake = Faker("en_US")
    fake.seed_instance(seed)
    member = "urn:li:person:" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", k=10))
    organization = Organization(2414183, fake.company())
    org_urn = organization.urn
    catalog = Catalog(epoch_ms=epoch_ms, organization=organization)
    for index in range(ACCOUNTS):
        account_id = 1234567 if index == 0 else rng.randint(500_000_000, 599_999_999)
        account = AdAccount(
            id=account_id, name=f"{fake.company()} Ads", test=index == 2, reference=org_urn
        )
        catalog.accounts[account_id] = account
        catalog.campaigns[account.urn] = _campaigns(rng, fake, first=index == 0)
    catalog.members = build_members(
        seed, member, (member_first_name, member_last_name), list(catalog.accounts), org_urn
    )
    catalog.events[org_urn] = (f"urn:li:event:{rng.randint(10**18, 10**19 - 1)}", "Open Day")
    owners = [a.urn for a in catalog.accounts.values()] + [org_urn]
    for spec in form_specs(rng):
        form = _form(spec, owners, epoch_ms, rng.randint)
        catalog.forms[form.id] = form
        for version in form.versions:
            catalog.versions[version.urn] = version
    return catalog


def _campaigns(rng: random.Random, fake: Faker, *, first: bool) -> tuple[Campaign, ...]:
    campaigns = []
    for number in range(2):
        reference = first and number == 0
        campaign_id = 198356826 if reference else rng.randint(100_000_000, 299_999_999)
        creatives = []
        for c in range(2):
            creative_id = (
                241257736 if reference and c == 0 else rng.randint(200_000_000, 299_999_999)
            )
            creatives.append(
                (f"urn:li:sponsoredCreative:{creative_id}", f"{fake.catch_phrase()} ({c + 1})")
            )
        campaigns.append(
            Campaign(f"urn:li:sponsoredCampaign:{campaign_id}", fake.bs().title(), tuple(creatives))
        )
    return tuple(campaigns)


def _form(
    spec: FormSpec, owners: list[str], epoch_ms: int, randint: Callable[[int, int], int]
) -> Form:
    owner_urn = owners[spec.owner_index]
    owner_key = "organization" if ":organization:" in owner_urn else "sponsoredAccount"
    form_id = spec.form_id or randint(7_000_000, 7_999_999)
    created = epoch_ms - spec.version_ages_days[0] * DAY_MS
    versions = []
    for number, age_days in enumerate(spec.version_ages_days, start=1):
        content = spec.content(form_id, number)
        versions.append(
            FormVersion(
                form_id=form_id,
                version_id=number,
                name=spec.name,
                owner_key=owner_key,
                owner_urn=owner_urn,
                lead_type=spec.lead_type,
                state=spec.state,
                created=created,
                last_modified=epoch_ms - age_days * DAY_MS + number * 1000,
                locale=spec.locale,
                hidden_fields=spec.hidden_fields,
                content=content,
            )
        )
    return Form(form_id, tuple(versions))
