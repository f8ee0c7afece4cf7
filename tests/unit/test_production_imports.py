"""The LinkedIn sandbox is part of the repository, never of a production process: the
command line and every process's entry module load without it (``leadsync sandbox`` alone
imports it)."""

from __future__ import annotations

import json
import subprocess
import sys

PROCESS_MODULES = [
    "cli.main",  # what `leadsync <anything>` imports before it runs a command
    "cli.processes",
    "streams.app",  # leadsync worker
    "ingest.webhook.server",  # leadsync ingress
    "ingest.scheduler",  # leadsync scheduler
    "admin.server",  # leadsync admin
]


def _loaded_after_importing(modules: list[str]) -> list[str]:
    program = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_no_production_process_imports_the_sandbox() -> None:
    loaded = _loaded_after_importing(PROCESS_MODULES)
    assert set(PROCESS_MODULES) <= set(loaded)  # the imports really happened
    assert [m for m in loaded if m == "sandbox" or m.startswith("sandbox.")] == []


def test_leadsync_sandbox_still_reaches_the_sandbox() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "sandbox", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: leadsync sandbox" in done.stdout
    assert "The LinkedIn sandbox" in done.stdout
