"""LinkedIn connections: the member's token pair, encrypted at rest, and its health.

Tokens are Fernet-encrypted (AES-128-CBC with HMAC-SHA256) under ``LEADSYNC_TOKEN_KEY``
before they reach the database and are decrypted only in the process that calls LinkedIn.
A connection whose refresh failed is marked ``expired`` or ``revoked``: the forms behind it
turn red until the member connects again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from psycopg import AsyncConnection
from pydantic import SecretStr

from leadsync.errors import PermanentError
from leadsync.settings import Settings
from schemas.tokens import TokenPair
from sinks.database import Database


class TokenKeyMismatch(PermanentError):
    """The stored tokens were encrypted under another LEADSYNC_TOKEN_KEY."""


@dataclass(frozen=True)
class Connection:
    id: int
    member_urn: str | None
    member_name: str | None
    status: str
    status_reason: str | None


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class TokenCipher:
    def __init__(self, settings: Settings) -> None:
        self._fernet = Fernet(settings.token_key.get_secret_value().encode())

    def seal(self, secret: SecretStr | None) -> bytes | None:
        return self._fernet.encrypt(secret.get_secret_value().encode()) if secret else None

    def open(self, sealed: bytes | None) -> SecretStr | None:
        if sealed is None:
            return None
        try:
            return SecretStr(self._fernet.decrypt(bytes(sealed)).decode())
        except InvalidToken:
            raise TokenKeyMismatch(
                "stored LinkedIn tokens cannot be decrypted with LEADSYNC_TOKEN_KEY;"
                " restore the key they were stored with or run `leadsync linkedin connect`"
            ) from None


async def save_connection(
    conn: AsyncConnection[Any],
    cipher: TokenCipher,
    tokens: TokenPair,
    member_urn: str,
    member_name: str | None = None,
    account_id: int | None = None,
) -> int:
    """Store a freshly connected member's tokens for the account (replacing the ones that
    member gave that account before)."""
    # A connection stored before leadsync identified members (as "member": an install had
    # one) becomes this member's, so its forms and ad accounts stay attached to it.
    await conn.execute(
        "UPDATE linkedin_connections SET member_urn = %(urn)s"
        " WHERE member_urn = 'member' AND account_id IS NOT DISTINCT FROM %(account)s"
        " AND NOT EXISTS (SELECT 1 FROM linkedin_connections WHERE member_urn = %(urn)s"
        "                 AND account_id IS NOT DISTINCT FROM %(account)s)",
        {"urn": member_urn, "account": account_id},
    )
    cur = await conn.execute(
        "INSERT INTO linkedin_connections (account_id, member_urn, member_name, access_token,"
        " access_expires_at, refresh_token, refresh_expires_at, scope)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (account_id, member_urn) DO UPDATE SET member_name = excluded.member_name,"
        "  access_token = excluded.access_token, access_expires_at = excluded.access_expires_at,"
        "  refresh_token = excluded.refresh_token,"
        "  refresh_expires_at = excluded.refresh_expires_at, scope = excluded.scope,"
        "  status = 'active', status_reason = NULL, updated_at = now()"
        " RETURNING id",
        (
            account_id,
            member_urn,
            member_name,
            cipher.seal(tokens.access_token),
            _time(tokens.access_expires_at),
            cipher.seal(tokens.refresh_token),
            _time(tokens.refresh_expires_at),
            tokens.scope,
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    connection_id: int = row[0]
    return connection_id


async def mark_connection(
    conn: AsyncConnection[Any], connection_id: int, status: str, reason: str
) -> None:
    await conn.execute(
        "UPDATE linkedin_connections SET status = %s, status_reason = %s, updated_at = now()"
        " WHERE id = %s",
        (status, reason, connection_id),
    )


def reconnect_reason(status: str) -> str:
    return (
        f"the LinkedIn connection was {status}: the member must reconnect"
        " (`leadsync linkedin connect`)"
    )


async def mark_refused(conn: AsyncConnection[Any], connection_id: int) -> str:
    """Mark a connection whose tokens LinkedIn refused, and return its status: "expired"
    when the stored tokens had run out, else "revoked" (LinkedIn's refresh error does not
    say which). Run with the connection's account in hand."""
    cur = await conn.execute(
        "SELECT coalesce(refresh_expires_at, access_expires_at) <= now()"
        " FROM linkedin_connections WHERE id = %s",
        (connection_id,),
    )
    row = await cur.fetchone()
    status = "expired" if row and row[0] else "revoked"
    await mark_connection(conn, connection_id, status, reconnect_reason(status))
    return status


async def connections(conn: AsyncConnection[Any]) -> list[Connection]:
    cur = await conn.execute(
        "SELECT id, member_urn, member_name, status, status_reason FROM linkedin_connections"
        " ORDER BY id"
    )
    return [Connection(*row) for row in await cur.fetchall()]


class PostgresTokenStore:
    """The client's token store for one connection of an account (see linkedin.TokenStore)."""

    def __init__(
        self, settings: Settings, db: Database, account_id: int, connection_id: int
    ) -> None:
        self._db = db
        self._cipher = TokenCipher(settings)
        self.account_id = account_id
        self.connection_id = connection_id

    async def load(self) -> TokenPair | None:
        async with self._db.account(self.account_id) as conn:
            cur = await conn.execute(
                "SELECT access_token, access_expires_at, refresh_token, refresh_expires_at,"
                " scope FROM linkedin_connections WHERE id = %s AND status = 'active'",
                (self.connection_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        access = self._cipher.open(row[0])
        assert access is not None
        return TokenPair(
            access_token=access,
            access_expires_at=row[1].timestamp(),
            refresh_token=self._cipher.open(row[2]),
            refresh_expires_at=_epoch(row[3]),
            scope=row[4],
        )

    async def save(self, tokens: TokenPair) -> None:
        async with self._db.account(self.account_id) as conn:
            await conn.execute(
                "UPDATE linkedin_connections SET access_token = %s, access_expires_at = %s,"
                " refresh_token = %s, refresh_expires_at = %s, scope = %s, updated_at = now()"
                " WHERE id = %s",
                (
                    self._cipher.seal(tokens.access_token),
                    _time(tokens.access_expires_at),
                    self._cipher.seal(tokens.refresh_token),
                    _time(tokens.refresh_expires_at),
                    tokens.scope,
                    self.connection_id,
                ),
            )
