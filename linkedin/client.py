"""The LinkedIn Marketing API calls leadsync makes, on one member's connection.

Every call carries the bearer token, ``LinkedIn-Version`` and ``X-Restli-Protocol-Version:
2.0.0``; URLs are built byte for byte in :mod:`linkedin.restli` and handed to httpx
finished. Calls are paced (about five a second by default), retried on 429/5xx with backoff,
and retried once with a refreshed token on a 401; a second 401 means the member must
reconnect. Nothing here writes anywhere but LinkedIn: delivery guarantees belong to callers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from leadsync.retry import RetryPolicy
from leadsync.settings import Settings
from linkedin import restli
from linkedin.clock import Clock, SystemClock
from linkedin.errors import MalformedResponse, NotFound
from linkedin.models import (
    AdAccount,
    AdAccountUser,
    LeadNotificationSubscription,
    Member,
    Organization,
    Subscribed,
)
from linkedin.oauth import OAuthClient
from linkedin.pacing import RateLimiter
from linkedin.paging import Page, elements
from linkedin.restli import LEAD_FIELDS, LeadType, Owner
from linkedin.sending import Sender
from linkedin.session import ApiSession, QueryPairs, parse
from linkedin.tokens import AccessTokens, TokenStore
from schemas.linkedin import Lead, LeadForm
from schemas.tokens import TokenPair

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_LEAD_URN_PREFIX = "urn:li:leadGenFormResponse:"


class LinkedInClient:
    """Use as ``async with``; one instance per LinkedIn connection (token store)."""

    def __init__(
        self,
        *,
        api_url: str,
        oauth_url: str,
        client_id: str,
        client_secret: SecretStr,
        version: str,
        token_store: TokenStore,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        requests_per_second: float | None = 5.0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        refresh_margin_s: float = 300.0,
        clock: Clock | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.version = version
        self._client_secret = client_secret
        clock = clock or SystemClock()
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        # None turns pacing off: for tests, or when the caller paces calls by other means.
        limiter = None if requests_per_second is None else RateLimiter(requests_per_second, clock)
        self._sender = Sender(
            self._http,
            policy=retry or RetryPolicy(),
            clock=clock,
            limiter=limiter,
        )
        self.oauth = OAuthClient(oauth_url, client_id, client_secret, self._sender)
        self._token_store = token_store
        self.tokens = AccessTokens(
            token_store, self.oauth, clock, refresh_margin_s=refresh_margin_s
        )
        self._sender.secret_source = self._secrets
        self._session = ApiSession(self.api_url, version, self._sender, self.tokens)

    @classmethod
    def from_settings(cls, settings: Settings, token_store: TokenStore, **options: Any) -> Self:
        """``options`` are the keyword arguments after ``token_store`` (transport, retry...)."""
        return cls(
            api_url=settings.linkedin_api_url,
            oauth_url=settings.linkedin_oauth_url,
            client_id=settings.linkedin_client_id,
            client_secret=settings.linkedin_client_secret,
            version=settings.linkedin_version,
            token_store=token_store,
            **options,
        )

    def _secrets(self) -> list[str]:
        return [*self.tokens.secrets(), self._client_secret.get_secret_value()]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def connect(self, code: str, redirect_uri: str) -> TokenPair:
        """Finish the OAuth redirect: redeem ``code`` and save the pair in the token store."""
        tokens = await self.oauth.exchange_code(code, redirect_uri)
        await self._token_store.save(tokens)
        return tokens

    async def member(self) -> Member:
        """The member whose token this is (OpenID Connect ``GET /v2/userinfo``, outside
        ``/rest``; the token needs the ``openid`` scope, ``profile`` for the name)."""
        origin = urlsplit(self.api_url)._replace(path="", query="", fragment="").geturl()
        body = await self._session.get_json("v2/userinfo", url=f"{origin}/v2/userinfo")
        return parse(Member, body)

    # Leads ------------------------------------------------------------------------------

    async def iter_lead_pages(
        self,
        owner: Owner,
        lead_type: LeadType | str,
        start_ms: int,
        end_ms: int,
        *,
        form_version_urn: str | None = None,
        test_leads_only: bool = False,
        page_size: int = 100,
    ) -> AsyncIterator[Page[Lead]]:
        """Pages of leads submitted in ``[start_ms, end_ms]``, to the end of the finder."""
        pairs: QueryPairs = [
            ("q", "owner"),
            ("owner", owner.to_restli()),
            ("leadType", restli.lead_type_param(lead_type)),
        ]
        if form_version_urn is not None:
            urn = restli.normalize_urn(form_version_urn)
            pairs.append(("versionedLeadGenFormUrn", restli.encode(urn)))
        pairs += [
            ("limitedToTestLeads", test_leads_only),
            ("submittedAtTimeRange", restli.time_range(start_ms, end_ms)),
            ("fields", LEAD_FIELDS),
        ]
        async for page in self._session.pages("leadFormResponses", pairs, Lead, page_size):
            yield page

    async def iter_leads(
        self,
        owner: Owner,
        lead_type: LeadType | str,
        start_ms: int,
        end_ms: int,
        *,
        form_version_urn: str | None = None,
        test_leads_only: bool = False,
        page_size: int = 100,
        on_page: Callable[[Page[Lead]], None] | None = None,
    ) -> AsyncIterator[Lead]:
        """Each lead in turn. ``on_page`` sees every page first: its number, LinkedIn's
        ``total`` for progress, and the elements that failed to parse (``rejected``), which
        are not yielded here and which the caller must report."""
        pages = self.iter_lead_pages(
            owner,
            lead_type,
            start_ms,
            end_ms,
            form_version_urn=form_version_urn,
            test_leads_only=test_leads_only,
            page_size=page_size,
        )
        async for page in pages:
            if on_page is not None:
                on_page(page)
            for lead in page.elements:
                yield lead

    async def get_lead(self, lead_id: str) -> Lead:
        """One lead by id, or by its ``urn:li:leadGenFormResponse:<id>`` from a notification."""
        path = f"leadFormResponses/{restli.path_key(lead_id.removeprefix(_LEAD_URN_PREFIX))}"
        body = await self._session.get_json(path, restli.query(("fields", LEAD_FIELDS)))
        return parse(Lead, body)

    # Forms ------------------------------------------------------------------------------

    async def iter_form_pages(
        self, owner: Owner, *, page_size: int = 100
    ) -> AsyncIterator[Page[LeadForm]]:
        pairs: QueryPairs = [("q", "owner"), ("owner", owner.to_restli())]
        async for page in self._session.pages("leadForms", pairs, LeadForm, page_size):
            yield page

    async def iter_forms(self, owner: Owner, *, page_size: int = 100) -> AsyncIterator[LeadForm]:
        async for page in self.iter_form_pages(owner, page_size=page_size):
            for form in page.elements:
                yield form

    async def get_form(self, form_id: int) -> LeadForm:
        body = await self._session.get_json(f"leadForms/{restli.path_key(form_id)}")
        return parse(LeadForm, body)

    # Ad accounts ------------------------------------------------------------------------

    async def ad_accounts(self) -> list[AdAccountUser]:
        """The ad accounts the connected member holds a role on."""
        body = await self._session.get_json("adAccountUsers", "q=authenticatedUser")
        return [parse(AdAccountUser, e) for e in elements(body)]

    async def ad_account(self, account: int | str) -> AdAccount:
        """One ad account by id or ``urn:li:sponsoredAccount:<id>``."""
        account_id = Owner.sponsored_account(account).urn.rsplit(":", 1)[-1]
        return parse(AdAccount, await self._session.get_json(f"adAccounts/{account_id}"))

    # Organizations ----------------------------------------------------------------------

    async def organization(self, organization: int | str) -> Organization:
        """One organization (Company Page) by id or ``urn:li:organization:<id>``: its name
        among other things. Needs ``r_organization_admin`` and a role on the page (else
        :class:`Forbidden`)."""
        organization_id = Owner.organization(organization).urn.rsplit(":", 1)[-1]
        body = await self._session.get_json(f"organizations/{organization_id}")
        return parse(Organization, body)

    # Lead notification subscriptions ----------------------------------------------------

    async def subscriptions(
        self, owner: Owner, lead_type: LeadType | str
    ) -> list[LeadNotificationSubscription]:
        query = restli.query(
            ("q", "criteria"),
            ("owner", f"(value:{owner.to_restli()})"),
            ("leadType", restli.lead_type_param(lead_type)),
        )
        body = await self._session.get_json("leadNotifications", query)
        return [parse(LeadNotificationSubscription, e) for e in elements(body)]

    async def subscription(self, subscription_id: str | int) -> LeadNotificationSubscription:
        path = f"leadNotifications/{restli.path_key(subscription_id)}"
        return parse(LeadNotificationSubscription, await self._session.get_json(path))

    async def subscribe(
        self, webhook_url: str, owner: Owner, lead_type: LeadType | str
    ) -> Subscribed:
        """Subscribe ``webhook_url`` unless an identical subscription already exists."""
        kind = LeadType(lead_type).value
        for existing in await self.subscriptions(owner, kind):
            if existing.matches(webhook_url, owner, kind):
                return Subscribed(existing.id, created=False)
        body = {"webhook": webhook_url, "owner": owner.to_json(), "leadType": kind}
        response = await self._session.call(
            "POST", "leadNotifications", json=body, idempotent=False
        )
        new_id = response.headers.get("x-restli-id")
        if not new_id:
            raise MalformedResponse("LinkedIn created a subscription but sent no x-restli-id")
        return Subscribed(new_id, created=True)

    async def unsubscribe(self, subscription_id: str | int) -> bool:
        """Delete a subscription; False when it was already gone."""
        path = f"leadNotifications/{restli.path_key(subscription_id)}"
        try:
            await self._session.call("DELETE", path)
        except NotFound:
            return False
        return True
