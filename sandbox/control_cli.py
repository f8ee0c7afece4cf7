"""``leadsync sandbox <sub-command>``: drive a running sandbox through its control API.

Each command is one call to ``/sandbox/...`` on the sandbox at ``ctx.obj`` (the base URL
the ``leadsync sandbox`` callback worked out from ``--url`` or ``--port``/settings), and
prints the answer. Long operations (leads created at a rate) show a progress bar.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

leads_app = typer.Typer(no_args_is_help=True, help="Create, preload, show and delete leads.")
clock_app = typer.Typer(no_args_is_help=True, help="The sandbox clock.")
tokens_app = typer.Typer(no_args_is_help=True, help="Access tokens.")
config_app = typer.Typer(no_args_is_help=True, help="Runtime config: faults, throttling...")
state_app = typer.Typer(no_args_is_help=True, help="Save and load the sandbox state.")
webhooks_app = typer.Typer(no_args_is_help=True, help="Lead notification subscriptions.")
members_app = typer.Typer(no_args_is_help=True, help="The members, and who signs in.")
GROUPS = {
    "leads": leads_app,
    "members": members_app,
    "clock": clock_app,
    "tokens": tokens_app,
    "config": config_app,
    "state": state_app,
    "webhooks": webhooks_app,
}


def _call(ctx: typer.Context, method: str, path: str, body: Any = None) -> Any:
    try:
        response = httpx.request(method, f"{ctx.obj}{path}", json=body, timeout=120)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the sandbox at {ctx.obj}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        typer.echo(f"sandbox answered {response.status_code}: {response.text}", err=True)
        raise typer.Exit(1)
    return response.json() if response.content else None


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``3d`` -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if match is None:
        raise typer.BadParameter("expected a number with an optional unit s, m, h or d")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}[match[2]]
    return float(match[1]) * unit


def status(ctx: typer.Context) -> None:
    """Leads, forms, subscriptions and the clock of the running sandbox."""
    _print(_call(ctx, "GET", "/sandbox/status"))


@leads_app.command("create")
def leads_create(
    ctx: typer.Context,
    count: Annotated[int, typer.Argument(help="How many leads.")],
    rate: Annotated[float, typer.Option(help="Leads per second (0: all at once).")] = 0,
    form: Annotated[int | None, typer.Option(help="Form id (default: any live form).")] = None,
    test: Annotated[bool | None, typer.Option("--test/--no-test", help="Test leads.")] = None,
    invalid: Annotated[bool | None, typer.Option("--invalid/--valid", help="Bad answers.")] = (
        None
    ),
) -> None:
    """Create COUNT new leads (pushed to subscriptions), optionally at RATE per second."""
    body = {
        "count": count,
        "rate": rate,
        "formId": form,
        "testLead": test,
        "invalidAnswers": invalid,
    }
    answer = _call(ctx, "POST", "/sandbox/leads", body)
    if not rate:
        typer.echo(f"created {answer['created']} lead(s)")
        for lead_id in answer["ids"][:20]:
            typer.echo(f"  {lead_id}")
        return
    job_id = answer["id"]
    with typer.progressbar(length=count, label=f"creating at {rate:g}/s") as bar:
        done = 0
        while done < count:
            time.sleep(0.5)
            jobs = _call(ctx, "GET", "/sandbox/status")["jobs"]
            created = next(j["created"] for j in jobs if j["id"] == job_id)
            bar.update(created - done)
            done = created


@leads_app.command("preload")
def leads_preload(
    ctx: typer.Context,
    count: Annotated[int, typer.Argument(help="How many historic leads.")],
    spread_days: Annotated[float, typer.Option(help="Days they span, ending now.")] = 30,
    form: Annotated[int | None, typer.Option(help="Form id (default: any live form).")] = None,
) -> None:
    """Add COUNT historic leads (no notifications): what a backfill must pull."""
    body = {"count": count, "spreadDays": spread_days, "formId": form}
    answer = _call(ctx, "POST", "/sandbox/leads/preload", body)
    typer.echo(f"created {answer['created']} lead(s); {answer['leads']} in all")


@leads_app.command("show")
def leads_show(ctx: typer.Context, lead_id: str) -> None:
    """Print a lead with every field."""
    _print(_call(ctx, "GET", f"/sandbox/leads/{lead_id}"))


@leads_app.command("delete")
def leads_delete(ctx: typer.Context, lead_id: str) -> None:
    """Withdraw a lead: it is gone from the API and DELETED is pushed."""
    _call(ctx, "DELETE", f"/sandbox/leads/{lead_id}")
    typer.echo(f"deleted {lead_id}")


@clock_app.command("advance")
def clock_advance(
    ctx: typer.Context, duration: Annotated[str, typer.Argument(help="e.g. 90s, 2h, 61d")]
) -> None:
    """Move the sandbox clock forward (tokens expire, retention, webhook re-validation)."""
    _print(_call(ctx, "POST", "/sandbox/clock/advance", {"seconds": parse_duration(duration)}))


@tokens_app.command("issue")
def tokens_issue(
    ctx: typer.Context,
    member: Annotated[
        str | None, typer.Option(help="Person URN or id (default: the demo member).")
    ] = None,
) -> None:
    """Mint an access and refresh token for a member, skipping the OAuth dance."""
    _print(_call(ctx, "POST", "/sandbox/tokens", {"member": member} if member else {}))


@members_app.command("list")
def members_list(ctx: typer.Context) -> None:
    """Every member: URN, name, ad account roles, organizations, who is signed in."""
    _print(_call(ctx, "GET", "/sandbox/members"))


@members_app.command("signin")
def members_signin(
    ctx: typer.Context,
    member: Annotated[
        str | None, typer.Argument(help="Person URN or id (default: the demo member).")
    ] = None,
) -> None:
    """Sign MEMBER in: the authorization page approves as them until the next signin."""
    answer = _call(ctx, "POST", "/sandbox/signin", {"member": member})
    typer.echo(f"signed in: {answer['name']} ({answer['signedIn']})")


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token: Annotated[str | None, typer.Argument(help="Default: all.")] = None
) -> None:
    """Revoke one token's grant, or every grant."""
    answer = _call(ctx, "POST", "/sandbox/tokens/revoke", {"token": token} if token else {})
    typer.echo(f"revoked {answer['revoked']} grant(s)")


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the running config (the client secret masked)."""
    _print(_call(ctx, "GET", "/sandbox/config"))


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    assignments: Annotated[list[str], typer.Argument(help="KEY=VALUE, e.g. faults.error_rate=0.1")],
) -> None:
    """Change the running config; VALUE is JSON (numbers, true, null) or a plain string."""
    patch: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, raw = assignment.partition("=")
        if not separator:
            raise typer.BadParameter(f"{assignment!r} is not KEY=VALUE")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        target = patch
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    _print(_call(ctx, "PATCH", "/sandbox/config", patch))


@state_app.command("save")
def state_save(ctx: typer.Context, path: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Save the state (to PATH, or to the --state file the sandbox was started with)."""
    _print(_call(ctx, "POST", "/sandbox/state/save", {"path": str(path.resolve())} if path else {}))


@state_app.command("load")
def state_load(ctx: typer.Context, path: Path) -> None:
    """Replace the running state with the one saved in PATH."""
    _print(_call(ctx, "POST", "/sandbox/state/load", {"path": str(path.resolve())}))


@webhooks_app.command("list")
def webhooks_list(ctx: typer.Context) -> None:
    """Subscriptions with their validation state, and every handshake so far."""
    _print(_call(ctx, "GET", "/sandbox/webhooks"))


@webhooks_app.command("revalidate")
def webhooks_revalidate(ctx: typer.Context) -> None:
    """Challenge every unblocked subscription now (failures count towards blocking)."""
    _print(_call(ctx, "POST", "/sandbox/webhooks/revalidate"))


def pushes(
    ctx: typer.Context, since: Annotated[int, typer.Option(help="Skip the first N.")] = 0
) -> None:
    """What was pushed: every notification attempt and loss, with signature and outcome."""
    _print(_call(ctx, "GET", f"/sandbox/pushes?since={since}"))
