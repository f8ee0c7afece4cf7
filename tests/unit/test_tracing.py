"""W3C ``traceparent`` reading and writing (:mod:`leadsync.tracing`), the current trace, and
the processes' log lines (:mod:`leadsync.logs`): one JSON object per line, with the trace
ids of the code that wrote it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import warnings
from collections.abc import Iterator

import pytest

from leadsync import logs, tracing
from leadsync.settings import load_settings
from leadsync.tracing import Trace

# The specification's own example.
EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
WELL_FORMED = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def test_the_specifications_example_is_read_field_by_field() -> None:
    assert tracing.parse(EXAMPLE) == Trace(
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1
    )
    assert tracing.parse(EXAMPLE.encode()) == tracing.parse(EXAMPLE)
    assert tracing.parse(f" {EXAMPLE}\t") == tracing.parse(EXAMPLE)  # header whitespace
    unsampled = tracing.parse(EXAMPLE[:-2] + "00")
    assert unsampled is not None
    assert unsampled.flags == 0


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        EXAMPLE.upper(),  # lower-case hex only
        "ff" + EXAMPLE[2:],  # version ff is invalid
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        EXAMPLE + "-extra",  # version 00 is exactly 55 characters
        EXAMPLE[:-1],  # flags cut short
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # trace id cut short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  # parent id cut short
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "cc" + EXAMPLE[2:] + "extra",  # a later version's extra fields follow a dash
        b"\xff\xfe",
    ],
)
def test_an_invalid_traceparent_names_no_trace(value: str | bytes | None) -> None:
    assert tracing.parse(value) is None


def test_a_later_version_is_read_by_its_first_four_fields() -> None:
    later = "cc" + EXAMPLE[2:] + "-what-comes-next"
    assert tracing.parse(later) == tracing.parse(EXAMPLE)


def test_a_new_trace_and_its_spans_are_well_formed_and_read_back() -> None:
    trace = Trace.start()
    assert WELL_FORMED.fullmatch(trace.traceparent)
    assert trace.traceparent.endswith("-01")  # sampled: leadsync logs every one
    assert tracing.parse(trace.traceparent) == trace
    child = trace.child()
    assert (child.trace_id, child.flags) == (trace.trace_id, trace.flags)
    assert child.span_id != trace.span_id
    assert len({Trace.start().trace_id for _ in range(1000)}) == 1000


def test_a_caller_s_trace_is_continued_and_a_missing_or_invalid_one_replaced() -> None:
    ours = tracing.continued(EXAMPLE)
    assert ours.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ours.span_id != "00f067aa0ba902b7"  # our own span, the caller's is its parent
    for value in (None, "nonsense", "ff" + EXAMPLE[2:]):
        fresh = tracing.continued(value)
        assert fresh.trace_id != ours.trace_id
        assert WELL_FORMED.fullmatch(fresh.traceparent)


def test_record_headers_carry_the_span_and_are_read_whatever_their_shape() -> None:
    trace = Trace.start()
    headers = trace.headers()
    assert headers == [("traceparent", trace.traceparent.encode())]
    assert tracing.from_headers(headers) == trace
    assert tracing.from_headers({"traceparent": trace.traceparent.encode()}) == trace
    content = ("content-type", b"application/json")
    assert tracing.from_headers([content, ("TraceParent", trace.traceparent)]) == trace
    assert tracing.from_headers([content]) is None
    assert tracing.from_headers(None) is None
    assert tracing.from_headers([("traceparent", None)]) is None


def test_our_traceparent_reads_as_opentelemetry_reads_it() -> None:
    """Cross-checked with OpenTelemetry's W3C propagator (installed with FastAPI)."""
    propagation = pytest.importorskip("opentelemetry.trace.propagation.tracecontext")
    from opentelemetry import trace as otel

    propagator = propagation.TraceContextTextMapPropagator()
    for value in (EXAMPLE, Trace.start().traceparent, "cc" + EXAMPLE[2:] + "-x", EXAMPLE.upper()):
        context = otel.get_current_span(propagator.extract({"traceparent": value}))
        theirs = context.get_span_context()
        ours = tracing.parse(value)
        if ours is None:
            assert not theirs.is_valid, value
        else:
            assert f"{theirs.trace_id:032x}" == ours.trace_id
            assert f"{theirs.span_id:016x}" == ours.span_id
            assert int(theirs.trace_flags) == ours.flags


