"""``/rest/adAccountUsers?q=authenticatedUser`` and ``/rest/adAccounts/{id}``.

Both answer for the member whose token is presented (roles: :mod:`sandbox.members`): the
ad accounts that member has a role on, in the catalog's order; an account the member has
no role on is absent from ``adAccountUsers`` and its details answer 403.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.errors import bad_request, forbidden, not_found
from sandbox.guard import ADS_SCOPE, admit
from sandbox.leads import dumps
from sandbox.paging import json_response, page_params, page_response
from sandbox.restli import split_query
from sandbox.state import SandboxState


async def find_account_users(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    grant = await admit(request, state, ADS_SCOPE)
    params = split_query(request.scope["query_string"], {"q", "start", "count"})
    if params.get("q") != "authenticatedUser":
        raise bad_request("adAccountUsers supports the finder q=authenticatedUser")
    page = page_params(params, state.config.max_page_count)
    member = state.catalog.members.get(grant.member_urn)
    roles = dict(member.roles) if member is not None else {}
    users = [
        {
            "account": account.urn,
            "role": roles[account.id],
            "user": grant.member_urn,
            "changeAuditStamps": {
                "created": {"time": state.catalog.epoch_ms},
                "lastModified": {"time": state.catalog.epoch_ms},
            },
        }
        for account in state.catalog.accounts.values()
        if account.id in roles
    ]
    chosen = users[page.start : page.start + page.count]
    raw_query = request.scope["query_string"].decode()
    elements = b",".join(dumps(u) for u in chosen)
    return page_response(elements, len(chosen), page, len(users), request.url.path, raw_query)


async def get_account(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    grant = await admit(request, state, ADS_SCOPE)
    raw_id = request.path_params["account_id"]
    account = state.catalog.accounts.get(int(raw_id)) if raw_id.isdigit() else None
    if account is None:
        raise not_found(f"adAccount {raw_id} does not exist")
    if not state.catalog.accessible(grant.member_urn, account.urn):
        raise forbidden(request.method, request.url.path)
    return json_response(account.to_json())
