"""The LinkedIn members of the sandbox's world, their roles, and who is signed in.

The first member is the demo member (the urn drawn from the catalog's seed, the name from
the config, roles on three of the four ad accounts): everything that ran against the
one-member sandbox sees the same world. Three more members share the world with it, so a
client can connect several members whose ad accounts overlap:

- the demo member: ACCOUNT_MANAGER on 1234567, CAMPAIGN_MANAGER on the second account,
  VIEWER on the third (a test account); admin of the organization;
- Priya Raman: ACCOUNT_BILLING_ADMIN on the second account (shared with the demo member),
  ACCOUNT_MANAGER on the fourth (hers alone: the demo member's 403); organization admin;
- Jonas Weber: CREATIVE_MANAGER on 1234567 (shared with the demo member); no role on the
  organization (its organic leads answer him 403);
- Lucia Fernandez: no role anywhere (she can connect, and sees no ad account).

Their urns come from the seed too (a random stream of their own, so the catalog's draws,
and with them every form and lead, are the same as with one member).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any

URN_PREFIX = "urn:li:person:"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
OPENID_SCOPE = "openid"
PROFILE_SCOPE = "profile"
EMAIL_SCOPE = "email"


@dataclass(frozen=True)
class Member:
    urn: str
    first_name: str
    last_name: str
    roles: tuple[tuple[int, str], ...]  # (ad account id, role), in the catalog's order
    organizations: tuple[str, ...]  # organization URNs the member administers
    picture: str | None = None

    @property
    def id(self) -> str:
        """The id part of the person URN: OpenID Connect's ``sub``."""
        return self.urn.removeprefix(URN_PREFIX)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def email(self) -> str:
        plain = unicodedata.normalize("NFKD", f"{self.first_name}.{self.last_name}")
        local = "".join(c for c in plain.lower() if c.isascii() and (c.isalnum() or c == "."))
        return f"{local.strip('.') or self.id.lower()}@example.com"

    def role_on(self, account_id: int) -> str | None:
        return next((role for account, role in self.roles if account == account_id), None)

    def userinfo(self, scopes: list[str]) -> dict[str, Any]:
        """``GET /v2/userinfo``'s answer for a token with ``scopes`` (``openid`` checked by
        the caller): ``profile`` adds the names (and picture), ``email`` the address."""
        claims: dict[str, Any] = {"sub": self.id}
        if PROFILE_SCOPE in scopes:
            claims |= {
                "name": self.name,
                "given_name": self.first_name,
                "family_name": self.last_name,
                "locale": {"country": "US", "language": "en"},
            }
            if self.picture is not None:
                claims["picture"] = self.picture
        if EMAIL_SCOPE in scopes:
            claims |= {"email": self.email, "email_verified": True}
        return claims

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "id": self.id,
            "name": self.name,
            "adAccounts": [
                {"account": f"urn:li:sponsoredAccount:{a}", "role": r} for a, r in self.roles
            ],
            "organizations": list(self.organizations),
        }


# The other members: (first name, last name, {account index: role}, organization admin,
# has a profile picture).
_OTHERS: tuple[tuple[str, str, dict[int, str], bool, bool], ...] = (
    ("Priya", "Raman", {1: "ACCOUNT_BILLING_ADMIN", 3: "ACCOUNT_MANAGER"}, True, True),
    ("Jonas", "Weber", {0: "CREATIVE_MANAGER"}, False, False),
    ("Lucia", "Fernandez", {}, False, False),
)
DEMO_ROLES = {0: "ACCOUNT_MANAGER", 1: "CAMPAIGN_MANAGER", 2: "VIEWER"}


def build_members(
    seed: int,
    demo_urn: str,
    demo_name: tuple[str, str],
    account_ids: list[int],
    organization_urn: str,
) -> dict[str, Member]:
    """Every member, the demo member first; ``account_ids`` in the catalog's order."""
    rng = random.Random(f"members-{seed}")  # noqa: S311 - seeded on purpose: replayable
    demo = Member(
        urn=demo_urn,
        first_name=demo_name[0],
        last_name=demo_name[1],
        roles=tuple((account_ids[i], role) for i, role in sorted(DEMO_ROLES.items())),
        organizations=(organization_urn,),
    )
    members = {demo.urn: demo}
    for first, last, roles, admin, has_picture in _OTHERS:
        urn = demo_urn
        while urn in members:
            urn = URN_PREFIX + "".join(rng.choices(_ID_ALPHABET, k=10))
        picture = (
            f"https://media.licdn.com/dms/image/sandbox/{urn.removeprefix(URN_PREFIX)}/"
            "profile-displayphoto-shrink_100_100/0/"
            if has_picture
            else None
        )
        members[urn] = Member(
            urn=urn,
            first_name=first,
            last_name=last,
            roles=tuple((account_ids[i], role) for i, role in sorted(roles.items())),
            organizations=(organization_urn,) if admin else (),
            picture=picture,
        )
    return members


def find_member(members: dict[str, Member], designation: str) -> Member | None:
    """The member a person URN or its id part designates."""
    text = designation.strip()
    return members.get(text) or members.get(URN_PREFIX + text)
