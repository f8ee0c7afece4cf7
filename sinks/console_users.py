"""The console's users, their sessions and the sign-in failures that throttle guessing
(migration 0012).

A user belongs to one account (role ``admin`` or ``member``) or is the platform operator
(``operator``, no account). An email is one user in the whole install, whatever its case,
so signing in needs only the email and the password. Passwords arrive here already hashed
(:mod:`admin.console.passwords`); session tokens and typed emails as SHA-256 hashes.

A disabled user, or a user of a disabled account, cannot sign in and their sessions stop
working at once: every lookup joins the user's state and its account's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from psycopg import AsyncConnection, errors

from leadsync.errors import PermanentError
from sinks.accounts import Account

Role = Literal["admin", "member", "operator"]
ACCOUNT_ROLES: tuple[Role, ...] = ("admin", "member")
# Loose on purpose: the address is an identifier typed by its owner, not a mailbox we write
# to; this only catches what cannot be an address. No control characters either: PostgreSQL
# refuses a NUL in text, and no address has one.
_NOT_IN_EMAIL = r"@\s\x00-\x1f\x7f"
_EMAIL = re.compile(rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}]+$")
MAX_EMAIL_LENGTH = 254
# A session's last_seen_at is written at most this often: a page that loads a few fragments
# makes one write, not one per request.
_SEEN_RESOLUTION_S = 60


class UserRefused(PermanentError):
    """A user that cannot be made or found as asked; the message says why."""


class InvalidEmail(UserRefused):
    pass


class EmailTaken(UserRefused):
    pass


class UnknownUser(UserRefused):
    pass


@dataclass(frozen=True)
class ConsoleUserRow:
    id: int
    email: str
    role: Role
    account_id: int | None
    account_name: str | None
    status: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class Credentials:
    """What sign-in checks: a user who may sign in now, and their password's hash."""

    user_id: int
    password_hash: str


@dataclass(frozen=True)
class SignedInSession:
    """A live session: its user, the user's account (None for the operator), its CSRF."""

    user: ConsoleUserRow
    account: Account | None
    csrf_token: str


def normalise_email(email: str) -> str:
    """The email as stored (trimmed, lower case); :class:`InvalidEmail` when it is none."""
    normalised = email.strip().lower()
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalised):
        raise InvalidEmail(f"{email.strip()!r} is not an email address")
    return normalised


_USER_COLUMNS = "u.id, u.email, u.role, u.account_id, a.name, u.status, u.created_at, u.disabled_at"
_USER_FROM = "console_users u LEFT JOIN accounts a ON a.id = u.account_id"
# A user who may act: active, and either the operator or of an active account.
_USABLE = "u.status = 'active' AND (u.account_id IS NULL OR a.status = 'active')"


def _user(row: tuple[Any, ...]) -> ConsoleUserRow:
    return ConsoleUserRow(
        int(row[0]), row[1], cast(Role, row[2]), row[3], row[4], row[5], row[6], row[7]
    )


async def add_user(
    conn: AsyncConnection[Any],
    email: str,
    role: Role,
    account_id: int | None,
    password_hash: str,
) -> ConsoleUserRow:
    """A new active user; :class:`UserRefused` when the email is malformed or taken, or the
    role does not fit (``operator`` without an account, the others with one)."""
    if (role == "operator") != (account_id is None):
        raise UserRefused(
            "the operator belongs to no account; admins and members belong to one"
            if role == "operator"
            else f"a user with the role {role!r} belongs to an account"
        )
    normalised = normalise_email(email)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO console_users (email, role, account_id, password_hash)"
                " VALUES (%s, %s, %s, %s) RETURNING id",
                (normalised, role, account_id, password_hash),
            )
            row = await cur.fetchone()
    except errors.UniqueViolation:
        raise EmailTaken(f"a user with the email {normalised!r} exists already") from None
    assert row is not None
    return await user_by_id(conn, int(row[0]))


async def user_by_id(conn: AsyncConnection[Any], user_id: int) -> ConsoleUserRow:
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.id = %s", (user_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise UnknownUser(f"there is no user with id {user_id}")
    return _user(row)


