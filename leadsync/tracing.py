"""One lead's trace: a W3C Trace Context ``traceparent`` (https://www.w3.org/TR/trace-context/)
that starts where the lead comes in and follows it through Kafka, so that one search for its
trace id in the processes' logs shows its whole path.

A trace starts at the webhook request (continuing the ``traceparent`` the caller sent, if it
is valid) or at a pull run; it travels as the ``traceparent`` header of every record written
about the lead (notification, raw lead, error event, contact change) and each stage that
reads one continues it in a span of its own (:func:`following`). The trace of the code
running now is a context variable (:func:`traced`, :func:`current`), which
:mod:`leadsync.logs` puts on every log line.

Only the version-00 format is written; a later version is read as the specification says
(its first four fields). ``tracestate`` is neither kept nor forwarded: leadsync has no
vendor state of its own, and the trace id is what its logs are searched by.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

TRACEPARENT = "traceparent"
SAMPLED = 0x01

# version-traceid-parentid-flags, lower-case hex only; a later version may append fields.
_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<span_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?"
)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

# Ids need to be unique, not secret: this generator (seeded from the OS) is several times
# faster than ``secrets`` on the receiver's path.
_random = random.Random()  # noqa: S311 - trace ids are not secrets

Headers = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]


@dataclass(frozen=True, slots=True)
class Trace:
    """A position in a trace: the trace id, the id of the current span (the ``parent-id``
    written on what this span sends) and the trace flags."""

    trace_id: str
    span_id: str
    flags: int = SAMPLED

    @classmethod
    def start(cls) -> Trace:
        """A new trace, its first span ours."""
        return cls(_new_id(128), _new_id(64))

    def child(self) -> Trace:
        """A new span of this trace: what the next stage does with what this one sent."""
        return Trace(self.trace_id, _new_id(64), self.flags)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka record headers carrying this span as the parent of whoever reads them."""
        return [(TRACEPARENT, self.traceparent.encode("ascii"))]


def parse(value: str | bytes | None) -> Trace | None:
    """The trace a ``traceparent`` value names, or None when it is missing or invalid
    (the specification's rules: no version ``ff``, no all-zero ids, version 00 exactly
    55 characters, a later version's extra fields after a dash)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    value = value.strip(" \t")  # optional whitespace around an HTTP header's value
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, span_id = match["version"], match["trace_id"], match["span_id"]
    if version == "ff" or (version == "00" and match["rest"] is not None):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return Trace(trace_id, span_id, int(match["flags"], 16))


def following(parent: Trace | None) -> Trace:
    """A span of ours after ``parent``'s, in its trace; a new trace without one."""
    return parent.child() if parent is not None else Trace.start()


def continued(value: str | bytes | None) -> Trace:
    """A span of ours in the trace the ``traceparent`` value names; a new trace when it
    names none (missing or invalid: the specification treats both alike)."""
    return following(parse(value))


def from_headers(headers: Headers | None) -> Trace | None:
    """The trace a Kafka record's headers carry, if any: the first ``traceparent``,
    its name in any case."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name.lower() == TRACEPARENT:
            return parse(value)
    return None


_current: ContextVar[Trace | None] = ContextVar("leadsync_trace", default=None)


def current() -> Trace | None:
    """The trace of the code running now, if it has one."""
    return _current.get()


@contextmanager
def traced(trace: Trace | None) -> Iterator[Trace | None]:
    """Run the block in ``trace`` (None: in none), and back to the trace before after it.
    Each asyncio task has its own copy of the context: a trace set in one never leaks into
    another."""
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


def _new_id(bits: int) -> str:
    value = 0
    while not value:  # all-zero ids are invalid
        value = _random.getrandbits(bits)
    return f"{value:0{bits // 4}x}"
