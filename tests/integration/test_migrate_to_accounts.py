"""The data of the single-account era moves into one account, "default" (migration 0008)."""

from __future__ import annotations

import psycopg
import pytest

from harness.scratch import run_database
from leadsync.settings import Settings
from sinks.migrate import available, upgrade

pytestmark = pytest.mark.integration


def _apply_until(conninfo: str, last_version: int) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available():
            if migration.version <= last_version:
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )


async def test_single_account_data_moves_into_the_default_account(settings: Settings) -> None:
    with run_database(settings.database_conninfo()) as url:
        _apply_until(url, 7)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO accounts (name) VALUES ('early')")
            conn.execute(
                "INSERT INTO linkedin_connections (member_urn, access_token, access_expires_at)"
                " VALUES ('urn:li:person:m', '\\x00', now())"
            )
            conn.execute(
                "INSERT INTO ad_accounts (urn, connection_id) VALUES ('urn:li:sponsoredAccount:1',"
                " (SELECT id FROM linkedin_connections))"
            )
            conn.execute(
                "INSERT INTO forms (id, name, import_enabled, connection_id)"
                " VALUES (7, 'Test Form', true, (SELECT id FROM linkedin_connections))"
            )
            conn.execute("INSERT INTO form_counters (form_id, imported) VALUES (7, 3)")
            conn.execute(
                "INSERT INTO field_mappings (form_id, source_kind, source_key, field_key)"
                " VALUES (7, 'predefined', 'EMAIL', 'email')"
            )
            conn.execute("INSERT INTO contacts (email) VALUES ('kept@example.com')")

        await upgrade(url)

        with psycopg.connect(url, autocommit=True) as conn:
            accounts: dict[str, int] = dict(
                conn.execute("SELECT name, id FROM accounts").fetchall()
            )
            default = accounts["default"]
            for table in ("contacts", "forms", "form_counters", "field_mappings",
                          "linkedin_connections", "ad_accounts"):  # fmt: skip
                owners = conn.execute(f"SELECT DISTINCT account_id FROM {table}").fetchall()
                assert owners == [(default,)], table
            form = conn.execute("SELECT name, import_enabled, connection_id FROM forms").fetchone()
            assert form is not None
            assert form[:2] == ("Test Form", True)
            assert form[2] is not None  # its connection went along
            # Every account has its contact fields (the LinkedIn ones among them).
            fields = conn.execute(
                "SELECT account_id, count(*) FROM contact_fields"
                " WHERE key IN ('linkedin_imported', 'linkedin_import_date',"
                "               'linkedin_forms_filled') GROUP BY 1 ORDER BY 1"
            ).fetchall()
            assert fields == sorted([(accounts["early"], 3), (default, 3)])


async def test_a_fresh_database_makes_no_default_account(settings: Settings) -> None:
    with run_database(settings.database_conninfo()) as url:
        await upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM contact_fields").fetchone() == (0,)
