"""Discovery names the organizations a connection reads, on the real database with the
LinkedIn sandbox: the name LinkedIn gives (``GET /rest/organizations/{id}``) is stored beside
the organization in the connection's owners and the API lists it; a name LinkedIn refuses
(a grant without ``r_organization_admin``) or fails to give leaves the organization known by
its URN (or by the name read before) and the discovery complete; a member with no role on
the organization neither reads it nor asks for its name."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import AsyncConnection
from pydantic import SecretStr

from harness.sandboxes import Sandbox, serving
from ingest.connect import identify
from ingest.discovery import Discovered, discover
from leadsync.settings import Settings
from linkedin import (
    DEFAULT_SCOPES,
    LinkedInClient,
    MalformedResponse,
    ReconnectRequired,
    ServerError,
    Unavailable,
)
from schemas.tokens import TokenPair
from sinks.connections import TokenCipher, save_connection
from sinks.database import Database
from tests.integration.admin_client import AccountWithToken, admin_client, new_account

Conn = AsyncConnection[tuple[Any, ...]]
ORGANIZATION = "urn:li:organization:2414183"
WITHOUT_ORGANIZATION_SCOPE = [s for s in DEFAULT_SCOPES if s != "r_organization_admin"]


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    with serving(settings) as running:
        yield running


@pytest.fixture(scope="module")
def app_settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "linkedin_api_url": f"{sandbox.url}/rest",
            "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
        }
    )


def _member_urn(sandbox: Sandbox, first_name: str) -> str:
    return next(m.urn for m in sandbox.state.catalog.members.values() if m.first_name == first_name)


async def _connect(
    settings: Settings,
    sandbox: Sandbox,
    account_id: int,
    *,
    member: str | None = None,
    scopes: list[str] | None = None,
) -> int:
    """The member's tokens (the demo member's, all of leadsync's scopes, unless told), saved
    as the account's connection (the same one again for the same member); its id."""
    body: dict[str, Any] = {"scopes": scopes or list(DEFAULT_SCOPES)}
    if member is not None:
        body["member"] = member
    minted = sandbox.control.post("/tokens", json=body)
    assert minted.status_code == 201, minted.text
    grant = minted.json()
    now = time.time()
    tokens = TokenPair(
        access_token=SecretStr(grant["access_token"]),
        access_expires_at=now + grant["expires_in"],
        refresh_token=SecretStr(grant["refresh_token"]),
        refresh_expires_at=now + grant["refresh_token_expires_in"],
        scope=grant.get("scope", ""),
    )
    identified = await identify(settings, tokens)
    async with (
        Database.from_settings(settings, max_size=1) as db,
        db.account(account_id) as conn,
    ):
        return await save_connection(
            conn, TokenCipher(settings), tokens, identified.urn, identified.name, account_id
        )


async def _discover(settings: Settings, account_id: int, connection_id: int) -> Discovered:
    async with Database.from_settings(settings, max_size=2) as db:
        return await discover(settings, db, account_id, connection_id)


async def _owners(db: Conn, account_id: int, connection_id: int) -> dict[str, str | None]:
    """The connection's owners and their names, as routing and the pages read them."""
    cur = await db.execute(
        "SELECT owner_urn, owner_name FROM connection_owners"
        " WHERE account_id = %s AND connection_id = %s",
        (account_id, connection_id),
    )
    return {str(urn): name for urn, name in await cur.fetchall()}


async def _api_organizations(settings: Settings, account: AccountWithToken) -> list[Any]:
    async with admin_client(settings, token=account.token) as api:
        answer = await api.get("/api/linkedin/connections")
    assert answer.status_code == 200, answer.text
    return [c["organizations"] for c in answer.json()["connections"]]


async def test_discovery_stores_the_organization_s_name_and_the_api_lists_it(
    app_settings: Settings, sandbox: Sandbox, db: Conn
) -> None:
    account = await new_account(app_settings, "org-names")
    connection_id = await _connect(app_settings, sandbox, account.id)
    found = await _discover(app_settings, account.id, connection_id)

    name = sandbox.state.catalog.organization_name
    assert found.organizations == [ORGANIZATION]
    assert found.organization_names == {ORGANIZATION: name}
    # Beside the organization, its name; the ad accounts' names live in ad_accounts.
    readable = {urn: None for urn in found.readable}
    assert await _owners(db, account.id, connection_id) == readable | {ORGANIZATION: name}
    assert await _api_organizations(app_settings, account) == [
        [{"urn": ORGANIZATION, "name": name}]
    ]
    # A form's owner in the API goes by the name too: the organization's, an ad account's.
    async with admin_client(app_settings, token=account.token) as api:
        forms = (await api.get("/api/forms")).json()["forms"]
    cur = await db.execute(
        "SELECT urn, name FROM ad_accounts WHERE account_id = %s AND connection_id = %s",
        (account.id, connection_id),
    )
    names = {str(urn): name for urn, name in await cur.fetchall()} | {ORGANIZATION: name}
    assert forms
    assert {f["owner_name"] for f in forms} <= set(names.values())
    assert all(f["owner_name"] == names[f["owner_urn"]] for f in forms)
    assert any(f["owner_urn"] == ORGANIZATION for f in forms)
    # Another account sees neither the connection nor the name.
    other = await new_account(app_settings, "org-names-other")
    assert await _api_organizations(app_settings, other) == []


