"""``/rest/leadFormResponses`` and ``/rest/leadForms``: finders and gets.

Finder parameters are read from the raw query string and checked strictly (see
:mod:`sandbox.restli`); an unknown parameter answers 400 rather than being ignored, so a
misspelt filter cannot silently widen a backfill. ``submittedAtTimeRange`` is optional, but
when given it needs both ``start`` and ``end``. An owner (or a lead's or form's owner) the
token's member has no role on answers 403.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from sandbox.errors import bad_request, forbidden, not_found
from sandbox.guard import LEADGEN_SCOPE, admit
from sandbox.leads import LeadRecord, dumps, project
from sandbox.paging import json_response, page_params, page_response
from sandbox.restli import (
    FieldSpec,
    RestliValue,
    parse_bool,
    parse_int,
    parse_leaf,
    parse_projection,
    parse_structured,
    split_query,
)
from sandbox.state import SandboxState
from sandbox.store import LeadQuery

SPONSORED = "SPONSORED"
ORGANIC = ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")
_OWNER_URN = {
    "sponsoredAccount": re.compile(r"^urn:li:sponsoredAccount:\d+$"),
    "organization": re.compile(r"^urn:li:organization:\d+$"),
}
_VERSIONED_FORM = re.compile(r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:\d+,\d+\)$")
_LEAD_FINDER = {
    "q", "owner", "leadType", "limitedToTestLeads", "submittedAtTimeRange",
    "versionedLeadGenFormUrn", "fields", "start", "count",
}  # fmt: skip
_FORM_FINDER = {"q", "owner", "fields", "start", "count"}


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def parse_owner(value: RestliValue) -> tuple[str, str]:
    """``(sponsoredAccount:<urn>)`` or ``(organization:<urn>)`` -> (key, URN)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise bad_request("owner must be (sponsoredAccount:<urn>) or (organization:<urn>)")
    ((key, urn),) = value.items()
    pattern = _OWNER_URN.get(key)
    if pattern is None or not isinstance(urn, str) or not pattern.match(urn):
        raise bad_request(f"owner: {key}:{urn!r} is not a sponsoredAccount or organization URN")
    return key, urn


def lead_types(owner_key: str) -> tuple[str, ...]:
    """The lead types an owner has: sponsored for an ad account, organic for an organization."""
    return (SPONSORED,) if owner_key == "sponsoredAccount" else ORGANIC


def parse_lead_type(params: dict[str, str], owner_key: str) -> str:
    if "leadType" not in params:
        lead_type = SPONSORED
    else:
        value = parse_structured("leadType", params["leadType"])
        if not isinstance(value, dict) or set(value) != {"leadType"}:
            raise bad_request("leadType must be (leadType:<type>)")
        lead_type = str(value["leadType"])
    if lead_type not in lead_types(owner_key):
        raise bad_request(f"leadType {lead_type} does not apply to a {owner_key} owner")
    return lead_type


def parse_time_range(raw: str) -> tuple[int, int]:
    value = parse_structured("submittedAtTimeRange", raw)
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise bad_request("submittedAtTimeRange must be (start:<epoch ms>,end:<epoch ms>)")
    start = parse_int("submittedAtTimeRange.start", str(value["start"]))
    end = parse_int("submittedAtTimeRange.end", str(value["end"]))
    if end < start:
        raise bad_request("submittedAtTimeRange: end is before start")
    return start, end


class LeadProjection:
    """How to render leads for one ``fields=`` value, worked out once per request.

    Each lead keeps the bytes of its last projection without the form (keyed by the raw
    ``fields`` text), so the pages of a backfill, which all ask for the same projection,
    serialise each lead once; the form's bytes are shared by all leads of a version and
    spliced in per response rather than stored with every lead.
    """

    def __init__(self, state: SandboxState, raw_fields: str | None) -> None:
        self._state = state
        self.key = "" if raw_fields is None else raw_fields
        specs = parse_projection(raw_fields) if raw_fields is not None else None
        self._default = specs is None
        others = tuple(s for s in specs or () if s.name != "form")
        self._others = others
        self._names = tuple(s.name for s in others)
        self._flat = all(s.children is None for s in others)
        self._form = next((s for s in specs or () if s.name == "form"), None)

    def extend(self, out: list[bytes], lead: LeadRecord) -> None:
        """Append the lead's JSON to ``out`` as pieces, for one ``b"".join`` per page."""
        body = lead.cached(self.key, self._build)
        if self._form is None:
            out.append(body)
        else:
            out += (body, _form_fragment(self._state, lead.form_urn, self._form), b"}")

    def render(self, lead: LeadRecord) -> bytes:
        pieces: list[bytes] = []
        self.extend(pieces, lead)
        return b"".join(pieces)

    def _build(self, lead: LeadRecord) -> bytes:
        if self._default:
            return lead.projected(None)
        if self._flat:
            body = lead.projected(self._names)
        else:
            body = dumps(project(lead.full(), self._others))
        if self._form is None:
            return body
        # Kept open, ready for the form: "{...,"form":" (the form and "}" follow).
        return body[:-1] + (b',"form":' if len(body) > 2 else b'"form":')


