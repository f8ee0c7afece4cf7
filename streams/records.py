"""A Kafka record as the worker's agents hand it over, and the error event of a record
that could not be processed (with an id that a replay of the record derives again)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadsync.tracing import TRACEPARENT, Trace, parse
from schemas.envelopes import RawLead
from schemas.events import ErrorEvent

# Error ids are derived from the record and the failure, so a replay yields the same id.
_ERROR_NAMESPACE = uuid.UUID("6c656164-7379-6e63-2d65-72726f727300")


@dataclass(frozen=True)
class Record:
    """A Kafka record as the agent hands it over, with where it came from and the span of
    its lead's trace in which this stage handles it (leadsync.tracing: a span after the one
    its ``traceparent`` header names, or a new trace); None for a record made by hand."""

    value: bytes
    topic: str
    partition: int
    offset: int
    trace: Trace | None = None

    def ref(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}

    def raw_ref(self) -> dict[str, Any]:
        """Where to find the record again, plus its first bytes for the error log."""
        return {**self.ref(), "bytes": self.value[:4096].decode("utf-8", "replace")}

    def error_ref(self, with_bytes: bool) -> dict[str, Any]:
        """An error event's ``raw_ref``: the record's place (and first bytes), and the
        lead's ``traceparent`` so that an error log line leads to the lead's log lines."""
        ref = self.raw_ref() if with_bytes else self.ref()
        if self.trace is not None:
            ref[TRACEPARENT] = self.trace.traceparent
        return ref

    def error(
        self, stage: str, code: str, message: str, raw: RawLead | None = None,
        field: str | None = None, form_id: int | None = None, with_bytes: bool = False,
        lead_id: str | None = None, origin: str | None = None, account_id: int | None = None,
    ) -> ErrorEvent:  # fmt: skip
        """The error event of this record; ``lead_id``, ``origin`` and ``account_id`` are
        taken from ``raw`` when it is given (a record that is not yet a lead, e.g. a
        notification, names them). The account says whose error log holds it (None: the
        operator's ``pipeline_errors``)."""
        if raw is not None:
            lead_id, origin, account_id = raw.lead.id, raw.origin.value, raw.account_id
        name = f"{self.topic}/{self.partition}/{self.offset}/{stage}/{code}/{lead_id}"
        if account_id is not None:  # one record may fail for several accounts (hydration)
            name += f"/{account_id}"
        return ErrorEvent(
            error_id=uuid.uuid5(_ERROR_NAMESPACE, name),
            occurred_at=datetime.now(UTC),
            stage=stage, code=code, message=message, account_id=account_id, form_id=form_id,
            lead_id=lead_id, field=field, origin=origin,
            sync_run_id=raw.sync_run_id if raw else None,
            raw_ref=self.error_ref(with_bytes),
        )  # fmt: skip


def error_headers(event: ErrorEvent) -> list[tuple[str, bytes]] | None:
    """The record headers of an error event: the ``traceparent`` its ``raw_ref`` names."""
    trace = parse(event.raw_ref.get(TRACEPARENT)) if event.raw_ref else None
    return trace.headers() if trace is not None else None
