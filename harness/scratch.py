"""What a run creates only for itself and removes afterwards: a throwaway database, topics
under the run's prefixes, consumer groups and faust's data directories."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from leadsync.kafka.topics import admin_client
from leadsync.settings import Settings
from streams.app import data_dir


@contextlib.contextmanager
def run_database(admin_url: str) -> Iterator[str]:
    """A fresh database for this run on the server of ``admin_url``, dropped afterwards;
    yields its URL."""
    name = f"leadsync_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlsplit(admin_url)._replace(path=f"/{name}").geturl()
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def remove_leftovers(settings: Settings, prefixes: Iterable[str], groups: Iterable[str]) -> None:
    """Delete the topics under these prefixes, these consumer groups and the faust data
    directories named after them (best effort)."""
    admin = admin_client(settings)
    prefixes = list(prefixes)
    with contextlib.suppress(Exception):
        topics = [
            t
            for t in admin.list_topics(timeout=10).topics
            if any(t.startswith(f"{p}.") or t.startswith(f"{p}-") for p in prefixes)
        ]
        if topics:
            for future in admin.delete_topics(topics, operation_timeout=30).values():
                with contextlib.suppress(Exception):
                    future.result()
    groups = list(groups)
    if groups:
        for future in admin.delete_consumer_groups(groups).values():
            with contextlib.suppress(Exception):  # a group may never have existed
                future.result()
    for group in groups:
        shutil.rmtree(data_dir(group), ignore_errors=True)
