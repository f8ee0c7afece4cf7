"""``leadsync sandbox``: run the LinkedIn sandbox, or drive a running one.

``leadsync sandbox`` alone starts the server on loopback (``LEADSYNC_SANDBOX_PORT``, 8090).
Its registered app accepts the client id and secret from leadsync's settings; when those
are not configured (no LinkedIn secrets outside demo mode) the demo ones are used, so that
``LEADSYNC_DEMO=true`` leadsync works against it with no setup. The sub-commands talk to a
running sandbox's control API (``/sandbox/...``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from leadsync.settings import ConfigurationError, Settings, load_settings
from sandbox import control_cli
from sandbox.app import create_app
from sandbox.config import (
    REDIRECT_URI,
    FaultConfig,
    GenerationConfig,
    PushFaultConfig,
    SandboxConfig,
    SignatureVariant,
    ThrottleConfig,
)
from sandbox.server import serve
from sandbox.state import SandboxState

app = typer.Typer(help="The LinkedIn sandbox: a local stand-in for LinkedIn's Lead Sync APIs.")
for name, group in control_cli.GROUPS.items():
    app.add_typer(group, name=name)
app.command()(control_cli.status)
app.command()(control_cli.pushes)

DEMO_PRELOAD = 300
DEMO_TRICKLE_S = 20.0


def _settings() -> Settings:
    """leadsync's settings, or the demo ones when no LinkedIn secrets are configured."""
    try:
        return load_settings()
    except ConfigurationError:
        return load_settings(demo=True)


# The config members each start-up option sets: with --state, the options given on the
# command line override the file's config, the others leave it as saved.
OPTION_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "demo": (("generation", "trickle_every_s"),),
    "trickle_every": (("generation", "trickle_every_s"),),
    "error_rate": (("faults", "error_rate"),),
    "latency_ms": (("faults", "latency_ms"),),
    "member_limit": (("throttle", "member_daily_limit"),),
    "app_limit": (("throttle", "app_daily_limit"),),
    "retry_after": (("throttle", "retry_after"),),
    "push_drop": (("push_faults", "drop_rate"),),
    "push_duplicate": (("push_faults", "duplicate_rate"),),
    "push_delay": (("push_faults", "delay_rate"),),
    "push_reorder": (("push_faults", "reorder_rate"),),
    "signature": (("signature_variant",),),
    "retention_days": (("retention_days",),),
    "member_name": (("member_first_name",), ("member_last_name",)),
    "redirect_uri": (("redirect_uris",),),
}


def options_patch(config: SandboxConfig, given: set[str]) -> dict[str, Any]:
    """The part of ``config`` (built from the command line) that the ``given`` options set,
    as a patch for :meth:`SandboxConfig.patched`."""
    values = config.model_dump()
    patch: dict[str, Any] = {}
    for option in sorted(given & OPTION_FIELDS.keys()):
        for path in OPTION_FIELDS[option]:
            source, target = values, patch
            for key in path[:-1]:
                source, target = source[key], target.setdefault(key, {})
            target[path[-1]] = source[path[-1]]
    return patch


