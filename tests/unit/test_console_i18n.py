"""The console's two languages: every Italian catalog file is a JSON object of non-empty
translations that keep their English key's placeholders; no text is translated two ways
in two files; the sign-in, error and users pages are wholly translated and their catalogs
hold no text those pages do not use; every reason a form's status can give, and every
LinkedIn value the forms and LinkedIn pages show as a label, is in Italian; the browser's
language is chosen by its q-values."""

from __future__ import annotations

import ast
import itertools
import json
import re
import string
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from admin.console import i18n
from admin.console.forms_pages import STATE_LABELS, STATUS_LABELS
from admin.console.linkedin_pages import AD_ACCOUNT_ROLES, AD_ACCOUNT_STATUSES
from admin.status import BROKEN_CONNECTION, FormHealth, Status, form_status
from sinks.connections import reconnect_reason

CONSOLE = Path(i18n.__file__).parent
ITALIAN = sorted((CONSOLE / "locales" / "it").glob("*.json"))
# The pages of the sign-in, error and users modules, and the files their texts come from.
OWN_CATALOGS = ("base.json", "auth.json", "users.json")
OWN_TEMPLATES = (
    "base.html",
    "sign_in.html",
    "not_found.html",
    "forbidden.html",
    "bad_request.html",
    "_active.html",
    "users",
)
OWN_MODULES = ("session.py", "auth_pages.py", "users_pages.py", "passwords.py")
_TEMPLATE_TEXT = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _template_texts(path: Path) -> set[str]:
    return {a or b for a, b in _TEMPLATE_TEXT.findall(path.read_text(encoding="utf-8"))}


