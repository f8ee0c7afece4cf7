"""How fast the sandbox serves pages of leads over HTTP (leads/s), against a baseline.

A program, not a test. It starts, on loopback and in child processes:

- the sandbox with 100,000 leads on one form (so every page is full), and
- a baseline: a bare Starlette endpoint answering a static JSON page of the same size,
  taken from the sandbox's own answer (the ceiling: HTTP plus bytes, no work),

then walks all the leads with the finder, page after page as a backfill does, with the
reference page's full projection (each lead carries its form), for page sizes 100 and
1000. The first walk fills the sandbox's per-lead JSON cache ("cold"); the figure is the
median of the following walks ("warm"). The client reads the bytes without decoding them,
so the figures are the server's. Everything stops by itself; nothing leaves loopback.

    .venv/bin/python bench/sandbox_pages.py [--leads 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from harness.children import serve_in_child
from harness.sandboxes import preloaded_sandbox, sandbox_token
from linkedin.restli import REFERENCE_LEAD_FIELDS

ACCOUNT = "urn%3Ali%3AsponsoredAccount%3A1234567"
# The current month is always a live version.
HEADERS = {
    "LinkedIn-Version": datetime.now(UTC).strftime("%Y%m"),
    "X-Restli-Protocol-Version": "2.0.0",
}
DEADLINE_S = 600
SANDBOX_SEED = 1  # the sandbox's default


def _serve_static(port: int, page_file: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = Path(page_file).read_bytes()

    async def page(request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/rest/leadFormResponses", page)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _query(start: int, count: int) -> str:
    return (
        f"/rest/leadFormResponses?q=owner&owner=(sponsoredAccount:{ACCOUNT})"
        "&leadType=(leadType:SPONSORED)&limitedToTestLeads=false"
        "&submittedAtTimeRange=(start:0,end:4102444800000)"
        f"&fields={REFERENCE_LEAD_FIELDS}&count={count}&start={start}"
    )


def _walk(client: httpx.Client, leads: int, count: int) -> float:
    """Seconds to fetch ``leads`` leads in pages of ``count`` (bytes read, not decoded)."""
    started = time.perf_counter()
    for start in range(0, leads, count):
        response = client.get(_query(start, count))
        if response.status_code != 200:
            raise SystemExit(f"page at {start}: HTTP {response.status_code} {response.text[:200]}")
    return time.perf_counter() - started


def _measure(count: int, leads: int, runs: int) -> tuple[float, float, float, int]:
    """(cold, warm, baseline) leads/s for pages of ``count``, and the page size in bytes."""
    page_file = Path(tempfile.mkstemp(suffix=".json")[1])
    # A fresh sandbox per page size, so the first walk really starts with empty caches.
    try:
        with preloaded_sandbox(leads, SANDBOX_SEED, DEADLINE_S / 2) as base:
            headers = HEADERS | {"Authorization": f"Bearer {sandbox_token(base)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                cold = _walk(client, leads, count)
                warm = statistics.median(_walk(client, leads, count) for _ in range(runs))
                page = client.get(_query(0, count)).content
            page_file.write_bytes(page)
            ready = "/rest/leadFormResponses"
            with (
                serve_in_child(
                    _serve_static, str(page_file), ready_path=ready, timeout_s=60
                ) as static,
                httpx.Client(base_url=static, timeout=60) as client,
            ):
                baseline = statistics.median(_walk(client, leads, count) for _ in range(runs))
    finally:
        page_file.unlink(missing_ok=True)
    return leads / cold, leads / warm, leads / baseline, len(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="warm walks per page size")
    args = parser.parse_args()
    print(
        f"{args.leads:,} leads on one form, reference projection (each lead with its form), "
        f"python {sys.version.split()[0]}, {multiprocessing.cpu_count()} CPUs, loopback HTTP; "
        f"warm and baseline are medians of {args.runs} walks"
    )
    print(
        f"{'page size':>9}  {'sandbox cold':>13}  {'sandbox warm':>13}  {'baseline':>13}  warm/base"
    )
    for count in (100, 1000):
        cold, warm, baseline, size = _measure(count, args.leads, args.runs)
        print(
            f"{count:>9}  {cold:>11,.0f}/s  {warm:>11,.0f}/s  {baseline:>11,.0f}/s"
            f"  {warm / baseline:>8.2f}   ({size / count:,.0f} bytes/lead)"
        )


if __name__ == "__main__":
    main()