async def user_by_email(conn: AsyncConnection[Any], email: str) -> ConsoleUserRow:
    """:class:`UnknownUser` when there is none (:class:`InvalidEmail` when malformed)."""
    normalised = normalise_email(email)
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.email = %s", (normalised,)
    )
    row = await cur.fetchone()
    if row is None:
        raise UnknownUser(f"there is no user with the email {normalised!r}")
    return _user(row)


async def list_users(conn: AsyncConnection[Any], account_id: int) -> list[ConsoleUserRow]:
    """The account's users, active first, then by email."""
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.account_id = %s"
        " ORDER BY u.status = 'disabled', u.email",
        (account_id,),
    )
    return [_user(row) for row in await cur.fetchall()]


async def disable_user(
    conn: AsyncConnection[Any], user_id: int, account_id: int | None = None
) -> ConsoleUserRow:
    """Disable the user (idempotent) and end their sessions. With ``account_id``, only a
    user of that account: another's is :class:`UnknownUser`, as if it did not exist."""
    cur = await conn.execute(
        "UPDATE console_users SET status = 'disabled',"
        " disabled_at = coalesce(disabled_at, now())"
        " WHERE id = %s AND (%s::bigint IS NULL OR account_id = %s) RETURNING id",
        (user_id, account_id, account_id),
    )
    if await cur.fetchone() is None:
        raise UnknownUser(f"there is no user with id {user_id}")
    await conn.execute("DELETE FROM console_sessions WHERE user_id = %s", (user_id,))
    return await user_by_id(conn, user_id)


async def credentials(conn: AsyncConnection[Any], email: str) -> Credentials | None:
    """The password hash of the user with this email, if they may sign in now (active, of
    an active account or the operator); None otherwise, whatever the reason."""
    try:
        normalised = normalise_email(email)
    except InvalidEmail:
        return None
    cur = await conn.execute(
        f"SELECT u.id, u.password_hash FROM {_USER_FROM} WHERE u.email = %s AND {_USABLE}",
        (normalised,),
    )
    row = await cur.fetchone()
    return Credentials(int(row[0]), str(row[1])) if row else None


async def set_password_hash(conn: AsyncConnection[Any], user_id: int, password_hash: str) -> None:
    """A new hash of the user's password (changed, or the same one with new parameters)."""
    await conn.execute(
        "UPDATE console_users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
    )


async def start_session(
    conn: AsyncConnection[Any], token_sha256: bytes, user_id: int, csrf_token: str
) -> None:
    await conn.execute(
        "INSERT INTO console_sessions (token_sha256, user_id, csrf_token) VALUES (%s, %s, %s)",
        (token_sha256, user_id, csrf_token),
    )


async def session(
    conn: AsyncConnection[Any],
    token_sha256: bytes,
    idle: timedelta,
    lifetime: timedelta,
    *,
    touch: bool = True,
) -> SignedInSession | None:
    """The live session with this token (by hash); None when there is none, it was idle
    longer than ``idle``, began more than ``lifetime`` ago, or its user or account is
    disabled. Expiry is on PostgreSQL's clock, the one the rows were written with.

    ``touch``: the request is the user's own doing, so the session is marked used (idle
    from now). A page's automatic refresh (htmx polling) passes False: a tab left open on
    a polling page must not keep its session alive for ever."""
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS}, a.id, a.name, a.status, a.created_at, a.disabled_at,"
        " s.csrf_token, s.last_seen_at < now() - make_interval(secs => %s)"
        f" FROM console_sessions s JOIN {_USER_FROM} ON u.id = s.user_id"
        f" WHERE s.token_sha256 = %s AND {_USABLE}"
        " AND s.last_seen_at > now() - make_interval(secs => %s)"
        " AND s.created_at > now() - make_interval(secs => %s)",
        (_SEEN_RESOLUTION_S, token_sha256, idle.total_seconds(), lifetime.total_seconds()),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    user = _user(row[:8])
    account = Account(*row[8:13]) if row[8] is not None else None
    if touch and row[14]:
        await conn.execute(
            "UPDATE console_sessions SET last_seen_at = now() WHERE token_sha256 = %s",
            (token_sha256,),
        )
    return SignedInSession(user, account, str(row[13]))


