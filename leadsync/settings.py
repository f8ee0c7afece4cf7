"""The one settings object of every leadsync process.

Everything configurable comes from environment variables with the prefix ``LEADSYNC_`` (or a
``.env`` file), is validated once at start-up and is then frozen. Nothing else in the code
base reads ``os.environ``. Secrets are ``SecretStr`` so they never show up in a repr, a log
line or an error message.

Outside demo mode the LinkedIn client secret and the admin token must be set to something
that is not a placeholder; in demo mode (``LEADSYNC_DEMO=true``, what ``make run`` uses) they
default to the values the bundled LinkedIn sandbox expects.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Literal, Self

from psycopg.conninfo import make_conninfo
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadsync.errors import PermanentError

# The local stack (stack/*.sh) listens on these; they are off the usual ports so that a
# Kafka or PostgreSQL the user already runs is never touched.
LOCAL_KAFKA = "127.0.0.1:29092"
LOCAL_DATABASE = "postgresql://leadsync:leadsync@127.0.0.1:25432/leadsync"

DEMO_CLIENT_ID = "leadsync-demo-client"
DEMO_CLIENT_SECRET = "leadsync-demo-client-secret"  # noqa: S105 - public, demo mode only
DEMO_ADMIN_TOKEN = "leadsync-demo-admin-token"  # noqa: S105 - public, demo mode only
DEMO_TOKEN_KEY = "bGVhZHN5bmMtZGVtby10b2tlbi1rZXktMzItYnl0ZXM="  # noqa: S105 - demo only
# The role the processes work as (made by migration 0008): owns nothing, no BYPASSRLS.
DATABASE_APP_ROLE = "leadsync_app"

# The demo account's API token (`make run`): public, accepted only in demo mode.
DEMO_ACCOUNT_TOKEN = "lsk_demo-account-token"  # noqa: S105 - public, demo mode only

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "xxx", "todo", "placeholder"}
_HOST_PORT = re.compile(r"^\[?[A-Za-z0-9.:_-]+\]?:\d{1,5}$")
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")

Port = Annotated[int, Field(ge=1, le=65535)]
_REQUIRED_SECRETS = ("linkedin_client_id", "linkedin_client_secret", "admin_token", "token_key")


class ConfigurationError(PermanentError):
    """A setting is missing or malformed; the message names every offending variable."""


class Topics:
    """The Kafka topic names, all derived from one prefix so a test run can isolate itself."""

    def __init__(self, prefix: str) -> None:
        self.notifications = f"{prefix}.notifications"
        self.leads_raw = f"{prefix}.leads.raw"
        self.sync_requests = f"{prefix}.sync-requests"
        self.errors = f"{prefix}.errors"
        self.contact_changes = f"{prefix}.contact-changes"

    def all(self) -> list[str]:
        return [
            self.notifications,
            self.leads_raw,
            self.sync_requests,
            self.errors,
            self.contact_changes,
        ]


class Settings(BaseSettings):
    """Validated, frozen configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="LEADSYNC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    demo: bool = False
    # The account the command line acts for (`--account` overrides it); processes serve all.
    account: str | None = None

    kafka_bootstrap_servers: str = LOCAL_KAFKA
    database_url: SecretStr = SecretStr(LOCAL_DATABASE)
    # The password of the role the processes log in as (DATABASE_APP_ROLE, made by the
    # migrations; give it LOGIN and this password). Set, the processes connect as that role,
    # which cannot bypass row-level security, and LEADSYNC_DATABASE_URL's role only
    # migrates. Unset, they connect as LEADSYNC_DATABASE_URL's role and switch to it with
    # SET ROLE (one credential; a statement could switch back: use this in production).
    database_app_password: SecretStr | None = None

    linkedin_api_url: str = "https://api.linkedin.com/rest"
    linkedin_oauth_url: str = "https://www.linkedin.com/oauth/v2"
    linkedin_client_id: str = ""
    linkedin_client_secret: SecretStr = SecretStr("")
    linkedin_version: str = "202611"

    admin_token: SecretStr = SecretStr("")
    # Key that encrypts LinkedIn tokens at rest (a Fernet key: 32 url-safe base64 bytes).
    token_key: SecretStr = SecretStr("")

    # Status indicator: a form with Import on is "yellow" when no contact was imported or
    # updated for this long.
    status_stale_hours: int = Field(default=72, ge=1, le=24 * 365)

    ingress_port: Port = 8080
    admin_port: Port = 8000
    sandbox_port: Port = 8090
    # /metrics, /healthz and /readyz of the two processes that serve no HTTP otherwise
    # (leadsync.ops_server); 0 turns a server off. Two on one host need a port each.
    # Loopback by default, like the others: no token guards them (0.0.0.0 in a container).
    worker_metrics_port: int = Field(default=9101, ge=0, le=65535)
    scheduler_metrics_port: int = Field(default=9102, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # How long each /readyz check (Kafka, PostgreSQL) may take before it counts as failed.
    readiness_timeout_s: float = Field(default=2.0, gt=0, le=30)

    # Topic names are "<prefix>.notifications", "<prefix>.leads.raw", ...; the faust
    # application id (its consumer group and internal topics) derives from it as well.
    topic_prefix: str = "leadsync"
    # Partitions of every keyed topic. Changing it after the topics exist needs a migration
    # of the faust tables, so it is read once when topics are created.
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    topic_replication_factor: int = Field(default=1, ge=1, le=10)
    # Replicas that must have a record before acks=all answers. Unset, it follows the
    # replication factor (leadsync.kafka.topics.min_insync_replicas): 2 from 3 replicas up,
    # so one broker can be down while producing and an acknowledged record still survives
    # the loss of another; 1 below that, where 2 would stop every write when a broker dies.
    topic_min_insync_replicas: int | None = Field(default=None, ge=1, le=10)

    # Import agent batching: one database transaction per batch (stack-notes: faust's
    # per-event overhead sets the ceiling, so the database work happens once per batch).
    import_batch_size: int = Field(default=500, ge=1, le=10_000)
    import_batch_window_s: float = Field(default=0.2, gt=0, le=30)
    # A batch closes once no record arrived for this long (the consumer had nothing more
    # buffered): at light load a lead waits this, not the window; under load records come
    # closer together and batches still fill.
    import_batch_idle_s: float = Field(default=0.003, gt=0, le=30)
    # Back-off while PostgreSQL is unreachable: retried inside the agent, never raised.
    retry_backoff_max_s: float = Field(default=10.0, gt=0, le=600)

    # The outbox relay: rows per round trip, and the pause when there is nothing to publish.
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_idle_s: float = Field(default=0.2, gt=0, le=60)
    # The pipeline alarm: processing stops when, of the last `alarm_window_records` records,
    # at least `alarm_min_failures` and `alarm_failure_ratio` of them failed unexpectedly
    # (undecodable, internal error), instead of sending everything to the error log.
    alarm_window_records: int = Field(default=1000, ge=10)
    alarm_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    alarm_min_failures: int = Field(default=100, ge=1)

    # Pulls: each window starts this much before the watermark (bounds are undocumented, so
    # windows overlap and dedupe absorbs the repeats); LinkedIn keeps leads this long.
    pull_overlap_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    linkedin_retention_days: int = Field(default=365, ge=1, le=3650)
    # Leads per finder call: the sandbox's (and LinkedIn integrators') maximum. The client
    # paces calls at about five a second, so the page size caps a backfill's rate.
    pull_page_size: int = Field(default=1000, ge=1, le=1000)
    # How often the scheduler looks for forms whose periodic sync is due.
    scheduler_tick_s: float = Field(default=60.0, gt=0, le=3600)

    # Webhook ingress: where LinkedIn reaches this receiver (subscriptions point there), and
    # how long a notification may wait for Kafka's acknowledgement before the answer is 503.
    ingress_public_url: str = "http://127.0.0.1:8080/linkedin/webhook"
    # Where LinkedIn sends a member back after they approve leadsync: the admin process's
    # callback, registered exactly so in the LinkedIn app (LinkedIn refuses any other).
    oauth_redirect_url: str = "http://127.0.0.1:8000/oauth/linkedin/callback"
    # Loopback by default: in production a TLS-terminating proxy faces LinkedIn (and the
    # operators, for the admin API). 0.0.0.0 only inside a container.
    ingress_host: str = "127.0.0.1"
    admin_host: str = "127.0.0.1"
    # The proxies (addresses or networks, comma-separated; "*" any) whose X-Forwarded-For and
    # X-Forwarded-Proto the admin believes: the browser's address (the sign-in throttle counts
    # failures per address) and https (the Secure cookie). Loopback by default, the local TLS
    # proxy; in a container every client arrives from the bridge's gateway, where the host's
    # proxy is (docker-compose.yml), and without trusting it all would share one address.
    admin_forwarded_allow_ips: str = "127.0.0.1"
    ingress_ack_timeout_s: float = Field(default=2.0, gt=0, le=30)
    ingress_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # A request (its headers and its body) must arrive within this many seconds of its
    # connection (or of the previous answer on it), else the connection is closed: a
    # slowloris cannot hold the receiver's sockets. LinkedIn's notifications take milliseconds.
    ingress_read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # Hydration: concurrent LinkedIn calls while fetching the leads of one batch.
    hydrate_concurrency: int = Field(default=8, ge=1, le=64)

    # Console sessions end after this long without a request, and this long after sign-in
    # whatever their use: a cookie left in a shared browser or copied does not live forever.
    console_session_idle_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    console_session_max_hours: int = Field(default=12, ge=1, le=30 * 24)
    # Sign-in throttling: within the window, an email that failed this many times, or a
    # client address that failed this many times (whatever the emails), gets no password
    # checked until its oldest counted failure leaves the window. Per email stops guessing
    # one user's password; per address stops one client trying a few passwords on many.
    console_sign_in_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    console_sign_in_failures_per_email: int = Field(default=5, ge=1, le=1000)
    console_sign_in_failures_per_client: int = Field(default=20, ge=1, le=10_000)

    # Consumer timeouts. A crashed worker's partitions move to another one after the session
    # timeout, so it bounds the stall after a crash; tests lower it further.
    kafka_session_timeout_s: float = Field(default=10.0, gt=0)
    kafka_heartbeat_interval_s: float = Field(default=3.0, gt=0)
    # How often the worker commits the offsets of events it has finished (faust's default).
    kafka_commit_interval_s: float = Field(default=2.8, gt=0)

    log_level: str = "info"
    # One JSON object per line (time, level, logger, message, process, trace ids): what
    # compose, log pipelines and `grep <trace id>` read; "text" for a developer's terminal.
    log_format: Literal["json", "text"] = "json"

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap_list(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers or not all(_HOST_PORT.match(s) for s in servers):
            raise ValueError("expected a comma-separated list of host:port")
        return ",".join(servers)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not re.match(r"^postgres(ql)?://[^/]*/\w", url):
            # Do not echo the URL: it may carry a password.
            raise ValueError("expected postgresql://user:password@host:port/database")
        return value

    @field_validator(
        "linkedin_api_url", "linkedin_oauth_url", "ingress_public_url", "oauth_redirect_url"
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/")

    @field_validator("linkedin_version")
    @classmethod
    def _yyyymm(cls, value: str) -> str:
        if not re.fullmatch(r"20\d\d(0[1-9]|1[0-2])", value):
            raise ValueError("expected YYYYMM, e.g. 202611")
        return value

    @field_validator("token_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and not _is_fernet_key(raw):
            raise ValueError(
                "expected a Fernet key (32 url-safe base64-encoded bytes), e.g. the output of"
                " `leadsync keygen`"
            )
        return value

    @field_validator("admin_forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise ValueError("expected addresses or networks, e.g. 127.0.0.1,172.16.0.0/12")
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is no IP address or network (e.g. 127.0.0.1, 172.16.0.0/12, *)"
                ) from None
        return ",".join(items)

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not _TOPIC_NAME.match(value):
            raise ValueError("only letters, digits, '.', '_' and '-' are allowed")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error"}:
            raise ValueError("expected debug, info, warning or error")
        return level

    @model_validator(mode="after")
    def _min_insync_within_replicas(self) -> Self:
        wanted = self.topic_min_insync_replicas
        if wanted is not None and wanted > self.topic_replication_factor:
            # Kafka would accept such a topic and then refuse every acks=all write to it.
            raise ValueError(
                f"LEADSYNC_TOPIC_MIN_INSYNC_REPLICAS ({wanted}) exceeds"
                f" LEADSYNC_TOPIC_REPLICATION_FACTOR ({self.topic_replication_factor}):"
                " no write could ever be acknowledged"
            )
        return self

    @model_validator(mode="after")
    def _secrets_present(self) -> Self:
        if self.demo:
            # Demo mode talks to the bundled sandbox, whose app credentials are public.
            defaults = {
                "linkedin_client_id": DEMO_CLIENT_ID,
                "linkedin_client_secret": SecretStr(DEMO_CLIENT_SECRET),
                "admin_token": SecretStr(DEMO_ADMIN_TOKEN),
                "token_key": SecretStr(DEMO_TOKEN_KEY),
            }
            for name, default in defaults.items():
                current = getattr(self, name)
                raw = current.get_secret_value() if isinstance(current, SecretStr) else current
                if not raw:
                    object.__setattr__(self, name, default)
            return self
        missing = [
            f"LEADSYNC_{name.upper()}"
            for name in _REQUIRED_SECRETS
            if _is_placeholder(getattr(self, name))
        ]
        if missing:
            raise ValueError(
                f"{', '.join(missing)} must be set to a real value "
                "(or set LEADSYNC_DEMO=true to run against the bundled sandbox)"
            )
        return self

    @property
    def topics(self) -> Topics:
        # Not cached: a copy with another prefix (model_copy) must not keep the old names.
        return Topics(self.topic_prefix)

    @property
    def worker_app_id(self) -> str:
        return f"{self.topic_prefix}-worker"

    def database_conninfo(self) -> str:
        """The owner's connection: migrations, and the processes without an app password."""
        return self.database_url.get_secret_value()

    def database_app_conninfo(self) -> str | None:
        """The processes' connection as DATABASE_APP_ROLE (same server and database), or None
        without LEADSYNC_DATABASE_APP_PASSWORD."""
        if self.database_app_password is None:
            return None
        return make_conninfo(
            self.database_conninfo(),
            user=DATABASE_APP_ROLE,
            password=self.database_app_password.get_secret_value(),
        )


def _is_fernet_key(raw: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(raw.encode())) == 32
    except (ValueError, binascii.Error):
        return False


def _is_placeholder(value: str | SecretStr) -> bool:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return raw.strip().lower() in _PLACEHOLDERS


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings, turning pydantic's report into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are by field name
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = ["invalid leadsync settings:"]
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = f"LEADSYNC_{field.upper()}" if field else "settings"
        # error["input"] is deliberately left out: it may be a secret.
        lines.append(f"  {name}: {error['msg']}")
    return "\n".join(lines)
