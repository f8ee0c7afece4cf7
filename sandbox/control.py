"""The control API under ``/sandbox/...``: a path LinkedIn does not use.

What tests, the demo and ``leadsync sandbox ...`` sub-commands drive: create leads (at once
or at a rate), preload history, delete a lead, move the clock, change the config (faults,
throttling, signature variant...), list the members and choose who signs in, mint and revoke
tokens, re-validate webhooks, read what was pushed, save and load the state. It has no
authentication: the sandbox only listens on loopback. Bodies are JSON objects; answers are
JSON.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bodies import read_json
from sandbox.errors import bad_request, not_found
from sandbox.guard import live_versions
from sandbox.oauth import DEFAULT_SCOPES, SCOPES
from sandbox.paging import json_response
from sandbox.state import SandboxState

MAX_SYNC_IDS = 1000


@dataclass
class LeadJob:
    """Leads being created in the background at a rate."""

    id: int
    count: int
    rate: float
    created: int = 0
    done: bool = False


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _number(body: dict[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{key} must be a number in [{low:g}, {high:g}]")
    return float(value)


def _form_id(body: dict[str, Any], state: SandboxState) -> Any:
    """The body's ``formId``: None (any live form) or a form of the catalog."""
    form_id = body.get("formId")
    if form_id is not None and form_id not in state.catalog.forms:
        raise bad_request(f"no form {form_id}")
    return form_id


async def status(request: Request) -> Response:
    state = _state(request)
    catalog = state.catalog
    oldest, newest = live_versions(state.clock.now_ms(), state.config.version_lifetime_months)
    demo = catalog.default_member
    return json_response(
        {
            "now": state.clock.now_ms(),
            "leads": len(state.store),
            "member": demo.urn,
            "memberName": demo.name,
            "signedIn": state.signed_in.urn,
            "members": [m.to_json() for m in catalog.members.values()],
            "liveVersions": {"oldest": oldest, "newest": newest},
            # "role": the demo member's; "users": every member's.
            "adAccounts": [
                {
                    **a.to_json(),
                    "role": demo.role_on(a.id),
                    "users": [{"user": u, "role": r} for u, r in catalog.users_of(a.id)],
                }
                for a in catalog.accounts.values()
            ],
            "organization": {"urn": catalog.organization_urn, "name": catalog.organization_name},
            "forms": [
                {
                    "id": f.id,
                    "name": f.latest.name,
                    "owner": f.latest.owner_urn,
                    "leadType": f.latest.lead_type,
                    "state": f.latest.state,
                    "versions": [v.urn for v in f.versions],
                }
                for f in catalog.forms.values()
            ],
            "subscriptions": [s.status() for s in state.webhooks.subscriptions.values()],
            "pushes": len(state.pusher.log),
            "jobs": [asdict(j) for j in request.app.state.jobs.values()],
        }
    )


async def get_config(request: Request) -> Response:
    return json_response(_state(request).config.public())


async def patch_config(request: Request) -> Response:
    state = _state(request)
    patch = await read_json(request)
    if "seed" in patch or "client_secret" in patch:
        raise bad_request("seed and client_secret are fixed while the sandbox runs")
    try:
        state.config = state.config.patched(patch)
    except ValidationError as exc:
        raise bad_request(f"invalid config: {exc.errors(include_input=False)}") from None
    return json_response(state.config.public())


async def create_leads(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request)
    count = int(_number(body, "count", 1, low=1, high=1_000_000))
    rate = _number(body, "rate", 0, low=0, high=100_000)
    options: dict[str, Any] = {
        "form_id": _form_id(body, state),
        "test_lead": body.get("testLead"),
        "invalid": body.get("invalidAnswers"),
    }
    if rate == 0:
        leads = [state.add_lead(**options) for _ in range(count)]
        return json_response(
            {"created": len(leads), "ids": [lead.id for lead in leads[:MAX_SYNC_IDS]]}, 201
        )
    jobs: dict[int, LeadJob] = request.app.state.jobs
    job = LeadJob(id=len(jobs) + 1, count=count, rate=rate)
    jobs[job.id] = job
    tasks: set[asyncio.Task[None]] = request.app.state.tasks
    task = asyncio.create_task(_run_job(state, job, options))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return json_response(asdict(job), 202)


