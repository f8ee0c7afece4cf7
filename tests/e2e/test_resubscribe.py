"""After the member connects again (``leadsync linkedin connect``), the account's push
subscriptions are made again at once, not at the scheduler's next round (no scheduler runs
here): a subscription lost while the connection was broken comes back with the connection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import SecretStr

from harness.processes import Ingress, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from linkedin import InMemoryTokenStore, LinkedInClient, Owner
from schemas.tokens import TokenPair
from tests.e2e.conftest import query
from tests.e2e.test_push import connect, for_account, ingress, push_settings
from tests.integration.admin_client import AccountWithToken, new_account

__all__ = ["ingress", "push_settings"]  # the fixtures shared with the push tests

FORM = 7234246
OWNER = "urn:li:sponsoredAccount:1234567"  # the form's ad account


@pytest.fixture(scope="module")
async def account(push_settings: Settings, sandbox: Sandbox, ingress: Ingress) -> AccountWithToken:
    made = await new_account(push_settings, "resubscribe")
    connect(for_account(push_settings, made.name), sandbox)
    return made


def _subscriptions(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    hooks: dict[str, Any] = sandbox.control.get("/webhooks").json()
    return [
        (s["webhook"], s["owner"]["sponsoredAccount"], s["leadType"])
        for s in hooks["subscriptions"]
    ]


def _unsubscribe_everything(settings: Settings, sandbox: Sandbox) -> None:
    """Delete the owner's subscriptions, as LinkedIn drops those of a grant revoked."""
    minted = sandbox.control.post("/tokens", json={})
    assert minted.status_code == 201, minted.text
    tokens = TokenPair(
        access_token=SecretStr(minted.json()["access_token"]),
        access_expires_at=time.time() + 3600,
    )

    async def unsubscribe() -> None:
        store = InMemoryTokenStore(tokens)
        async with LinkedInClient.from_settings(settings, store) as linkedin:
            for found in await linkedin.subscriptions(Owner.from_urn(OWNER), "SPONSORED"):
                assert await linkedin.unsubscribe(found.id)

    asyncio.run(unsubscribe())


def test_connecting_again_makes_the_push_subscriptions_again(
    push_settings: Settings, sandbox: Sandbox, account: AccountWithToken
) -> None:
    settings = for_account(push_settings, account.name)
    leadsync(settings, "forms", "import", str(FORM), "on")
    assert "subscribed" in leadsync(settings, "subscribe")
    webhook = push_settings.ingress_public_url
    assert _subscriptions(sandbox) == [(webhook, OWNER, "SPONSORED")]

    # The member revoked leadsync; LinkedIn dropped the subscription with the grant.
    query(
        settings,
        "UPDATE linkedin_connections SET status = 'revoked' WHERE account_id = %s",
        account.id,
    )
    _unsubscribe_everything(settings, sandbox)
    assert _subscriptions(sandbox) == []

    # The member connects again: the subscription is back before the command ends.
    sandbox.control.post("/signin", json={}).raise_for_status()
    out = leadsync(settings, "linkedin", "connect")
    assert f"subscribed {OWNER} SPONSORED -> {webhook}" in out, out
    assert _subscriptions(sandbox) == [(webhook, OWNER, "SPONSORED")]
    assert query(
        settings, "SELECT status FROM linkedin_connections WHERE account_id = %s", account.id
    ) == [("active",)]

    # Connecting once more finds it in place (idempotent: still one subscription).
    assert f"already subscribed {OWNER} SPONSORED" in leadsync(settings, "linkedin", "connect")
    assert _subscriptions(sandbox) == [(webhook, OWNER, "SPONSORED")]
