"""The LinkedIn Marketing API client: Lead Sync leads, forms, ad accounts, subscriptions.

Usage::

    store = InMemoryTokenStore(pair)  # production: the PostgreSQL store of one connection
    async with LinkedInClient.from_settings(settings, store) as linkedin:
        owner = Owner.sponsored_account(123)
        async for lead in linkedin.iter_leads(owner, LeadType.SPONSORED, start_ms, end_ms):
            print(lead.id, lead.submitted_at)
        await linkedin.subscribe("https://example.com/linkedin/webhook", owner, "SPONSORED")

Errors are one tree rooted at :class:`LinkedInError` (drawn in :mod:`.errors`): catch
:class:`RetriableError` to try again later, :class:`ReconnectRequired` to ask the member to
sign in again. Tokens and the client secret never appear in a URL, a log line or an error.
"""

from ingest.linkedin.backoff import RetryPolicy
from ingest.linkedin.client import LinkedInClient
from ingest.linkedin.clock import Clock, SystemClock
from ingest.linkedin.errors import (
    BadRequest,
    Forbidden,
    LinkedInError,
    MalformedResponse,
    NotFound,
    PermanentError,
    ReconnectRequired,
    RetriableError,
    ServerError,
    Throttled,
    Unauthorized,
    Unavailable,
    UnexpectedStatus,
    VersionSunset,
)
from ingest.linkedin.models import (
    AdAccount,
    AdAccountUser,
    LeadNotificationSubscription,
    Subscribed,
)
from ingest.linkedin.oauth import DEFAULT_SCOPES, OAuthClient
from ingest.linkedin.paging import Page, Rejected, time_windows
from ingest.linkedin.restli import LEAD_FIELDS, LeadType, Owner
from ingest.linkedin.tokens import InMemoryTokenStore, TokenPair, TokenStore

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
    "NotFound",
    "OAuthClient",
    "Owner",
    "Page",
    "PermanentError",
    "ReconnectRequired",
    "Rejected",
    "RetriableError",
    "RetryPolicy",
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
