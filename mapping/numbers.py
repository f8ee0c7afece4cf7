"""Numbers as people type them: ``1234``, ``-12.5``, ``1,234.50``, ``1.234,50``, ``1 234``.

Rules (pure, no locale at hand, so an ambiguous number is refused rather than guessed):

- an optional sign (``+``, ``-`` or the Unicode minus), then digit groups joined by single
  separators; a leading ``.5`` or ``,5`` is read as ``0.5``;
- spaces (ordinary, no-break, thin) and apostrophes only ever group thousands;
- with both ``.`` and ``,`` the last one is the decimal separator and occurs once;
- one kind repeated (``1.234.567``, ``1,234,567``) groups thousands;
- one ``.`` or ``,`` is the decimal separator, except when it follows a 1-3 digit integer
  part other than ``0`` and exactly three digits follow it: ``1.234`` is 1.234 in English
  and 1234 in Italian, so it is refused as ambiguous (``0.125`` and ``1234.567`` are fine);
- thousands groups are exactly three digits after a first group of one to three;
- at most 15 significant digits, what a JSON double holds exactly; no exponent, NaN,
  infinity, currency sign or percent.

Integers come back as ``int``, the rest as ``float``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from mapping.errors import ValueRejected, describe_shape

MAX_DIGITS = 15

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
_APOSTROPHES = re.compile(r"['\u2019]")
_SHAPE = re.compile(r"^\d+(?:[., ']\d+)*$")
_GROUPING = re.compile(r"^\d{1,3}$")


def parse_number(text: str) -> int | float:
    """The number ``text`` spells, or :class:`ValueRejected` with a reason."""
    value = _APOSTROPHES.sub("'", _SPACES.sub(" ", text.strip()))
    sign = ""
    if value[:1] in ("+", "-", "\u2212"):
        sign = "-" if value[0] != "+" else ""
        value = value[1:].lstrip()
    if value[:1] in (".", ","):
        value = "0" + value
    if not value.isascii() or not _SHAPE.match(value):
        raise ValueRejected(f"it is not a number ({describe_shape(text.strip())})")
    groups = re.split(r"[., ']", value)
    separators = re.findall(r"[., ']", value)
    decimal_at = _decimal_separator_index(groups, separators)
    integer_groups = groups if decimal_at is None else groups[: decimal_at + 1]
    fraction = "" if decimal_at is None else groups[-1]
    if len(integer_groups) > 1 and (
        len(set(separators[: len(integer_groups) - 1])) > 1
        or not _GROUPING.match(integer_groups[0])
        or any(len(g) != 3 for g in integer_groups[1:])
    ):
        raise ValueRejected("its thousands separators do not group digits by three")
    integer = "".join(integer_groups)
    if len((integer + fraction).lstrip("0")) > MAX_DIGITS:
        raise ValueRejected(f"it has more than {MAX_DIGITS} significant digits")
    if decimal_at is None:
        return int(sign + integer)
    return float(Decimal(f"{sign}{integer}.{fraction}"))


def _decimal_separator_index(groups: list[str], separators: list[str]) -> int | None:
    """Index of the separator that starts the fraction, or ``None`` for an integer."""
    marks = [i for i, s in enumerate(separators) if s in ".,"]
    if not marks:
        return None
    kinds = {separators[i] for i in marks}
    last = marks[-1]
    if len(kinds) == 2:
        if separators.count(separators[last]) > 1 or last != len(separators) - 1:
            raise ValueRejected("its decimal separator is not the last separator")
        return last
    if len(marks) > 1:
        return None  # "1.234.567": one kind repeated groups thousands
    if last != len(separators) - 1:
        raise ValueRejected("its decimal separator is not the last separator")
    grouped = len(separators) > 1  # "1 234,567": spaces group, so the mark is decimal
    if not grouped and len(groups[-1]) == 3 and groups[0] != "0" and len(groups[0]) <= 3:
        raise ValueRejected(
            "it is ambiguous: a single '.' or ',' followed by three digits may separate"
            " thousands or decimals"
        )
    return last
