"""Why a lead cannot become a contact, and why a set of mappings is wrong.

Exception tree (nothing here is retriable: the same lead with the same configuration fails
the same way, so it becomes an error-log row and processing continues)::

    leadsync.errors.PermanentError
    ├── MappingError(code, message, field)
    └── ValueRejected(reason)   internal to coercion: becomes MappingError("invalid_value")

Stable codes (they are counted per form and shown in the error log; the admin API shows the
same codes for :class:`MappingProblem`):

- ``identity_not_mapped``: no mapping fills the identity field ``email``.
- ``identity_missing``: the identity is mapped but the lead left it empty.
- ``invalid_value``: a value does not fit its field's type (the identity included).
- ``field_missing``: a mapping targets a field that is unknown or deleted.
- ``field_not_mappable``: a mapping targets a system field or a relation field.

Problems only :func:`mapping.apply.check_mappings` reports (configuration, before any lead):

- ``incompatible_source``: a consent (yes/no) mapped to a field that cannot hold a yes/no.
- ``source_invalid``: a question or consent id that is not a number, or an unknown kind.
- ``source_missing``: the source does not exist in the given form version.
- ``duplicate_source``: the same source mapped twice.
- ``duplicate_target``: two sources fill one field (only sources of the version, when given).

Messages are written for operators: they name the field and the reason, never a whole
personal value (an invalid phone number is described by its shape, not quoted).
"""

from __future__ import annotations

from dataclasses import dataclass

from leadsync.errors import PermanentError

IDENTITY_NOT_MAPPED = "identity_not_mapped"
IDENTITY_MISSING = "identity_missing"
INVALID_VALUE = "invalid_value"
FIELD_MISSING = "field_missing"
FIELD_NOT_MAPPABLE = "field_not_mappable"
INCOMPATIBLE_SOURCE = "incompatible_source"
SOURCE_INVALID = "source_invalid"
SOURCE_MISSING = "source_missing"
DUPLICATE_SOURCE = "duplicate_source"
DUPLICATE_TARGET = "duplicate_target"


class MappingError(PermanentError):
    """A lead that cannot become a contact as configured; never retriable.

    ``code`` is stable (it is counted and shown in the error log), ``field`` names the
    contact field concerned when there is one.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"MappingError({self.code!r}, {self.message!r}, {self.field!r})"


class ValueRejected(PermanentError):
    """A parser's refusal; ``reason`` never quotes the value, so it can reach the error log.

    The parsers (:mod:`mapping.numbers`, :mod:`mapping.dates`, :mod:`mapping.contact_points`)
    raise only this, never a bare ``ValueError``, whose library messages often quote their
    input.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MappingProblem:
    """One thing wrong with a form's mappings, for the admin API.

    ``source`` is ``kind:key`` (e.g. ``question:707234246``) when one source is at fault.
    """

    code: str
    message: str
    field: str | None = None
    source: str | None = None


def describe_shape(text: str) -> str:
    """What a value looks like without quoting it: ``12 characters: 9 digits, 3 letters``."""
    digits = sum(c.isdecimal() for c in text)
    letters = sum(c.isalpha() for c in text)
    counts = ((digits, "digit"), (letters, "letter"), (len(text) - digits - letters, "other"))
    parts = [f"{n} {name}{'' if n == 1 else 's'}" for n, name in counts if n]
    return f"{_plural(len(text), 'character')}: {', '.join(parts)}" if parts else "empty"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