async def end_session(conn: AsyncConnection[Any], token_sha256: bytes) -> None:
    await conn.execute("DELETE FROM console_sessions WHERE token_sha256 = %s", (token_sha256,))


async def forget_expired_sessions(
    conn: AsyncConnection[Any], idle: timedelta, lifetime: timedelta
) -> None:
    """Delete the sessions that can no longer be used (housekeeping at each sign-in)."""
    await conn.execute(
        "DELETE FROM console_sessions WHERE last_seen_at <= now() - make_interval(secs => %s)"
        " OR created_at <= now() - make_interval(secs => %s)",
        (idle.total_seconds(), lifetime.total_seconds()),
    )


async def record_sign_in_attempt(
    conn: AsyncConnection[Any], email_sha256: bytes, client: str
) -> int:
    """A sign-in about to be checked, counted as failed until :func:`forget_sign_in_attempt`
    says otherwise; its id. The caller commits it before it counts the failures
    (:func:`sign_in_blocked_until`), so that attempts made at the same moment see each
    other: checking first and recording afterwards would let a burst of parallel guesses
    through before the first of them was recorded."""
    cur = await conn.execute(
        "INSERT INTO console_sign_in_failures (email_sha256, client) VALUES (%s, %s) RETURNING id",
        (email_sha256, client),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def forget_sign_in_attempt(conn: AsyncConnection[Any], attempt_id: int) -> None:
    """The attempt was no failure: it signed in, or it was refused before its password was
    checked (a blocked attempt that counted would push the end of the block ever later)."""
    await conn.execute("DELETE FROM console_sign_in_failures WHERE id = %s", (attempt_id,))


async def forget_old_sign_in_failures(conn: AsyncConnection[Any], keep: timedelta) -> None:
    """Failures older than ``keep`` no longer count: delete them (housekeeping)."""
    await conn.execute(
        "DELETE FROM console_sign_in_failures WHERE failed_at < now() - make_interval(secs => %s)",
        (keep.total_seconds(),),
    )


async def sign_in_blocked_until(
    conn: AsyncConnection[Any],
    email_sha256: bytes,
    client: str,
    window: timedelta,
    per_email: int,
    per_client: int,
    attempt_id: int,
) -> datetime | None:
    """When sign-in may be tried again for this email from this client, if the attempt
    ``attempt_id`` (recorded, see :func:`record_sign_in_attempt`) is blocked: the email
    already has ``per_email`` failures, or the client ``per_client``, within ``window``,
    counting every other attempt recorded so far (those still being checked too). It may
    try again once fewer remain. None: not blocked."""
    cur = await conn.execute(
        # The n-th most recent failure of each: while it is within the window there are
        # n of them; the moment it leaves, n - 1.
        "SELECT max(until) FROM ("
        " (SELECT failed_at + make_interval(secs => %(window)s) AS until"
        "  FROM console_sign_in_failures WHERE email_sha256 = %(email)s AND id <> %(attempt)s"
        "  AND failed_at > now() - make_interval(secs => %(window)s)"
        "  ORDER BY failed_at DESC OFFSET %(email_n)s LIMIT 1)"
        " UNION ALL"
        " (SELECT failed_at + make_interval(secs => %(window)s)"
        "  FROM console_sign_in_failures WHERE client = %(client)s AND id <> %(attempt)s"
        "  AND failed_at > now() - make_interval(secs => %(window)s)"
        "  ORDER BY failed_at DESC OFFSET %(client_n)s LIMIT 1)"
        ") AS blocks",
        {
            "window": window.total_seconds(),
            "email": email_sha256,
            "client": client,
            "email_n": per_email - 1,
            "client_n": per_client - 1,
            "attempt": attempt_id,
        },
    )
    row = await cur.fetchone()
    return row[0] if row else None
