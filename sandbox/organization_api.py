"""``/rest/organizations/{id}``: an organization (Company Page) by id, with its name.

Needs ``r_organization_admin`` and a role on the organization for the token's member (roles:
:mod:`sandbox.members`): an organization the member does not administer answers 403, an
unknown one 404, as ``/rest/adAccounts/{id}`` does for ad accounts.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.errors import forbidden, not_found
from sandbox.guard import ORGANIZATION_SCOPE, admit
from sandbox.paging import json_response
from sandbox.state import SandboxState


async def get_organization(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    grant = await admit(request, state, ORGANIZATION_SCOPE)
    raw_id = request.path_params["organization_id"]
    organization = state.catalog.organizations.get(int(raw_id)) if raw_id.isdigit() else None
    if organization is None:
        raise not_found(f"organization {raw_id} does not exist")
    if not state.catalog.accessible(grant.member_urn, organization.urn):
        raise forbidden(request.method, request.url.path)
    return json_response(organization.to_json())
