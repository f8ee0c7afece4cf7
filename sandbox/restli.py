"""Rest.li 2.0 query syntax, parsed strictly from the raw query-string bytes.

LinkedIn refuses a finder parameter whose ``(``, ``)``, ``:`` or ``,`` were percent-encoded
(what generic HTTP clients do) and one whose URN was left unencoded; this module refuses the
same, so it must see the bytes as sent. Grammar of a structured parameter::

    value := map | list | leaf
    map   := "(" [key ":" value ("," key ":" value)*] ")"
    list  := "List(" [value ("," value)*] ")"
    leaf  := percent-encoded text without a literal "(", ")", ":" or ","

A parameter holding a whole URN (``versionedLeadGenFormUrn``) is a single leaf: its
``:``, ``(``, ``)`` and ``,`` must all be encoded. Every function raises
:class:`RestliSyntaxError` and never guesses what a malformed value meant.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import unquote

from leadsync.errors import PermanentError

RestliValue = str | dict[str, "RestliValue"] | list["RestliValue"]

_DELIMITERS = "(),:"
_ENCODED_DELIMITER = re.compile(r"%(28|29|2c|3a)", re.IGNORECASE)
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class RestliSyntaxError(PermanentError, ValueError):
    """The query string is not valid Rest.li 2.0; the message says what and where."""


def split_query(raw: bytes, allowed: Collection[str] | None = None) -> dict[str, str]:
    """Parameter name -> still-encoded value. Duplicate or nameless parameters are refused,
    and so are names outside ``allowed`` when it is given."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise RestliSyntaxError(
            "the query string must be ASCII (percent-encode the rest)"
        ) from None
    params: dict[str, str] = {}
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote(name)
        if not name:
            raise RestliSyntaxError(f"parameter without a name: {part!r}")
        if name in params:
            raise RestliSyntaxError(f"parameter {name!r} given twice")
        params[name] = value
    unknown = sorted(set(params).difference(allowed)) if allowed is not None else []
    if unknown:
        raise RestliSyntaxError(f"unknown query parameter(s): {', '.join(unknown)}")
    return params


def parse_structured(name: str, raw: str) -> RestliValue:
    """Parse a Rest.li object parameter such as ``(sponsoredAccount:urn%3Ali%3A...)``."""
    if "(" not in raw and _ENCODED_DELIMITER.search(raw):
        raise RestliSyntaxError(
            f"parameter {name!r}: Rest.li delimiters '(', ')', ':' and ',' must not be "
            "percent-encoded"
        )
    parser = _Parser(name, raw)
    value = parser.value()
    parser.expect_end()
    return value


def parse_leaf(name: str, raw: str) -> str:
    """Parse a whole-value parameter (a URN, a number, a boolean): fully percent-encoded."""
    for char in _DELIMITERS:
        if char in raw:
            raise RestliSyntaxError(
                f"parameter {name!r}: a URN given as a whole value must be fully "
                f"percent-encoded (found a literal {char!r})"
            )
    return unquote(raw)


def parse_int(name: str, raw: str, *, minimum: int = 0) -> int:
    text = parse_leaf(name, raw)
    if not re.fullmatch(r"-?\d{1,18}", text) or int(text) < minimum:
        raise RestliSyntaxError(f"parameter {name!r}: expected an integer >= {minimum}")
    return int(text)


def parse_bool(name: str, raw: str) -> bool:
    text = parse_leaf(name, raw)
    if text not in ("true", "false"):
        raise RestliSyntaxError(f"parameter {name!r}: expected true or false")
    return text == "true"


@dataclass(frozen=True)
class FieldSpec:
    """One projected field; ``children`` is None when the whole field is wanted."""

    name: str
    children: tuple[FieldSpec, ...] | None = None


def parse_projection(raw: str) -> tuple[FieldSpec, ...]:
    """Parse ``fields=a,b,form:(x,y)``; the delimiters must be literal, as in finders."""
    if _ENCODED_DELIMITER.search(raw):
        raise RestliSyntaxError(
            "parameter 'fields': Rest.li delimiters must not be percent-encoded"
        )
    parser = _Parser("fields", raw)
    specs = parser.field_list(closing=None)
    parser.expect_end()
    return specs


class _Parser:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> RestliSyntaxError:
        return RestliSyntaxError(f"parameter {self.name!r}: {what} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def expect_end(self) -> None:
        if self.pos != len(self.text):
            raise self.fail("unexpected text (an unencoded URN?)")

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _DELIMITERS:
            self.pos += 1
        return self.text[start : self.pos]

    def value(self) -> RestliValue:
        if self.peek() == "(":
            return self.map()
        if self.text.startswith("List(", self.pos):
            self.pos += len("List")
            return self.list()
        leaf = self.token()
        if not leaf:
            raise self.fail("empty value")
        return unquote(leaf)

    def map(self) -> dict[str, RestliValue]:
        self.take("(")
        result: dict[str, RestliValue] = {}
        while self.peek() != ")":
            if result:
                self.take(",")
            key = unquote(self.token())
            if not _KEY.match(key):
                raise self.fail(f"invalid key {key!r}")
            self.take(":")
            result[key] = self.value()
            if self.peek() == ":":
                raise self.fail(
                    "literal ':' inside a value (a URN inside a Rest.li parameter must be "
                    "percent-encoded: urn%3Ali%3A...)"
                )
        self.take(")")
        return result

    def list(self) -> list[RestliValue]:
        self.take("(")
        items: list[RestliValue] = []
        while self.peek() != ")":
            if items:
                self.take(",")
            items.append(self.value())
        self.take(")")
        return items

    def field_list(self, closing: str | None) -> tuple[FieldSpec, ...]:
        specs: list[FieldSpec] = []
        while self.peek() not in ("", closing):
            if specs:
                self.take(",")
            name = self.token()
            if not _FIELD.match(name):
                raise self.fail(f"invalid field name {name!r}")
            children = None
            if self.peek() == ":":
                self.take(":")
                self.take("(")
                children = self.field_list(closing=")")
                self.take(")")
            specs.append(FieldSpec(name, children))
        if not specs:
            raise self.fail("empty projection")
        return tuple(specs)
