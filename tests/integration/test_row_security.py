"""Isolation between accounts is PostgreSQL's, not only the queries': row-level security.

Each test runs SQL that names no account (as a forgetful query would) on the processes' own
connections, and checks that only the accounts in hand are seen or written.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from leadsync.api_tokens import new_token, token_hash
from leadsync.settings import Settings
from sinks.accounts import create_account
from sinks.connections import connections
from sinks.database import APP_ROLE, Database, RoleCanBypass

pytestmark = pytest.mark.integration

# Tables that name an account but are not an account's data: looked up before the account is
# known (a token, an OAuth state), by the process that authenticates.
GLOBAL_WITH_ACCOUNT = {"account_tokens", "oauth_states", "console_users"}
# Every account table's policy, as PostgreSQL prints it.
IN_HAND = "(account_id = ANY (( SELECT leadsync_accounts() AS leadsync_accounts)::bigint[]))"


async def two_accounts(settings: Settings) -> tuple[int, int]:
    tag = uuid.uuid4().hex[:8]
    async with Database.from_settings(settings) as db, db.connection() as conn:
        made = [
            await create_account(conn, f"rls-{side}-{tag}", token_hash(new_token()))
            for side in ("a", "b")
        ]
    return made[0].id, made[1].id


async def add_contact(db: Database, account_id: int, email: str) -> None:
    async with db.account(account_id) as conn:
        # No account_id given: the row takes the account in hand.
        await conn.execute("INSERT INTO contacts (email) VALUES (%s)", (email,))


async def rows(conn: AsyncConnection[Any], sql: str, *params: Any) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql, params)
    return await cur.fetchall()


async def test_a_query_without_account_filter_sees_only_the_account_in_hand(
    settings: Settings,
) -> None:
    a, b = await two_accounts(settings)
    async with Database.from_settings(settings) as db:
        await add_contact(db, a, "same@example.com")
        await add_contact(db, b, "same@example.com")  # unique per account, not overall
        await add_contact(db, b, "only-b@example.com")

        async with db.account(a) as conn:
            seen = await rows(conn, "SELECT account_id, email FROM contacts ORDER BY email")
        assert seen == [(a, "same@example.com")]

        async with db.account(b) as conn:
            seen = await rows(conn, "SELECT account_id, email FROM contacts ORDER BY email")
        assert seen == [(b, "only-b@example.com"), (b, "same@example.com")]

        # No account in hand: no account's rows at all.
        async with db.connection() as conn:
            assert await rows(conn, "SELECT count(*) FROM contacts") == [(0,)]

        async with db.every_account() as conn:
            mine = await rows(
                conn, "SELECT count(*) FROM contacts WHERE account_id = ANY(%s)", [a, b]
            )
        assert mine == [(3,)]


async def test_a_sinks_function_returns_only_the_account_in_hand(settings: Settings) -> None:
    """sinks.connections.connections() has no account in its SQL."""
    a, b = await two_accounts(settings)
    async with Database.from_settings(settings) as db:
        for account_id, member in ((a, "urn:li:person:alice"), (b, "urn:li:person:bob")):
            async with db.account(account_id) as conn:
                await conn.execute(
                    "INSERT INTO linkedin_connections (member_urn, access_token,"
                    " access_expires_at) VALUES (%s, '\\x00', now())",
                    (member,),
                )
        async with db.account(a) as conn:
            assert [c.member_urn for c in await connections(conn)] == ["urn:li:person:alice"]
        async with db.account(b) as conn:
            assert [c.member_urn for c in await connections(conn)] == ["urn:li:person:bob"]


async def test_another_accounts_rows_cannot_be_written_or_changed(settings: Settings) -> None:
    a, b = await two_accounts(settings)
    async with Database.from_settings(settings) as db:
        await add_contact(db, b, "victim@example.com")

        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            async with db.account(a) as conn:
                await conn.execute(
                    "INSERT INTO contacts (account_id, email) VALUES (%s, 'x@example.com')", (b,)
                )

        async with db.account(a) as conn:
            cur = await conn.execute(
                "UPDATE contacts SET first_name = 'pwned' WHERE email = 'victim@example.com'"
            )
            assert cur.rowcount == 0
            cur = await conn.execute("DELETE FROM contacts WHERE account_id = %s", (b,))
            assert cur.rowcount == 0

        async with db.account(b) as conn:
            assert await rows(conn, "SELECT first_name FROM contacts") == [(None,)]

        # A row written with no account in hand is refused with a reason.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="needs its account"):
            async with db.connection() as conn:
                await conn.execute("INSERT INTO contacts (email) VALUES ('nobody@example.com')")


async def test_the_processes_role_cannot_bypass_the_policies(settings: Settings) -> None:
    assert settings.database_app_password is not None, "the tests run as production does"
    a, _ = await two_accounts(settings)
    async with Database.from_settings(settings) as db:
        await add_contact(db, a, "hidden@example.com")
        async with db.connection() as conn:
            role = await rows(
                conn,
                "SELECT session_user, current_user, rolsuper, rolbypassrls FROM pg_roles"
                " WHERE rolname = session_user",
            )
            owned = await rows(
                conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = session_user",
            )
            # Logged in as the role itself: there is no other role to step back to.
            await conn.execute("RESET ROLE")
            seen = await rows(conn, "SELECT count(*) FROM contacts")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await conn.execute("SET ROLE leadsync")
    assert role == [(APP_ROLE, APP_ROLE, False, False)]
    assert owned == [(0,)]  # owns no table: FORCE would not even be needed
    assert seen == [(0,)]


async def test_a_role_that_could_bypass_is_refused(settings: Settings) -> None:
    """The owner's URL given as the app's connection (a superuser here): refused."""
    db = Database(settings.database_conninfo(), set_role=False)
    with pytest.raises(RoleCanBypass, match="superuser or has BYPASSRLS"):
        async with db.connection():
            pass
    await db.close()


async def test_every_account_table_has_forced_row_security_and_keys_led_by_the_account(
    db: AsyncConnection[Any],
) -> None:
    tables = await rows(
        db,
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id'"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    )
    account_tables = [t for t in tables if t[0] not in GLOBAL_WITH_ACCOUNT]
    assert len(account_tables) >= 14
    assert [t for t in account_tables if not (t[1] and t[2])] == []

    # Primary and unique keys start with the account (ready to distribute by it).
    keys = await rows(
        db,
        "SELECT t.relname, i.relname, (SELECT attname FROM pg_attribute"
        "  WHERE attrelid = t.oid AND attnum = x.indkey[0])"
        " FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indisunique AND t.relname = ANY(%s)",
        [t[0] for t in account_tables],
    )
    assert keys, "no keys found"
    assert [k for k in keys if k[2] != "account_id"] == []

    # The one policy of each: the accounts in hand, for reading and for writing.
    policies = await rows(
        db,
        "SELECT tablename, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'public'"
        " ORDER BY 1",
    )
    by_table = {p[0]: p[1:] for p in policies}
    assert sorted(by_table) == sorted(t[0] for t in account_tables)
    for table, (command, qual, with_check) in by_table.items():
        assert command == "ALL", table
        assert qual == IN_HAND, table
        assert with_check is None, table  # USING applies to new rows as well
