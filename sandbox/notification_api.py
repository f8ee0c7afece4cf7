"""``/rest/leadNotifications``: create, list (``q=criteria``), get and delete subscriptions.

Create answers 201 with the new id in ``x-restli-id`` and no body, after the webhook passed
the challenge handshake (400 otherwise). Creating the same subscription twice makes two, as
LinkedIn does: that is why clients must list before they create. Subscriptions are the
app's, per owner: every member with a role on the owner sees and manages the same ones, and
a member without one gets 403.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.bodies import read_json
from sandbox.errors import bad_request, forbidden, not_found
from sandbox.guard import LEADGEN_SCOPE, admit
from sandbox.lead_api import SPONSORED, lead_types, parse_lead_type, parse_owner
from sandbox.leads import dumps
from sandbox.paging import json_response, page_params, page_response
from sandbox.restli import parse_structured, split_query
from sandbox.state import SandboxState
from sandbox.webhooks import Subscription

_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def subscription_fields(
    body: dict[str, Any], state: SandboxState, member_urn: str
) -> dict[str, Any]:
    """Validate ``member_urn``'s create body; the fields of the new :class:`Subscription`."""
    unknown = sorted(set(body) - {"webhook", "owner", "leadType", "versionedForm"})
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)}")
    webhook = body.get("webhook")
    if not isinstance(webhook, str) or not _URL.match(webhook):
        raise bad_request("webhook must be an http(s) URL")
    owner = body.get("owner")
    if not isinstance(owner, dict):
        raise bad_request('owner must be {"sponsoredAccount": <urn>} or {"organization": <urn>}')
    owner_key, owner_urn = parse_owner(owner)
    lead_type = body.get("leadType", SPONSORED)
    if lead_type not in lead_types(owner_key):
        raise bad_request(f"leadType {lead_type!r} does not apply to a {owner_key} owner")
    form = body.get("versionedForm")
    if form is not None:
        version = state.catalog.versions.get(re.sub(r"\s+", "", str(form)))
        if version is None or version.owner_urn != owner_urn:
            raise bad_request(f"versionedForm {form!r} is not a form of {owner_urn}")
        form = version.urn
    if not state.catalog.accessible(member_urn, owner_urn):
        raise forbidden("POST", "/rest/leadNotifications")
    return {
        "webhook": webhook,
        "owner_key": owner_key,
        "owner_urn": owner_urn,
        "lead_type": lead_type,
        "versioned_form": form,
    }


async def create_subscription(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise bad_request("Content-Type must be application/json")
    fields = subscription_fields(await read_json(request), state, grant.member_urn)
    subscription = await state.subscribe(fields)
    return Response(status_code=201, headers={"x-restli-id": str(subscription.id)})


async def find_subscriptions(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    params = split_query(
        request.scope["query_string"], {"q", "owner", "leadType", "start", "count"}
    )
    if params.get("q") != "criteria" or "owner" not in params:
        raise bad_request("leadNotifications supports q=criteria&owner=(value:(...))")
    wrapper = parse_structured("owner", params["owner"])
    if not isinstance(wrapper, dict) or set(wrapper) != {"value"}:
        raise bad_request("owner must be (value:(sponsoredAccount:<urn>))")
    owner_key, owner_urn = parse_owner(wrapper["value"])
    lead_type = parse_lead_type(params, owner_key) if "leadType" in params else None
    page = page_params(params, state.config.max_page_count)
    if not state.catalog.accessible(grant.member_urn, owner_urn):
        raise forbidden(request.method, request.url.path)
    found = [
        s
        for s in state.webhooks.subscriptions.values()
        if s.owner_urn == owner_urn and lead_type in (None, s.lead_type)
    ]
    chosen = found[page.start : page.start + page.count]
    raw_query = request.scope["query_string"].decode()
    elements = b",".join(dumps(s.to_json()) for s in chosen)
    return page_response(elements, len(chosen), page, len(found), request.url.path, raw_query)


def _subscription(request: Request, state: SandboxState, member_urn: str) -> Subscription:
    raw_id = request.path_params["subscription_id"]
    subscription = state.webhooks.subscriptions.get(int(raw_id)) if raw_id.isdigit() else None
    if subscription is None:
        raise not_found(f"leadNotification {raw_id} does not exist")
    if not state.catalog.accessible(member_urn, subscription.owner_urn):
        raise forbidden(request.method, request.url.path)
    return subscription


async def get_subscription(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    return json_response(_subscription(request, state, grant.member_urn).to_json())


async def delete_subscription(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    subscription = _subscription(request, state, grant.member_urn)
    del state.webhooks.subscriptions[subscription.id]
    return Response(status_code=204)