def _given(ctx: typer.Context, name: str) -> bool:
    # By name: typer bundles its own click, whose ParameterSource is not click's.
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port (default: LEADSYNC_SANDBOX_PORT).")] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same forms and leads.")] = 1,
    demo: Annotated[
        bool, typer.Option(help=f"Preload {DEMO_PRELOAD} leads; one new lead every 20 s.")
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Load the state from FILE if it exists (options given here override its"
            " config; its forms and leads stand); save it on exit."
        ),
    ] = None,
    preload: Annotated[int, typer.Option(help="Historic leads to create at start.")] = 0,
    spread_days: Annotated[float, typer.Option(help="Days the preloaded leads span.")] = 30,
    trickle_every: Annotated[float, typer.Option(help="Seconds between new leads (0: off).")] = 0,
    error_rate: Annotated[float, typer.Option(help="Share of REST calls answering 5xx.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Latency added to REST calls.")] = 0,
    member_limit: Annotated[
        int | None, typer.Option(help="Daily request budget per member.")
    ] = None,
    app_limit: Annotated[int | None, typer.Option(help="Daily request budget of the app.")] = None,
    retry_after: Annotated[bool, typer.Option(help="Send Retry-After with 429s.")] = False,
    push_drop: Annotated[float, typer.Option(help="Share of notifications dropped.")] = 0,
    push_duplicate: Annotated[float, typer.Option(help="Share sent twice.")] = 0,
    push_delay: Annotated[float, typer.Option(help="Share delayed (up to 2 s).")] = 0,
    push_reorder: Annotated[float, typer.Option(help="Share sent after the next one.")] = 0,
    signature: Annotated[
        SignatureVariant, typer.Option(help="X-LI-Signature reading: a, b or c.")
    ] = SignatureVariant.PREFIXED_BODY,
    retention_days: Annotated[int, typer.Option(help="Leads older than this are gone.")] = 365,
    member_name: Annotated[
        str, typer.Option(help="The demo member's name (approves OAuth unless another signs in).")
    ] = "Demo Member",
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            help="A registered redirect URI (repeatable): authorizations must use one exactly."
            " None given: any http(s) URI is accepted."
        ),
    ] = None,
    url: Annotated[str | None, typer.Option(help="A running sandbox (sub-commands).")] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 only inside a container).")
    ] = "127.0.0.1",
) -> None:
    """Start the LinkedIn sandbox (without a sub-command), or drive a running one."""
    settings = _settings()
    listen_port = port or settings.sandbox_port
    ctx.obj = url or f"http://127.0.0.1:{listen_port}"
    if ctx.invoked_subcommand is not None:
        return
    first, _, last = member_name.partition(" ")
    for uri in redirect_uri or ():
        if not REDIRECT_URI.match(uri):
            raise typer.BadParameter(
                f"{uri!r} is not an absolute http(s) URL without a fragment",
                param_hint="'--redirect-uri'",
            )
    config = SandboxConfig(
        seed=seed,
        client_id=settings.linkedin_client_id,
        client_secret=settings.linkedin_client_secret,
        member_first_name=first,
        member_last_name=last,
        redirect_uris=tuple(redirect_uri or ()),
        retention_days=retention_days,
        signature_variant=signature,
        throttle=ThrottleConfig(
            member_daily_limit=member_limit, app_daily_limit=app_limit, retry_after=retry_after
        ),
        faults=FaultConfig(error_rate=error_rate, latency_ms=latency_ms),
        push_faults=PushFaultConfig(
            drop_rate=push_drop,
            duplicate_rate=push_duplicate,
            delay_rate=push_delay,
            reorder_rate=push_reorder,
        ),
        generation=GenerationConfig(trickle_every_s=trickle_every or (DEMO_TRICKLE_S * demo)),
    )
    sandbox = SandboxState(config)
    if state is not None and state.exists():
        leads = asyncio.run(sandbox.load(state))
        given = {name for name in ctx.params if _given(ctx, name)}
        sandbox.config = sandbox.config.patched(options_patch(config, given))
        for ignored in sorted(given & {"seed", "preload", "spread_days"}):
            typer.echo(f"--{ignored.replace('_', '-')} ignored: the forms and leads are {state}'s")
        typer.echo(f"loaded {leads} leads from {state}")
    else:
        count = preload or (DEMO_PRELOAD if demo else 0)
        if count:
            sandbox.preload(count, spread_days)
    logging.basicConfig(level=settings.log_level.upper())
    typer.echo(
        f"LinkedIn sandbox on http://{host}:{listen_port} "
        f"(API /rest, OAuth /oauth/v2, control /sandbox; {len(sandbox.store)} leads, "
        f"member {sandbox.catalog.member_urn})"
    )
    serve(create_app(sandbox, state_file=state), host, listen_port)
