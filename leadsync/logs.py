"""The logging of every leadsync process, set up by one call (:func:`configure_logging`).

One handler on the root logger writes to standard error; every library's logger (faust,
mode, aiokafka, uvicorn, httpx, psycopg) propagates to it, so all of a process's lines look
alike. With ``LEADSYNC_LOG_FORMAT=json`` (the default) each line is one JSON object::

    {"time": "2026-12-01T10:00:00.123+00:00", "level": "INFO", "logger": "streams.hydrate",
     "message": "...", "process": "worker", "pid": 4242,
     "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}

with ``trace_id``/``span_id`` whenever the line is written inside a trace
(:mod:`leadsync.tracing`), any ``extra`` the call gave (``lead_id``, a batch's
``trace_ids``), and ``exception`` (the formatted traceback) when there is one. ``text`` is
for a developer's terminal: one readable line, the trace id at its end.

JSON is the default because the processes' logs are read by machines first (compose, an
operator's log pipeline, ``grep``/``jq`` over ``make run``'s log files): a format that
changed with whether a terminal is attached would surprise exactly there. A developer who
runs a process in a terminal sets ``LEADSYNC_LOG_FORMAT=text``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import types
from datetime import UTC, datetime
from typing import Any

from leadsync import tracing
from leadsync.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that set up handlers of their own (uvicorn's dictConfig, faust's worker): their
# records go through the root's handler like everyone else's.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "faust", "mode", "aiokafka")

# A log record's own attributes (a record made now has them all), and uvicorn's copy of its
# message in terminal colours: what is not one of them came as ``extra``.
_RECORD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "color_message",
    }
)


class TraceFields(logging.Filter):
    """Puts the current trace's ids on every record that does not name them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            trace = tracing.current()
            if trace is not None:
                record.trace_id = trace.trace_id
                record.span_id = trace.span_id
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, milliseconds), level, logger, message, the
    process's command and pid, the trace ids and any extra fields, and the exception.

    Written here rather than taken from a JSON-logging package: it is these few lines, and
    they run for every line of the receiver's and the worker's hot paths."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process
        self.pid = os.getpid()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": self.process,
            "pid": self.pid,
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = value  # trace ids, and whatever ``extra`` the call gave
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # A value JSON cannot say is said as its str(); a line stays one line (json escapes
        # newlines) and keeps names and accents readable.
        return json.dumps(line, default=str, ensure_ascii=False)


class TextLines(logging.Formatter):
    """A readable line, with the trace id at its end when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", None)
        return f"{line} [trace {trace_id}]" if trace_id else line


def log_handler(log_format: str, process: str) -> logging.Handler:
    """The handler every process logs through: standard error, in the given format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(process) if log_format == "json" else TextLines())
    handler.addFilter(TraceFields())
    return handler


def configure_logging(settings: Settings, process: str) -> None:
    """Set up the process's logging: the root logger's one handler at the settings' level
    and format, the libraries' loggers through it, Python's warnings and uncaught
    exceptions as log records (so that every line of the process's output parses)."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.addHandler(log_handler(settings.log_format, process))
    root.setLevel(settings.log_level.upper())
    for name in (*_LIBRARY_LOGGERS, "py.warnings"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        # A dictConfig run before (uvicorn's default, a library's) may have disabled the
        # logger or raised its level: the settings' level, on the root, decides.
        library.disabled = False
        library.setLevel(logging.NOTSET)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: types.TracebackType | None
) -> None:
    logging.getLogger("leadsync").critical("uncaught exception", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("leadsync").critical(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