async def test_the_current_trace_is_the_block_s_and_each_task_s_own() -> None:
    assert tracing.current() is None
    first, second = Trace.start(), Trace.start()

    async def work(trace: Trace) -> Trace | None:
        with tracing.traced(trace):
            await asyncio.sleep(0.01)  # the other task runs meanwhile, in its own trace
            return tracing.current()

    assert list(await asyncio.gather(work(first), work(second))) == [first, second]
    with tracing.traced(first):
        with tracing.traced(second):
            assert tracing.current() == second
        assert tracing.current() == first
    assert tracing.current() is None


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the processes' handler, in JSON, into a buffer."""
    written = io.StringIO()
    handler = logs.log_handler("json", "worker")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    logger = logging.getLogger("test.tracing.json")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, written
    logger.removeHandler(handler)


def _lines(written: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in written.getvalue().splitlines()]


def test_a_json_line_says_when_what_who_and_in_which_trace(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, written = json_log
    trace = Trace.start()
    logger.info("outside any trace")
    with tracing.traced(trace):
        logger.warning("lead %s hydrated", "lead-1", extra={"lead_id": "lead-1"})
    outside, inside = _lines(written)
    assert outside["message"] == "outside any trace"
    assert "trace_id" not in outside
    assert inside["message"] == "lead lead-1 hydrated"
    assert (inside["level"], inside["logger"], inside["process"]) == (
        "WARNING",
        "test.tracing.json",
        "worker",
    )
    assert isinstance(inside["pid"], int)
    assert (inside["trace_id"], inside["span_id"]) == (trace.trace_id, trace.span_id)
    assert inside["lead_id"] == "lead-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(inside["time"]))
    assert next(iter(inside)) == "time"


def test_an_exception_and_a_multi_line_message_stay_on_one_line(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, written = json_log
    try:
        raise ValueError("bad\nlead")
    except ValueError:
        logger.exception("import failed:\n%s", "second line")
    assert len(written.getvalue().splitlines()) == 1
    [line] = _lines(written)
    assert line["message"] == "import failed:\nsecond line"
    assert isinstance(line["exception"], str)
    assert "ValueError: bad\nlead" in line["exception"]


def test_a_batch_line_names_every_trace_in_it(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, written = json_log
    traces = sorted(Trace.start().trace_id for _ in range(3))
    logger.info("imported batch: 3 records", extra={"trace_ids": traces})
    [line] = _lines(written)
    assert line["trace_ids"] == traces
    assert all(trace_id in written.getvalue() for trace_id in traces)  # grep finds each


def test_a_text_line_ends_with_its_trace_id() -> None:
    written = io.StringIO()
    handler = logs.log_handler("text", "worker")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    record = logging.LogRecord("streams.hydrate", logging.INFO, __file__, 1, "hydrated", (), None)
    trace = Trace.start()
    with tracing.traced(trace):
        handler.handle(record)
    line = written.getvalue().strip()
    assert " INFO streams.hydrate: hydrated" in line
    assert line.endswith(f"[trace {trace.trace_id}]")


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """:func:`leadsync.logs.configure_logging` as a process runs it, its handler writing
    into a buffer; the logging as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    written = io.StringIO()

    def configure() -> None:
        logs.configure_logging(load_settings(demo=True, log_format="json"), "ingress")
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(written)

    configure()
    uvicorn_error = logging.getLogger("uvicorn.error")
    # uvicorn configures handlers of its own; the process's one handler must be theirs too.
    uvicorn_error.addHandler(logging.StreamHandler(io.StringIO()))
    configure()
    try:
        yield written
    finally:
        logging.captureWarnings(False)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_every_library_s_lines_and_python_s_warnings_come_out_as_json(
    configured: io.StringIO,
) -> None:
    logging.getLogger("uvicorn.error").info(
        "Started server process", extra={"color_message": "\x1b[1mStarted"}
    )
    logging.getLogger("faust.worker").warning("[^Worker]: Ready")
    logging.getLogger("aiokafka.consumer").error("Heartbeat failed")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a deprecated call", DeprecationWarning, stacklevel=1)
    lines = [json.loads(line) for line in configured.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == [
        "uvicorn.error",
        "faust.worker",
        "aiokafka.consumer",
        "py.warnings",
    ]
    assert all(line["process"] == "ingress" for line in lines)
    assert "color_message" not in lines[0]
    assert "a deprecated call" in str(lines[3]["message"])