def _form_fragment(state: SandboxState, form_urn: str, spec: FieldSpec) -> bytes:
    key = (form_urn, spec)
    fragment = state.form_fragments.get(key)
    if fragment is None:
        form = state.catalog.versions[form_urn].to_json()
        fragment = dumps(form if spec.children is None else project(form, spec.children))
        state.form_fragments[key] = fragment
    return fragment


async def find_leads(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    params = split_query(request.scope["query_string"], _LEAD_FINDER)
    if params.get("q") != "owner":
        raise bad_request("leadFormResponses supports the finder q=owner")
    if "owner" not in params:
        raise bad_request("the owner finder needs owner=(sponsoredAccount:<urn>)")
    owner_key, owner_urn = parse_owner(parse_structured("owner", params["owner"]))
    lead_type = parse_lead_type(params, owner_key)
    start_ms, end_ms = (
        parse_time_range(params["submittedAtTimeRange"])
        if "submittedAtTimeRange" in params
        else (0, 2**62)
    )
    version = None
    if "versionedLeadGenFormUrn" in params:
        version = re.sub(
            r"\s+", "", parse_leaf("versionedLeadGenFormUrn", params["versionedLeadGenFormUrn"])
        )
        if not _VERSIONED_FORM.match(version):
            raise bad_request(f"versionedLeadGenFormUrn: {version!r} is not a versioned form URN")
    tests_only = (
        parse_bool("limitedToTestLeads", params["limitedToTestLeads"])
        if "limitedToTestLeads" in params
        else False
    )
    projection = LeadProjection(state, params.get("fields"))
    page = page_params(params, state.config.max_page_count)
    if not state.catalog.accessible(grant.member_urn, owner_urn):
        raise forbidden(request.method, request.url.path)
    state.prune()
    query = LeadQuery(owner_urn, lead_type, version, tests_only, start_ms, end_ms)
    leads, total = state.store.find(query, page.start, page.count)
    pieces: list[bytes] = []
    for position, lead in enumerate(leads):
        if position:
            pieces.append(b",")
        projection.extend(pieces, lead)
    raw_query = request.scope["query_string"].decode()
    return page_response(b"".join(pieces), len(leads), page, total, request.url.path, raw_query)


async def get_lead(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    params = split_query(request.scope["query_string"], {"fields"})
    projection = LeadProjection(state, params.get("fields"))
    state.prune()
    lead = state.store.get(request.path_params["lead_id"])
    if lead is None:
        raise not_found(f"leadFormResponse {request.path_params['lead_id']} does not exist")
    if not state.catalog.accessible(grant.member_urn, lead.owner_urn):
        raise forbidden(request.method, request.url.path)
    return Response(projection.render(lead), media_type="application/json")


async def find_forms(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    params = split_query(request.scope["query_string"], _FORM_FINDER)
    if params.get("q") != "owner" or "owner" not in params:
        raise bad_request("leadForms supports the finder q=owner&owner=(sponsoredAccount:<urn>)")
    _, owner_urn = parse_owner(parse_structured("owner", params["owner"]))
    specs = parse_projection(params["fields"]) if "fields" in params else None
    page = page_params(params, state.config.max_page_count)
    if not state.catalog.accessible(grant.member_urn, owner_urn):
        raise forbidden(request.method, request.url.path)
    forms = sorted(state.catalog.forms_of(owner_urn), key=lambda f: f.latest.created)
    chosen = forms[page.start : page.start + page.count]
    elements = b",".join(_form_json(f.latest.to_json(), specs) for f in chosen)
    raw_query = request.scope["query_string"].decode()
    return page_response(elements, len(chosen), page, len(forms), request.url.path, raw_query)


async def get_form(request: Request) -> Response:
    state = _state(request)
    grant = await admit(request, state, LEADGEN_SCOPE)
    params = split_query(request.scope["query_string"], {"fields"})
    specs = parse_projection(params["fields"]) if "fields" in params else None
    raw_id = request.path_params["form_id"]
    form = state.catalog.forms.get(int(raw_id)) if raw_id.isdigit() else None
    if form is None:
        raise not_found(f"leadForm {raw_id} does not exist")
    if not state.catalog.accessible(grant.member_urn, form.latest.owner_urn):
        raise forbidden(request.method, request.url.path)
    return json_response(project(form.latest.to_json(), specs) if specs else form.latest.to_json())


def _form_json(form: dict[str, object], specs: tuple[FieldSpec, ...] | None) -> bytes:
    return dumps(project(form, specs) if specs else form)
