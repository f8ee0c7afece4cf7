"""Switching a form's Import on through the admin API (with the account's own token)
subscribes its owner for push at once (no scheduler running here), idempotently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from harness.processes import Ingress, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from tests.e2e.test_push import connect, for_account, ingress, push_settings
from tests.integration.admin_client import AccountWithToken, admin_client, new_account

__all__ = ["ingress", "push_settings"]  # the fixtures shared with the push tests

FORM = 7234246
OWNER = "urn:li:sponsoredAccount:1234567"  # the form's ad account


@pytest.fixture(scope="module")
async def account(push_settings: Settings, sandbox: Sandbox) -> AccountWithToken:
    """An account of its own with its API token, connected to the demo member."""
    made = await new_account(push_settings)
    connect(for_account(push_settings, made.name), sandbox)
    return made


@pytest.fixture(scope="module")
def account_settings(push_settings: Settings, account: AccountWithToken) -> Settings:
    return for_account(push_settings, account.name)


@pytest.fixture(scope="module")
async def admin(
    account_settings: Settings, account: AccountWithToken, ingress: Ingress
) -> AsyncIterator[httpx.AsyncClient]:
    """The admin API as the account's own token calls it."""
    async with admin_client(account_settings, token=account.token) as client:
        yield client


def _hooks(sandbox: Sandbox) -> dict[str, Any]:
    hooks: dict[str, Any] = sandbox.control.get("/webhooks").json()
    return hooks


async def _switch(admin: httpx.AsyncClient, form_id: int, on: bool) -> None:
    response = await admin.patch(f"/api/forms/{form_id}", json={"import_enabled": on})
    assert response.status_code == 200, response.text
    assert response.json()["import_enabled"] is on


async def test_import_on_subscribes_the_owner_once(
    admin: httpx.AsyncClient, sandbox: Sandbox, account_settings: Settings
) -> None:
    assert _hooks(sandbox)["subscriptions"] == []
    await _switch(admin, FORM, False)
    assert _hooks(sandbox)["subscriptions"] == []  # off subscribes nothing

    await _switch(admin, FORM, True)
    hooks = _hooks(sandbox)
    assert [(s["webhook"], s["owner"], s["leadType"]) for s in hooks["subscriptions"]] == [
        (account_settings.ingress_public_url, {"sponsoredAccount": OWNER}, "SPONSORED")
    ]
    assert hooks["challenges"]
    assert all(c["ok"] for c in hooks["challenges"])

    # Another form of the same owner, and the same form again: still the one subscription.
    forms = sandbox.control.get("/status").json()["forms"]
    same_owner = [f["id"] for f in forms if f["owner"] == OWNER and f["id"] != FORM]
    assert same_owner, forms
    await _switch(admin, same_owner[0], True)
    await _switch(admin, FORM, True)
    assert len(_hooks(sandbox)["subscriptions"]) == 1
    assert "already subscribed" in leadsync(account_settings, "subscribe")