def _module_strings(path: Path) -> set[str]:
    """Every string constant of a module (implicit concatenations joined, as Python does)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _own_templates() -> list[Path]:
    found: list[Path] = []
    for name in OWN_TEMPLATES:
        path = CONSOLE / "templates" / name
        found.extend(sorted(path.rglob("*.html")) if path.is_dir() else [path])
    return found


def _catalog(name: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((CONSOLE / "locales" / "it" / name).read_text("utf-8"))
    return loaded


@pytest.mark.parametrize("path", ITALIAN, ids=lambda p: p.name)
def test_every_italian_file_is_a_json_object_of_real_translations(path: Path) -> None:
    catalog = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(catalog, dict), f"{path.name}: a JSON object of English -> Italian"
    for english, italian in catalog.items():
        assert isinstance(italian, str), f"{path.name}: {english!r} is not translated to text"
        assert english.strip(), f"{path.name}: an empty key"
        assert italian.strip(), f"{path.name}: {english!r} has an empty translation"
        assert _placeholders(italian) == _placeholders(english), (
            f"{path.name}: {english!r} and its translation name different placeholders"
        )


def test_no_text_is_translated_two_ways_in_two_files() -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in ITALIAN:
        for english, italian in json.loads(path.read_text(encoding="utf-8")).items():
            if english in seen and seen[english][1] != italian:
                clashes.append(f"{english!r}: {seen[english][0]} and {path.name}")
            seen.setdefault(english, (path.name, italian))
    assert clashes == []


def test_the_sign_in_error_and_users_pages_are_wholly_translated() -> None:
    italian = i18n.catalog("it")
    texts = set().union(*(_template_texts(p) for p in _own_templates()))
    assert "Sign in to leadsync" in texts  # the scan finds the texts
    assert sorted(t for t in texts if t not in italian) == []


def test_their_catalogs_hold_only_texts_in_use() -> None:
    used = set().union(*(_template_texts(p) for p in _own_templates()))
    used |= set().union(*(_module_strings(CONSOLE / m) for m in OWN_MODULES))
    for name in OWN_CATALOGS:
        assert sorted(set(_catalog(name)) - used) == [], name


NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
# leadsync's own reasons for a broken connection (what the puller records when LinkedIn
# refuses its tokens): shown inside the form's status and on the LinkedIn page.
CONNECTION_REASONS = sorted(reconnect_reason(status) for status in BROKEN_CONNECTION)


def _every_status() -> list[Status]:
    """The status of every kind of form: Import on and off; no connection, a working, an
    expired and a revoked one, with and without leadsync's reason; no refresh token end, an
    ended one and one in each warning; never, lately and long ago imported; durations of
    one hour, hours, whole days and days with hours."""
    ago = [None, NOW - timedelta(hours=1), NOW - timedelta(days=3), NOW - timedelta(hours=97)]
    ends = [
        None,
        NOW - timedelta(hours=1),
        NOW + timedelta(hours=1, minutes=30),
        NOW + timedelta(hours=5),
        NOW + timedelta(days=6, hours=1),
        NOW + timedelta(days=20, hours=3),
        NOW + timedelta(days=90),
    ]
    connections = [(None, None), ("active", None)] + [
        (status, reason) for status in BROKEN_CONNECTION for reason in (None, *CONNECTION_REASONS)
    ]
    return [
        form_status(
            FormHealth(enabled, enabled_at, imported_at, status, reason, refresh_ends),
            NOW,
            stale,
        )
        for enabled, enabled_at, imported_at, (status, reason), refresh_ends, stale in (
            itertools.product(
                (True, False),
                ago,
                ago,
                connections,
                ends,
                (timedelta(hours=1), timedelta(hours=72)),
            )
        )
    ]


def test_every_reason_a_form_s_status_can_give_is_in_the_italian_catalog() -> None:
    asked: set[str] = set()

    def recording(text: str, **params: object) -> str:
        asked.add(text)
        return i18n.translate("en", text, **params)

    statuses = _every_status()
    for status in statuses:
        status.text(recording)
    assert {s.color for s in statuses} == {"green", "grey", "yellow", "red"}
    assert {"1 hour", "{days} {hours}", "the 1-day warning", "Note: {connection}"} <= asked
    assert sorted(asked - set(i18n.catalog("it"))) == []


def test_a_status_reason_reads_in_italian_with_its_date_and_duration() -> None:
    health = FormHealth(
        import_enabled=True,
        import_enabled_at=NOW - timedelta(days=30),
        last_imported_at=NOW - timedelta(hours=97),
        connection_status="active",
        refresh_expires_at=NOW + timedelta(days=6, hours=1),
    )
    status = form_status(health, NOW, timedelta(hours=72))
    assert status.text(partial(i18n.translate, "it")) == (
        "Il token di rinnovo della connessione LinkedIn scade il 2026-12-03 13:00 UTC"
        " (tra 6 giorni e 1 ora; l'avviso a 7 giorni): riconnetti LinkedIn prima di allora."
        " Nessun contatto importato da 4 giorni e 1 ora (soglia: 3 giorni)."
    )
    revoked = FormHealth(True, NOW, NOW, "revoked", reconnect_reason("revoked"))
    assert form_status(revoked, NOW, timedelta(hours=72)).text(partial(i18n.translate, "it")) == (
        "La connessione LinkedIn di questo modulo è stata revocata (la connessione LinkedIn è"
        " stata revocata: il membro deve riconnettersi (`leadsync linkedin connect`))."
        " Riconnetti LinkedIn per riprendere la sincronizzazione periodica."
    )


@pytest.mark.parametrize(
    "labels",
    [STATUS_LABELS, STATE_LABELS, AD_ACCOUNT_ROLES, AD_ACCOUNT_STATUSES],
    ids=["status", "form state", "ad account role", "ad account status"],
)
def test_every_linkedin_value_shown_as_a_label_is_in_the_italian_catalog(
    labels: dict[str, str],
) -> None:
    assert sorted(set(labels.values()) - set(i18n.catalog("it"))) == []


def test_translate_fills_placeholders_and_falls_back_to_english() -> None:
    assert i18n.translate("it", "{email} was added.", email="a@b.it") == "a@b.it è stato aggiunto."
    assert i18n.translate("it", "No such text, {n}", n=3) == "No such text, 3"
    assert i18n.translate("en", "Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("it-IT,it;q=0.9,en;q=0.8", "it"),
        ("en-GB,en;q=0.9,it;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,it;q=0.5", "it"),
        ("de, en;q=0.2, it;q=0.7", "it"),
        ("it;q=0, en;q=0.1", "en"),
        ("fr", "en"),
        ("it;q=nonsense, en;q=0.5", "en"),
    ],
)
def test_the_browser_s_language_is_chosen_by_its_preferences(
    header: str | None, language: str
) -> None:
    assert i18n.negotiate(header) == language