async def test_a_name_linkedin_refuses_leaves_the_urn_and_the_discovery_complete(
    app_settings: Settings, sandbox: Sandbox, db: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    account = await new_account(app_settings, "org-refused")
    # A grant without r_organization_admin: the organization's forms read, its name 403.
    connection_id = await _connect(
        app_settings, sandbox, account.id, scopes=WITHOUT_ORGANIZATION_SCOPE
    )
    with caplog.at_level(logging.WARNING, logger="ingest.discovery"):
        found = await _discover(app_settings, account.id, connection_id)

    assert found.organizations == [ORGANIZATION]
    assert found.organization_names == {}
    assert found.forms > 0
    assert ORGANIZATION in found.readable
    assert (await _owners(db, account.id, connection_id))[ORGANIZATION] is None
    assert await _api_organizations(app_settings, account) == [
        [{"urn": ORGANIZATION, "name": None}]
    ]
    assert f"LinkedIn gave no name for {ORGANIZATION}" in caplog.text
    assert "status 403" in caplog.text


async def test_a_later_refusal_keeps_the_name_read_before(
    app_settings: Settings, sandbox: Sandbox, db: Conn
) -> None:
    account = await new_account(app_settings, "org-kept")
    connection_id = await _connect(app_settings, sandbox, account.id)
    await _discover(app_settings, account.id, connection_id)
    # The member connects again with less (the same connection), and discovery runs again.
    again = await _connect(app_settings, sandbox, account.id, scopes=WITHOUT_ORGANIZATION_SCOPE)
    assert again == connection_id
    found = await _discover(app_settings, account.id, connection_id)

    assert found.organization_names == {}
    owners = await _owners(db, account.id, connection_id)
    assert owners[ORGANIZATION] == sandbox.state.catalog.organization_name


@pytest.mark.parametrize(
    "failure",
    [
        ServerError("LinkedIn answered 503", status=503),
        Unavailable("no answer from LinkedIn"),
        MalformedResponse("LinkedIn sent an Organization that does not fit: id"),
    ],
    ids=["server error", "unreachable", "malformed"],
)
async def test_a_name_linkedin_fails_to_give_leaves_the_urn_and_the_discovery_complete(
    app_settings: Settings,
    sandbox: Sandbox,
    db: Conn,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    account = await new_account(app_settings, "org-failed")
    connection_id = await _connect(app_settings, sandbox, account.id)

    async def fails(self: LinkedInClient, organization: int | str) -> object:
        raise failure

    # LinkedIn fails this one call after the client's retries (the sandbox's faults would
    # strike any call of the discovery).
    monkeypatch.setattr(LinkedInClient, "organization", fails)
    found = await _discover(app_settings, account.id, connection_id)

    assert found.organizations == [ORGANIZATION]
    assert found.organization_names == {}
    owners = await _owners(db, account.id, connection_id)
    assert owners[ORGANIZATION] is None
    assert set(owners) == set(found.readable)


async def test_a_connection_linkedin_no_longer_accepts_fails_the_discovery_as_before(
    app_settings: Settings, sandbox: Sandbox, db: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(app_settings, "org-revoked")
    connection_id = await _connect(app_settings, sandbox, account.id)

    async def revoked(self: LinkedInClient, organization: int | str) -> object:
        raise ReconnectRequired("the member must reconnect", status=401)

    monkeypatch.setattr(LinkedInClient, "organization", revoked)
    with pytest.raises(ReconnectRequired):
        await _discover(app_settings, account.id, connection_id)
    # Not a name's failure but the connection's: what it reaches is not replaced half way.
    assert await _owners(db, account.id, connection_id) == {}


async def test_a_member_without_a_role_on_the_organization_does_not_ask_its_name(
    app_settings: Settings, sandbox: Sandbox, db: Conn
) -> None:
    account = await new_account(app_settings, "org-none")
    jonas = _member_urn(sandbox, "Jonas")
    connection_id = await _connect(app_settings, sandbox, account.id, member=jonas)
    found = await _discover(app_settings, account.id, connection_id)

    # Jonas's ad account references the organization; LinkedIn refuses him its forms.
    assert found.refused == [ORGANIZATION]
    assert (found.organizations, found.organization_names) == ([], {})
    assert ORGANIZATION not in await _owners(db, account.id, connection_id)
    assert await _api_organizations(app_settings, account) == [[]]
