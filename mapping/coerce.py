"""A raw answer -> the value its contact field stores, by the field's type.

``coerce`` returns ``None`` when nothing is left of the answer (the field is then left out,
not an error) and raises ``MappingError("invalid_value", ...)`` when the answer does not fit.
Rules per type (messages never quote the value):

- text: Unicode NFC; control characters dropped; runs of spaces and tabs collapsed; lines
  trimmed; at most one blank line in a row; at most 1,000 characters, else invalid.
- email: trimmed (zero-width characters too), lowercased; one ``@``; a local part of at most
  64 characters without spaces or dots at its ends; a domain of dot-separated labels (letters,
  digits, inner hyphens) with a last label of 2+ characters not all digits; 254 at most.
- phone: ``+`` (leading only) and digits kept; spaces, dots, hyphens, slashes, parentheses
  dropped; ``+44 (0)20`` loses the ``(0)``; a leading ``00`` becomes ``+``; 6-20 digits; any
  other character (a phone "made of words") is invalid.
- number: see :mod:`mapping.numbers` (``1,234.5`` and ``1.234,5`` yes, ``1.234`` refused as
  ambiguous); ``int`` or ``float``.
- boolean: yes/no words in English, Italian, French, German, Spanish, Portuguese, Dutch and
  Polish, ``1``/``0``, ``on``/``off``, case and accents ignored; a consent gives its own bool.
- date: see :mod:`mapping.dates`; ``YYYY-MM-DD``.
- datetime: ISO 8601 with a time zone; UTC ISO with ``Z``.
- single_choice: one value; with ``choices`` it must match one (case and spacing ignored)
  and the canonical choice is returned; without, text rules apply.
- multiple_choice: a list, or a string split on commas, semicolons and new lines (unless the
  whole string is a choice); items trimmed, deduplicated, each matched as for single choice.
- relation: never a mapping target (``field_not_mappable``).

A list (a multiple-choice answer's labels) fills a text field joined with ``", "`` and any
other single-valued field only when it holds one label. A bool (a consent) fills a boolean
field, a text field as ``true``/``false``, or a single-choice field through the one choice
that reads as that yes/no.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import NoReturn

from mapping.contact_points import EDGE_INVISIBLES, parse_email, parse_phone
from mapping.dates import parse_date, parse_datetime
from mapping.errors import FIELD_NOT_MAPPABLE, INVALID_VALUE, MappingError, ValueRejected
from mapping.numbers import parse_number
from schemas.mappings import ContactField, FieldType, JsonValue

MAX_TEXT_LENGTH = 1000
# Field types a consent's accepted/refused can fill.
BOOLEAN_TARGETS: frozenset[FieldType] = frozenset({"boolean", "text", "single_choice"})

_TRUE = frozenset(
    [
        "true",
        "t",
        "yes",
        "y",
        "1",
        "on",
        "si",
        "oui",
        "ja",
        "vero",
        "wahr",
        "verdadero",
        "sim",
        "tak",
        "checked",
    ]
)
_FALSE = frozenset(
    [
        "false",
        "f",
        "no",
        "n",
        "0",
        "off",
        "non",
        "nein",
        "falso",
        "falsch",
        "nao",
        "nee",
        "nie",
        "unchecked",
    ]
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LIST_SPLIT = re.compile(r"[,;\n]")


def coerce(value: str | list[str] | bool, field: ContactField) -> JsonValue:
    """``value`` as ``field`` stores it; ``None`` if empty; ``MappingError`` if it does not fit."""
    if field.type == "relation":
        raise MappingError(
            FIELD_NOT_MAPPABLE,
            f"'{field.key}' is a relation field, not a mapping target",
            field.key,
        )
    if isinstance(value, bool):
        return _from_bool(value, field)
    if isinstance(value, list):
        items = [item for item in (clean_text(v) for v in value) if item]
        if field.type == "multiple_choice":
            return _choices(items, field) or None
        if not items:
            return None
        if field.type != "text" and len(items) > 1:
            _invalid(field, f"it has {len(items)} answers and the field takes one")
        value = ", ".join(items)
    if not clean_text(value):
        return None
    try:
        result = _COERCERS[field.type](value, field)
    except ValueRejected as rejected:
        _invalid(field, rejected.reason)
    return None if result == [] else result


def clean_text(value: str) -> str:
    """Text as stored: NFC, no control characters, spacing tidied, trimmed."""
    if value.isascii() and value.isprintable() and "  " not in value:
        # Most answers: printable ASCII is already NFC, has no control character or edge
        # invisible, and its only whitespace is single spaces (the full path is ~10x slower).
        return value.strip(" ")
    return _clean_text_fully(value)


def _clean_text_fully(value: str) -> str:
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [" ".join(line.split()) for line in _CONTROL.sub("", value).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip().strip(EDGE_INVISIBLES).strip()


def parse_boolean(value: str) -> bool:
    word = unicodedata.normalize("NFKD", value.strip().rstrip(".!").casefold())
    word = "".join(c for c in word if not unicodedata.combining(c))
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueRejected("it is not a yes/no answer")


def _text(value: str, field: ContactField) -> str:
    text = clean_text(value)
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueRejected(f"it has {len(text):,} characters, more than {MAX_TEXT_LENGTH:,}")
    return text


def _single(value: str, field: ContactField) -> str:
    if field.choices is None:
        return _text(value, field)
    return _choice(clean_text(value), field)


def _multiple(value: str, field: ContactField) -> list[str]:
    text = clean_text(value)
    if field.choices is not None and _choice_key(text) in _choice_index(field):
        return [_choice(text, field)]
    return _choices([t for t in (clean_text(p) for p in _LIST_SPLIT.split(text)) if t], field)


def _choices(items: list[str], field: ContactField) -> list[str]:
    result: list[str] = []
    for item in items:
        try:
            chosen = _choice(item, field) if field.choices is not None else _text(item, field)
        except ValueRejected as rejected:
            _invalid(field, rejected.reason)
        if chosen not in result:
            result.append(chosen)
    return result


def _choice(text: str, field: ContactField) -> str:
    chosen = _choice_index(field).get(_choice_key(text))
    if chosen is None:
        raise ValueRejected("it is not one of the field's choices")
    return chosen


def _choice_index(field: ContactField) -> dict[str, str]:
    return {_choice_key(c): c for c in reversed(field.choices or ())}  # first choice wins


def _choice_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _from_bool(value: bool, field: ContactField) -> JsonValue:
    if field.type == "boolean":
        return value
    if field.type == "text" or (field.type == "single_choice" and field.choices is None):
        return "true" if value else "false"
    if field.type == "single_choice":
        matching = [c for c in field.choices or () if _reads_as(c) is value]
        if len(matching) == 1:
            return matching[0]
        _invalid(field, "no single choice of the field reads as this yes/no answer")
    _invalid(field, f"a yes/no answer (a consent) cannot fill a {field.type} field")


def _reads_as(choice: str) -> bool | None:
    try:
        return parse_boolean(choice)
    except ValueRejected:
        return None


def _invalid(field: ContactField, reason: str) -> NoReturn:
    raise MappingError(
        INVALID_VALUE,
        f"the value for '{field.key}' ({field.type}) is not valid: {reason}",
        field.key,
    )


def _scalar(parse: Callable[[str], JsonValue]) -> Callable[[str, ContactField], JsonValue]:
    return lambda value, _field: parse(value)


_COERCERS: dict[FieldType, Callable[[str, ContactField], JsonValue]] = {
    "text": _text,
    "email": _scalar(parse_email),
    "phone": _scalar(parse_phone),
    "number": _scalar(parse_number),
    "boolean": _scalar(parse_boolean),
    "date": _scalar(lambda v: parse_date(v).isoformat()),
    "datetime": _scalar(lambda v: parse_datetime(v).isoformat().replace("+00:00", "Z")),
    "single_choice": _single,
    "multiple_choice": _multiple,
}
