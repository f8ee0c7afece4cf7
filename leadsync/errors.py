"""The root of every exception leadsync raises, split by whether waiting can help.

::

    LeadsyncError
    ├── RetriableError              the same call may succeed later: wait (RetryPolicy), retry
    │   ├── KafkaUnavailable        leadsync.kafka.topics: no broker answered in time
    │   ├── PublishError            leadsync.kafka.producing: Kafka did not acknowledge a record
    │   │   └── RequestNotQueued    ingest.sync_requests: a sync run's request Kafka did not take
    │   ├── ContactCreatedConcurrently  sinks.upserts: another worker created a batch's new
    │   │                           contact meanwhile; the batch is redone
    │   └── Throttled, ServerError, Unavailable                   linkedin.errors
    ├── PermanentError              the same input fails the same way: report it, go on
    │   ├── ConfigurationError      leadsync.settings: a setting is missing or malformed
    │   ├── BodyTooLarge            leadsync.body_limit: a request body over its limit
    │   ├── MappingError            mapping.errors: a lead its form's mapping cannot import
    │   ├── ValueRejected           mapping.errors: one value its field refuses (coercion
    │   │                           turns it into a MappingError naming the field)
    │   ├── BadRequest, Unauthorized (ReconnectRequired), Forbidden, NotFound,
    │   │   VersionSunset, UnexpectedStatus, MalformedResponse    linkedin.errors
    │   ├── MigrationError          sinks.migrate: the schema cannot be brought up to date
    │   ├── TokenKeyMismatch        sinks.connections: tokens encrypted under another key
    │   ├── RunAlreadyActive, UnknownForm                         sinks.sync_runs
    │   ├── AccountRefused          sinks.accounts: InvalidAccountName, AccountNameTaken,
    │   │                           UnknownAccount
    │   ├── RunRefused              ingest.puller: a sync request whose run cannot start
    │   ├── ConnectFailed           ingest.connect: the OAuth sign-in did not complete
    │   ├── ClientGone              ingest.webhook.app: the client left before its body arrived
    │   ├── ApiError                admin.error_responses: an answer the admin API refuses with
    │   └── RestliError, OAuthError, RestliSyntaxError            sandbox: what it refuses,
    │                               as LinkedIn would
    └── LinkedInError               linkedin.errors: the base of every LinkedIn class above
                                    (each is also a RetriableError or a PermanentError)

Third-party failures that mean "a service is away" (PostgreSQL unreachable, the pool
exhausted, a Kafka error) are not wrapped: :func:`leadsync.retry.is_retriable` names them,
so the one retry mechanism treats them like a :class:`RetriableError`. This module imports
nothing, so that pure packages (``mapping``) can raise its classes at no cost.
"""

from __future__ import annotations


class LeadsyncError(Exception):
    """Anything leadsync raises on purpose."""


class RetriableError(LeadsyncError):
    """Waiting can help: a service is away or asks to slow down."""


class PermanentError(LeadsyncError):
    """Retrying the same input fails the same way."""
