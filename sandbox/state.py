"""Everything one sandbox holds, and the operations the REST and control APIs share.

State lives in memory. :meth:`SandboxState.save` writes it to one JSON file and
:meth:`SandboxState.load` reads it back (the catalog is rebuilt from the seed and its epoch,
so the file holds only what changed: leads, grants, subscriptions, the generator's random
state, the clock and the member signed in). The app's client secret is never written to the
file.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from sandbox.catalog import DAY_MS, Catalog, FormVersion, build_catalog
from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.errors import RestliError, bad_request
from sandbox.faults import FaultInjector, RequestBudget
from sandbox.generate import LeadGenerator
from sandbox.leads import LeadRecord
from sandbox.members import Member, find_member
from sandbox.oauth import TokenStore
from sandbox.push import Pusher
from sandbox.restli import FieldSpec
from sandbox.store import LeadStore
from sandbox.webhooks import Challenge, Subscription, WebhookRegistry, run_challenge

STATE_FORMAT = 1


class SandboxState:
    """The sandbox's world, leads, tokens and subscriptions, and the clock they live by."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        clock: Clock | None = None,
        *,
        catalog_epoch_ms: int | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock or Clock()
        self.http: httpx.AsyncClient | None = None
        # The background tick and the control API both re-validate; one at a time, or a
        # subscription due once would be challenged (and maybe failed) twice.
        self._revalidating = asyncio.Lock()
        self._build(self.clock.now_ms() if catalog_epoch_ms is None else catalog_epoch_ms)

    def _build(self, epoch_ms: int) -> None:
        seed = self.config.seed
        self.catalog: Catalog = build_catalog(
            seed,
            epoch_ms,
            member_first_name=self.config.member_first_name,
            member_last_name=self.config.member_last_name,
        )
        self.store = LeadStore()
        self.tokens = TokenStore(self.clock)
        self.generator = LeadGenerator(self.catalog, seed)
        self.budget = RequestBudget()
        self.faults = FaultInjector(seed)
        self.webhooks = WebhookRegistry()
        self.pusher = Pusher(self.webhooks, self.faults, lambda: self.config, self.clock)
        self.pusher.client = self.http
        # Who approves authorization requests (None: the demo member), as a browser session.
        self._signed_in: str | None = None
        # Serialised form projections by (version URN, projection); forms never change.
        self.form_fragments: dict[tuple[str, FieldSpec], bytes] = {}

    async def start(self) -> None:
        """Open the outgoing HTTP client (handshakes and notifications)."""
        self.http = httpx.AsyncClient(follow_redirects=False)
        self.pusher.client = self.http

    async def stop(self) -> None:
        await self.pusher.close()
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    # Members.

    @property
    def signed_in(self) -> Member:
        """The member signed in at "linkedin.com": who approves the authorization page."""
        members = self.catalog.members
        return members.get(self._signed_in or "") or self.catalog.default_member

    def member(self, designation: str) -> Member:
        """The member a person URN or id designates; 400 if there is none."""
        member = find_member(self.catalog.members, designation)
        if member is None:
            raise bad_request(f"no member {designation}")
        return member

    def sign_in(self, designation: str | None) -> Member:
        """Sign ``designation`` in (None: back to the demo member) until the next change."""
        self._signed_in = None if designation is None else self.member(designation).urn
        return self.signed_in

    # Leads.

    def retention_cutoff_ms(self) -> int:
        return self.clock.now_ms() - self.config.retention_days * DAY_MS

    def prune(self) -> int:
        """Forget leads past retention. LinkedIn sends no notification for these."""
        return self.store.drop_before(self.retention_cutoff_ms())

    def pick_version(self, at_ms: int, form_id: int | None = None) -> FormVersion:
        """The version a new lead at ``at_ms`` fills: of ``form_id``, or of a random form."""
        if form_id is not None:
            form = self.catalog.forms.get(form_id)
            if form is None:
                raise bad_request(f"no form {form_id}")
            version = form.version_at(at_ms)
            return version or form.versions[0]
        rng = self.generator.rng
        forms = [f for f in self.catalog.live_forms() if f.version_at(at_ms) is not None]
        if not forms:
            forms = self.catalog.live_forms()
            return rng.choice(forms).versions[0]
        chosen = rng.choice(forms).version_at(at_ms)
        assert chosen is not None
        return chosen

    def add_lead(
        self,
        *,
        form_id: int | None = None,
        at_ms: int | None = None,
        test_lead: bool | None = None,
        invalid: bool | None = None,
        notify: bool = True,
    ) -> LeadRecord:
        """Create one lead now (or at ``at_ms``) and push CREATED to matching subscriptions."""
        at = self.clock.now_ms() if at_ms is None else at_ms
        version = self.pick_version(at, form_id)
        lead = self.generator.lead(
            version, at, self.config.generation, test_lead=test_lead, invalid=invalid
        )
        self.store.add(lead)
        if notify:
            self.pusher.notify(lead, "CREATED")
        return lead

    def preload(self, count: int, spread_days: float, form_id: int | None = None) -> int:
        """Add ``count`` historic leads spread over the last ``spread_days``, oldest first,
        on ``form_id`` (the version live at each lead's time) or on random live forms.

        No notifications: these are the leads a backfill must pull.
        """
        now = self.clock.now_ms()
        span = min(spread_days * DAY_MS, self.config.retention_days * DAY_MS - 60_000)
        draw = random.Random(f"preload-{self.config.seed}-{len(self.store)}")  # noqa: S311 - seeded on purpose: replayable
        times = sorted(now - int(draw.random() * span) for _ in range(count))
        with bulk_load():
            for at in times:
                self.add_lead(form_id=form_id, at_ms=at, notify=False)
        return count

    def delete_lead(self, lead_id: str) -> LeadRecord:
        """Withdraw a lead and push DELETED to matching subscriptions."""
        lead = self.store.remove(lead_id)
        if lead is None:
            raise RestliError(404, f"no lead {lead_id}", 404)
        self.pusher.notify(lead, "DELETED")
        return lead

    # Webhooks.

    async def challenge(self, url: str, subscription_id: int | None) -> Challenge:
        if self.http is None:
            raise RuntimeError("the sandbox is not started")
        secret = self.config.client_secret.get_secret_value()
        ok, reason = await run_challenge(self.http, url, secret, self.config.challenge_timeout_s)
        challenge = Challenge(subscription_id, url, self.clock.now_ms(), ok, reason)
        self.webhooks.record(challenge)
        return challenge

    async def subscribe(self, fields: dict[str, Any]) -> Subscription:
        """Challenge the URL, then create the subscription; 400 if the challenge fails."""
        challenge = await self.challenge(fields["webhook"], None)
        if not challenge.ok:
            raise bad_request(f"webhook validation failed: {challenge.reason}")
        return self.webhooks.add(fields, self.clock.now_ms())

    async def revalidate(self, *, everything: bool = False) -> list[Challenge]:
        """Re-challenge every subscription that is due (or all unblocked ones)."""
        async with self._revalidating:
            now = self.clock.now_ms()
            due = (
                [s for s in self.webhooks.subscriptions.values() if not s.blocked]
                if everything
                else self.webhooks.due(now, self.config.revalidate_every_s)
            )
            results = []
            for subscription in due:
                challenge = await self.challenge(subscription.webhook, subscription.id)
                self.webhooks.settle(
                    subscription, challenge.ok, now, self.config.max_failed_validations
                )
                results.append(challenge)
            return results

    # Persistence.

    def to_json(self) -> dict[str, Any]:
        config = self.config.model_dump(mode="json", exclude={"client_secret"})
        return {
            "format": STATE_FORMAT,
            "config": config,
            "clock": {"offsetMs": self.clock.offset_ms, "frozenAtMs": _frozen_at(self.clock)},
            "catalogEpochMs": self.catalog.epoch_ms,
            "leads": [lead.to_state() for lead in self.store.all()],
            "grants": self.tokens.to_state(),
            "webhooks": self.webhooks.to_state(),
            "generator": self.generator.state(),
            "signedIn": self._signed_in,
        }

    def save(self, path: Path) -> int:
        """Write the state to ``path`` atomically; returns the number of leads saved."""
        document = self.to_json()
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(document, ensure_ascii=False))
        temporary.replace(path)
        return len(document["leads"])

    async def load(self, path: Path) -> int:
        """Replace the whole state with the file's; returns the number of leads loaded."""
        document = json.loads(await asyncio.to_thread(path.read_text))
        if document.get("format") != STATE_FORMAT:
            raise ValueError(f"{path} is not a sandbox state file (format {STATE_FORMAT})")
        await self.pusher.close()
        secret = self.config.client_secret
        self.config = SandboxConfig.model_validate(document["config"] | {"client_secret": secret})
        clock = document["clock"]
        self.clock = Clock(frozen_at_ms=clock["frozenAtMs"], offset_ms=clock["offsetMs"])
        self._build(document["catalogEpochMs"])
        with bulk_load():
            for data in document["leads"]:
                self.store.add(LeadRecord.from_state(data))
        self.tokens.restore(document["grants"])
        self.webhooks.restore(document["webhooks"])
        self.generator.restore(document["generator"])
        self._signed_in = document.get("signedIn")  # absent from files saved before members
        return len(self.store)


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """Create many long-lived objects without the cyclic GC rescanning them all the time.

    A hundred thousand leads are millions of tracked containers: with the collector on,
    every generation-2 pass walks them all, which made loading and serving 2-4 times slower.
    Leads hold no reference cycles, so reference counting frees them when deleted; the
    collector is paused while loading and what was loaded is then frozen out of its scans.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def _frozen_at(clock: Clock) -> int | None:
    return clock.now_ms() - clock.offset_ms if clock.frozen else None
