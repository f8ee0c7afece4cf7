"""Accounts and their API tokens (hashes only; :mod:`leadsync.api_tokens` makes them).

An account's name is what operators type; a disabled account keeps its data, and its tokens
stop working at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, errors

from leadsync.errors import PermanentError
from sinks.database import hold_accounts

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AccountRefused(PermanentError):
    """An account that cannot be made or found as asked; the message says why."""


class InvalidAccountName(AccountRefused):
    pass


class AccountNameTaken(AccountRefused):
    pass


class UnknownAccount(AccountRefused):
    pass


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    status: str
    created_at: datetime
    disabled_at: datetime | None
    tokens: int = 0  # tokens not revoked


_COLUMNS = "a.id, a.name, a.status, a.created_at, a.disabled_at"


async def create_account(
    conn: AsyncConnection[Any], name: str, first_token_sha256: bytes
) -> Account:
    """A new active account with its first token (by hash); :class:`AccountRefused` when the
    name is malformed or taken."""
    if not NAME.match(name):
        raise InvalidAccountName(
            f"account name {name!r} is not allowed: use 1 to 63 lower-case letters, digits"
            " and hyphens, starting with a letter or digit"
        )
    try:
        async with conn.transaction():
            cur = await conn.execute(
                f"INSERT INTO accounts AS a (name) VALUES (%s) RETURNING {_COLUMNS}", (name,)
            )
            row = await cur.fetchone()
            assert row is not None
            await conn.execute(
                "INSERT INTO account_tokens (account_id, token_sha256) VALUES (%s, %s)",
                (row[0], first_token_sha256),
            )
            # Installing leadsync in the account: its contact fields, the three LinkedIn
            # ones among them (migration 0008), written with the new account in hand.
            await hold_accounts(conn, [row[0]])
            await conn.execute("SELECT leadsync_install_account(%s)", (row[0],))
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "account_tokens_token_sha256_key":
            # Only a fixed token can meet another (the demo one): 256 random bits never do.
            raise AccountRefused("that API token belongs to another account") from None
        raise AccountNameTaken(f"an account named {name!r} exists already") from None
    return replace(Account(*row), tokens=1)


async def list_accounts(conn: AsyncConnection[Any]) -> list[Account]:
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, count(t.id) FILTER (WHERE t.revoked_at IS NULL)"
        " FROM accounts a LEFT JOIN account_tokens t ON t.account_id = a.id"
        " GROUP BY a.id ORDER BY a.name"
    )
    return [Account(*row) for row in await cur.fetchall()]


async def disable_account(conn: AsyncConnection[Any], name: str) -> Account:
    """Disable the account (idempotent); :class:`AccountRefused` when there is none."""
    cur = await conn.execute(
        "UPDATE accounts AS a SET status = 'disabled',"
        " disabled_at = coalesce(a.disabled_at, now())"
        f" WHERE a.name = %s RETURNING {_COLUMNS}",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        raise UnknownAccount(f"there is no account named {name!r}")
    return Account(*row)


async def enable_account(conn: AsyncConnection[Any], name: str) -> Account:
    """Enable a disabled account again (idempotent): its tokens that were not revoked and its
    active users work again, and its leads are imported again from now on.
    :class:`AccountRefused` when there is none."""
    cur = await conn.execute(
        "UPDATE accounts AS a SET status = 'active', disabled_at = NULL"
        f" WHERE a.name = %s RETURNING {_COLUMNS}",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        raise UnknownAccount(f"there is no account named {name!r}")
    return Account(*row)


async def account_for_token(conn: AsyncConnection[Any], token_sha256: bytes) -> Account | None:
    """The active account a token (by hash) belongs to; None for an unknown or revoked token
    or a disabled account."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM account_tokens t JOIN accounts a ON a.id = t.account_id"
        " WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND a.status = 'active'",
        (token_sha256,),
    )
    row = await cur.fetchone()
    return Account(*row) if row else None


async def account_by_name(conn: AsyncConnection[Any], name: str) -> Account:
    """The account with its working tokens counted; :class:`UnknownAccount` when there is
    none."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, (SELECT count(*) FROM account_tokens t"
        "  WHERE t.account_id = a.id AND t.revoked_at IS NULL)"
        " FROM accounts a WHERE a.name = %s",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        raise UnknownAccount(f"there is no account named {name!r}")
    return Account(*row)


async def add_token(conn: AsyncConnection[Any], name: str, token_sha256: bytes) -> Account:
    """Give the account another API token (by hash): for the account "default" of a migrated
    database, which has none, or to replace a token before revoking it. The account's
    earlier tokens keep working. :class:`UnknownAccount` when there is none."""
    account = await account_by_name(conn, name)
    await conn.execute(
        "INSERT INTO account_tokens (account_id, token_sha256) VALUES (%s, %s)",
        (account.id, token_sha256),
    )
    cur = await conn.execute(
        "SELECT count(*) FROM account_tokens WHERE account_id = %s AND revoked_at IS NULL",
        (account.id,),
    )
    row = await cur.fetchone()
    return replace(account, tokens=int(row[0]) if row else 0)
