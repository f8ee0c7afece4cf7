"""Every state change the console offers refuses a request without the session's CSRF
token, or with a wrong one: the walk goes through the app's own routes, so a page added
later without the check fails here. (The sign-in form has its own double-submit token:
tests/integration/test_console_auth.py.)"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from admin.console import csrf
from admin.console.routes import ROUTERS
from leadsync.settings import Settings
from tests.integration.admin_client import new_account
from tests.integration.console_client import console_app, console_client, new_console_user

REFUSED = "This request was refused"
# Ids in the paths: any well-formed value, since the token is checked before the page looks.
_PARAMS = {"form_id": "7234246", "audience_id": str(uuid.uuid4()), "user_id": "1"}


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        yield running


def state_changes() -> list[str]:
    """The console's routes that take anything but GET/HEAD, sign-in aside: from the page
    routers :func:`admin.console.routes.install` includes, the only way a page is served."""
    return sorted(
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.path.startswith("/console/")
        and route.path != "/console/sign-in"
        and set(route.methods or ()) - {"GET", "HEAD"}
    )


def url(path: str, account_name: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda found: _PARAMS.get(found[1], account_name), path)


async def test_every_console_state_change_needs_the_csrf_token(
    settings: Settings, app: FastAPI
) -> None:
    paths = state_changes()
    assert len(paths) >= 12, paths  # audiences, forms, mapping, linkedin, users, operator...
    account = await new_account(settings)
    admin = await new_console_user(settings, account.id, "admin")
    operator = await new_console_user(settings, None)
    for user in (admin, operator):
        mine = [
            path for path in paths if path.startswith("/console/operator") == (user is operator)
        ]
        async with console_client(settings, user.email, user.password, app=app) as console:
            wrong = csrf.mask(csrf.mask(console.csrf_token))  # well-formed, not the token
            for path in mine:
                target = url(path, account.name)
                for sent in ({}, {"csrf_token": wrong}, {"csrf_token": ""}):
                    answer = await console.http.post(target, data={"name": "x", **sent})
                    assert answer.status_code == 403, (target, sent, answer.status_code)
                    assert REFUSED in answer.text, target
            # The session lived through it all: the refusals were the token's, not a sign-out.
            assert (await console.http.get("/console/")).status_code in (303, 307)
            home = await console.http.get(
                "/console/users" if user is admin else "/console/operator"
            )
            assert home.status_code == 200
