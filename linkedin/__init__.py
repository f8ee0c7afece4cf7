"""The LinkedIn Marketing API client: Lead Sync leads, forms, ad accounts, organizations,
subscriptions.

Usage::

    store = InMemoryTokenStore(pair)  # production: the PostgreSQL store of one connection
    async with LinkedInClient.from_settings(settings, store) as linkedin:
        owner = Owner.sponsored_account(123)
        async for lead in linkedin.iter_leads(owner, LeadType.SPONSORED, start_ms, end_ms):
            print(lead.id, lead.submitted_at)
        await linkedin.subscribe("https://example.com/linkedin/webhook", owner, "SPONSORED")

Errors are one tree rooted at :class:`LinkedInError` (drawn in :mod:`.errors`), within
leadsync's: catch :class:`leadsync.errors.RetriableError` to try again later,
:class:`ReconnectRequired` to ask the member to sign in again. Tokens and the client secret
never appear in a URL, a log line or an error.
"""

from linkedin.client import LinkedInClient
from linkedin.clock import Clock, SystemClock
from linkedin.errors import (
    BadRequest,
    Forbidden,
    LinkedInError,
    MalformedResponse,
    NotFound,
    ReconnectRequired,
    ServerError,
    Throttled,
    Unauthorized,
    Unavailable,
    UnexpectedStatus,
    VersionSunset,
)
from linkedin.models import (
    AdAccount,
    AdAccountUser,
    LeadNotificationSubscription,
    Member,
    Organization,
    Subscribed,
)
from linkedin.oauth import DEFAULT_SCOPES, OAuthClient
from linkedin.paging import Page, Rejected, time_windows
from linkedin.restli import LEAD_FIELDS, LeadType, Owner
from linkedin.tokens import InMemoryTokenStore, TokenStore
from schemas.tokens import TokenPair

__all__ = [
    "DEFAULT_SCOPES",
    "LEAD_FIELDS",
    "AdAccount",
    "AdAccountUser",
    "BadRequest",
    "Clock",
    "Forbidden",
    "InMemoryTokenStore",
    "LeadNotificationSubscription",
    "LeadType",
    "LinkedInClient",
    "LinkedInError",
    "MalformedResponse",
    "Member",
    "NotFound",
    "OAuthClient",
    "Organization",
    "Owner",
    "Page",
    "ReconnectRequired",
    "Rejected",
    "ServerError",
    "Subscribed",
    "SystemClock",
    "Throttled",
    "TokenPair",
    "TokenStore",
    "Unauthorized",
    "Unavailable",
    "UnexpectedStatus",
    "VersionSunset",
    "time_windows",
]
