"""Import contexts kept between batches, checked against the database in every batch.

A batch of leads spread over many accounts names hundreds of (account, form, version)
contexts: reading each one's form row, version content (questions as JSON), mappings and
contact fields again in every batch cost a batch of 200 accounts about a tenth more than
one of a single account, for data that changes only when someone edits a form. So the
worker keeps what it read, and each batch asks PostgreSQL only for *stamps* of it, in the
batch's own transaction: a context is reused when its stamp is the one it was read with,
read again otherwise. Reuse can therefore never serve what the transaction would not see.

Stamps are the rows' ``xmin`` (the transaction that wrote the row version): the form row
and the version row. A form's mappings are covered by its row: every statement that writes
mappings rewrites the forms rows it touched (migration 0014's trigger). An account's contact
fields are stamped by their count and the sum of their xmins: a set that gains, loses or
rewrites a row gets a new xmin into the sum; the sum coming out equal after a change would
need the new rows' transaction ids to add up exactly to the removed ones', which one
transaction's writes (every new row carries the same, newer id) cannot do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection

from schemas.mappings import ContactField
from sinks.form_contexts import (
    FormContext,
    VersionKey,
    load_account_contexts,
    load_registries,
)

# Enough for every form version of thousands of accounts; past it, start again.
MAX_CONTEXTS = 50_000
MAX_ACCOUNTS = 20_000

_CONTEXT_STAMPS = """
SELECT k.account_id, k.form_id, k.version_id, f.xmin::text || '/' || v.xmin::text
FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS k(account_id, form_id, version_id)
JOIN forms f ON f.account_id = k.account_id AND f.id = k.form_id
JOIN form_versions v ON v.account_id = k.account_id AND v.form_id = k.form_id
 AND v.version_id = k.version_id
"""

_FIELD_STAMPS = """
SELECT account_id, count(*) || ':' || sum(xmin::text::bigint)
FROM contact_fields WHERE account_id = ANY(%s::bigint[]) GROUP BY account_id
"""


class ContextCache:
    """The import contexts and contact fields a worker has read, with their stamps."""

    def __init__(self) -> None:
        self._contexts: dict[VersionKey, tuple[str, FormContext]] = {}
        self._fields: dict[int, tuple[str, dict[str, ContactField]]] = {}

    async def contexts(
        self, conn: AsyncConnection[Any], keys: Iterable[VersionKey]
    ) -> dict[VersionKey, FormContext]:
        """What :func:`load_account_contexts` returns for ``keys``, as of this transaction."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        cur = await conn.execute(
            _CONTEXT_STAMPS,
            ([a for a, _, _ in wanted], [f for _, f, _ in wanted], [v for _, _, v in wanted]),
        )
        stamps: dict[VersionKey, str] = {(a, f, v): s for a, f, v, s in await cur.fetchall()}
        found: dict[VersionKey, FormContext] = {}
        stale = []
        for key, stamp in stamps.items():
            held = self._contexts.get(key)
            if held is not None and held[0] == stamp:
                found[key] = held[1]
            else:
                stale.append(key)
        if stale:
            fresh = await load_account_contexts(conn, stale)
            if len(self._contexts) + len(fresh) > MAX_CONTEXTS:
                self._contexts.clear()
            for key, context in fresh.items():
                # The stamp read before the context: a change in between (not possible
                # within one transaction's snapshot anyway) would only cause a re-read.
                self._contexts[key] = (stamps[key], context)
            found.update(fresh)
        return found

    async def fields(
        self, conn: AsyncConnection[Any], keys: Iterable[tuple[int, str]]
    ) -> dict[int, dict[str, ContactField]]:
        """The contact field registry (deleted fields included) of each account that
        ``keys`` (account, field key) names, as of this transaction: a superset of what
        the fields its mappings name."""
        wanted: dict[int, set[str]] = {}
        for account_id, key in keys:
            wanted.setdefault(account_id, set()).add(key)
        if not wanted:
            return {}
        cur = await conn.execute(_FIELD_STAMPS, (sorted(wanted),))
        stamps: dict[int, str] = {a: s for a, s in await cur.fetchall()}
        registries: dict[int, dict[str, ContactField]] = {}
        stale = []
        for account_id in wanted:
            held = self._fields.get(account_id)
            if held is not None and held[0] == stamps.get(account_id, "0:0"):
                registries[account_id] = held[1]
            else:
                stale.append(account_id)
        if stale:
            # Whole registries of the accounts read again: a handful of rows each.
            fresh = await load_registries(conn, stale)
            if len(self._fields) + len(stale) > MAX_ACCOUNTS:
                self._fields.clear()
            for account_id in stale:
                registry = fresh.get(account_id, {})
                self._fields[account_id] = (stamps.get(account_id, "0:0"), registry)
                registries[account_id] = registry
        return registries
