"""The worker's import contexts kept between batches: reused while the database holds them
as they were read, read again as soon as a form, its version, its mappings or the
account's contact fields change (real PostgreSQL, each check in its own transaction as the
worker's batches are)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from harness.operator import ensure_account
from leadsync.settings import Settings
from schemas.mappings import ContactField
from sinks.context_cache import ContextCache
from sinks.database import Database
from sinks.form_contexts import FormContext

pytestmark = pytest.mark.integration

FORM_ID = 880_001
QUESTIONS = [{"questionId": 1, "name": "email", "predefinedField": "EMAIL"}]


@pytest.fixture(scope="module")
def account_id(settings: Settings) -> int:
    return ensure_account(settings, "context-cache")


@pytest.fixture
async def database(settings: Settings, account_id: int) -> AsyncIterator[Database]:
    db = Database.from_settings(settings)
    async with db.account(account_id) as conn:
        await conn.execute("DELETE FROM field_mappings WHERE form_id = %s", (FORM_ID,))
        await conn.execute("DELETE FROM form_versions WHERE form_id = %s", (FORM_ID,))
        await conn.execute("DELETE FROM forms WHERE id = %s", (FORM_ID,))
        await conn.execute(
            "INSERT INTO forms (id, name, import_enabled) VALUES (%s, 'Cached', true)",
            (FORM_ID,),
        )
        await conn.execute(
            "INSERT INTO form_versions (form_id, version_id, questions) VALUES (%s, 1, %s)",
            (FORM_ID, json.dumps(QUESTIONS)),
        )
        await conn.execute(
            "INSERT INTO field_mappings (form_id, source_kind, source_key, field_key)"
            " VALUES (%s, 'question', 'email', 'email')",
            (FORM_ID,),
        )
    yield db
    await db.close()


async def _read(
    db: Database, cache: ContextCache, account_id: int
) -> tuple[FormContext, dict[str, ContactField]]:
    key = (account_id, FORM_ID, 1)
    async with db.account(account_id) as conn, conn.transaction():
        contexts = await cache.contexts(conn, [key])
        fields = await cache.fields(conn, [(account_id, "email"), (account_id, "first_name")])
    return contexts[key], fields[account_id]


async def test_unchanged_contexts_are_reused(database: Database, account_id: int) -> None:
    cache = ContextCache()
    context, fields = await _read(database, cache, account_id)
    again, fields_again = await _read(database, cache, account_id)
    assert again is context
    assert fields_again is fields
    assert [m.field_key for m in context.mappings] == ["email"]


async def test_a_changed_mapping_set_is_read_again(database: Database, account_id: int) -> None:
    cache = ContextCache()
    await _read(database, cache, account_id)
    async with database.account(account_id) as conn:
        await conn.execute(
            "INSERT INTO field_mappings (form_id, source_kind, source_key, field_key)"
            " VALUES (%s, 'question', 'first', 'first_name')",
            (FORM_ID,),
        )
    context, _ = await _read(database, cache, account_id)
    assert sorted(m.field_key for m in context.mappings) == ["email", "first_name"]
    async with database.account(account_id) as conn:  # a save: delete all, insert anew
        await conn.execute("DELETE FROM field_mappings WHERE form_id = %s", (FORM_ID,))
        await conn.execute(
            "INSERT INTO field_mappings (form_id, source_kind, source_key, field_key)"
            " VALUES (%s, 'question', 'email', 'email'), (%s, 'question', 'first', 'last_name')",
            (FORM_ID, FORM_ID),
        )
    context, _ = await _read(database, cache, account_id)
    assert sorted(m.field_key for m in context.mappings) == ["email", "last_name"]


async def test_form_and_version_changes_are_read_again(database: Database, account_id: int) -> None:
    cache = ContextCache()
    await _read(database, cache, account_id)
    async with database.account(account_id) as conn:
        await conn.execute("UPDATE forms SET import_enabled = false WHERE id = %s", (FORM_ID,))
    context, _ = await _read(database, cache, account_id)
    assert context.import_enabled is False
    renamed = [{**QUESTIONS[0], "name": "work_email"}]
    async with database.account(account_id) as conn:
        await conn.execute(
            "UPDATE form_versions SET questions = %s WHERE form_id = %s",
            (json.dumps(renamed), FORM_ID),
        )
    context, _ = await _read(database, cache, account_id)
    assert [q.name for q in context.version.questions.values()] == ["work_email"]


async def test_contact_field_changes_are_read_again(database: Database, account_id: int) -> None:
    cache = ContextCache()
    _, fields = await _read(database, cache, account_id)
    assert fields["email"].label != "Work e-mail"
    async with database.account(account_id) as conn:
        await conn.execute("UPDATE contact_fields SET label = 'Work e-mail' WHERE key = 'email'")
    _, fields = await _read(database, cache, account_id)
    assert fields["email"].label == "Work e-mail"
    async with database.account(account_id) as conn:
        await conn.execute("UPDATE contact_fields SET label = 'Email' WHERE key = 'email'")