async def _run_job(state: SandboxState, job: LeadJob, options: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while job.created < job.count:
        # Paced against the start time, so slow iterations do not lower the rate.
        due = started + job.created / job.rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        state.add_lead(**options)
        job.created += 1
    job.done = True


async def preload(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request)
    count = int(_number(body, "count", 1000, low=1, high=2_000_000))
    spread = _number(body, "spreadDays", 30, low=0.001, high=3650)
    created = state.preload(count, spread, _form_id(body, state))
    return json_response({"created": created, "leads": len(state.store)}, 201)


async def get_lead(request: Request) -> Response:
    lead = _state(request).store.get(request.path_params["lead_id"])
    if lead is None:
        raise not_found(f"no lead {request.path_params['lead_id']}")
    return json_response(lead.full())


async def delete_lead(request: Request) -> Response:
    state = _state(request)
    lead = state.delete_lead(request.path_params["lead_id"])
    return json_response({"deleted": lead.id})


async def advance_clock(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request)
    seconds = _number(body, "seconds", 0, low=0, high=10 * 365 * 86_400)
    now = state.clock.advance(seconds)
    challenges = await state.revalidate()
    return json_response(
        {"now": now, "pruned": state.prune(), "challenges": [asdict(c) for c in challenges]}
    )


def _designation(body: dict[str, Any]) -> str | None:
    member = body.get("member")
    if member is not None and not isinstance(member, str):
        raise bad_request("member must be a person URN or its id (or null)")
    return member


async def members(request: Request) -> Response:
    state = _state(request)
    signed_in = state.signed_in.urn
    return json_response(
        {
            "members": [
                {**m.to_json(), "signedIn": m.urn == signed_in}
                for m in state.catalog.members.values()
            ]
        }
    )


async def sign_in(request: Request) -> Response:
    """``{"member": <URN or id>}``: who approves authorization requests from now on, as a
    browser session would; ``{"member": null}`` (or ``{}``): the demo member again."""
    state = _state(request)
    body = await read_json(request, allow_empty=True)
    member = state.sign_in(_designation(body))
    return json_response({"signedIn": member.urn, "name": member.name})


async def mint_token(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request, allow_empty=True)
    scopes = body.get("scopes", list(DEFAULT_SCOPES))
    if not isinstance(scopes, list) or not all(s in SCOPES for s in scopes):
        raise bad_request(f"scopes must be a list drawn from {', '.join(SCOPES)}")
    designation = _designation(body)
    member = state.catalog.default_member if designation is None else state.member(designation)
    config = state.config
    answer = state.tokens.new_grant(
        member.urn, scopes, config.access_token_ttl_s, config.refresh_token_ttl_s
    )
    return json_response(answer, 201)


async def revoke_tokens(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request, allow_empty=True)
    token = body.get("token")
    revoked = state.tokens.revoke(token) if isinstance(token, str) else state.tokens.revoke_all()
    return json_response({"revoked": int(revoked)})


async def webhooks(request: Request) -> Response:
    state = _state(request)
    return json_response(
        {
            "subscriptions": [s.status() for s in state.webhooks.subscriptions.values()],
            "challenges": [asdict(c) for c in state.webhooks.challenges],
        }
    )


async def revalidate(request: Request) -> Response:
    challenges = await _state(request).revalidate(everything=True)
    return json_response({"challenges": [asdict(c) for c in challenges]})


async def pushes(request: Request) -> Response:
    since = request.query_params.get("since", "0")
    if not since.isdigit():
        raise bad_request("since must be a non-negative integer")
    return json_response({"pushes": _state(request).pusher.records(int(since))})


async def flush_pushes(request: Request) -> Response:
    state = _state(request)
    await asyncio.wait_for(state.pusher.drain(), timeout=60)
    return json_response({"pushes": len(state.pusher.log)})


def _state_path(request: Request, body: dict[str, Any]) -> Path:
    path = body.get("path") or request.app.state.state_file
    if not path:
        raise bad_request("no path given and the sandbox was started without --state")
    return Path(str(path))


async def save_state(request: Request) -> Response:
    path = _state_path(request, await read_json(request, allow_empty=True))
    leads = _state(request).save(path)
    return json_response({"saved": str(path), "leads": leads})


async def load_state(request: Request) -> Response:
    path = _state_path(request, await read_json(request, allow_empty=True))
    state = _state(request)
    try:
        leads = await state.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise bad_request(f"cannot load {path}: {exc}") from None
    return json_response({"loaded": str(path), "leads": leads})


routes = [
    Route("/sandbox/status", status, methods=["GET"]),
    Route("/sandbox/config", get_config, methods=["GET"]),
    Route("/sandbox/config", patch_config, methods=["PATCH"]),
    Route("/sandbox/leads", create_leads, methods=["POST"]),
    Route("/sandbox/leads/preload", preload, methods=["POST"]),
    Route("/sandbox/leads/{lead_id}", get_lead, methods=["GET"]),
    Route("/sandbox/leads/{lead_id}", delete_lead, methods=["DELETE"]),
    Route("/sandbox/clock/advance", advance_clock, methods=["POST"]),
    Route("/sandbox/members", members, methods=["GET"]),
    Route("/sandbox/signin", sign_in, methods=["POST"]),
    Route("/sandbox/tokens", mint_token, methods=["POST"]),
    Route("/sandbox/tokens/revoke", revoke_tokens, methods=["POST"]),
    Route("/sandbox/webhooks", webhooks, methods=["GET"]),
    Route("/sandbox/webhooks/revalidate", revalidate, methods=["POST"]),
    Route("/sandbox/pushes", pushes, methods=["GET"]),
    Route("/sandbox/pushes/flush", flush_pushes, methods=["POST"]),
    Route("/sandbox/state/save", save_state, methods=["POST"]),
    Route("/sandbox/state/load", load_state, methods=["POST"]),
]
