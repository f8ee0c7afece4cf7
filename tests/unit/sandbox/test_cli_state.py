"""``leadsync sandbox --state FILE``: the file's world and config, with the options given on
the command line on top. Only the server is left out (it would block)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from sandbox import cli
from sandbox.config import FaultConfig, PushFaultConfig, SandboxConfig, SignatureVariant
from sandbox.state import SandboxState


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    state = SandboxState(
        SandboxConfig(
            seed=3,
            client_secret=SecretStr("leadsync-demo-client-secret"),
            retention_days=100,
            faults=FaultConfig(error_rate=0.3, latency_ms=40),
            push_faults=PushFaultConfig(drop_rate=0.2),
            signature_variant=SignatureVariant.BARE,
        )
    )
    state.preload(5, 2)
    path = tmp_path / "sandbox.json"
    state.save(path)
    return path


def _start(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[SandboxState, str]:
    started: list[SandboxState] = []

    def create_app(sandbox: SandboxState, **_kwargs: Any) -> object:
        started.append(sandbox)
        return object()

    monkeypatch.setattr(cli, "create_app", create_app)
    monkeypatch.setattr(cli, "serve", lambda *_args: None)
    result = CliRunner().invoke(cli.app, ["--port", "1", *args])
    assert result.exit_code == 0, result.output
    return started[0], result.output


def test_options_given_override_the_file_and_the_rest_stays_as_saved(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, output = _start(
        monkeypatch, "--state", str(saved), "--error-rate", "0.5", "--push-duplicate", "0.1"
    )
    assert "loaded 5 leads from" in output
    assert len(sandbox.store) == 5
    config = sandbox.config
    assert (config.faults.error_rate, config.faults.latency_ms) == (0.5, 40)
    assert (config.push_faults.drop_rate, config.push_faults.duplicate_rate) == (0.2, 0.1)
    assert config.retention_days == 100
    assert config.signature_variant is SignatureVariant.BARE
    assert config.seed == 3


def test_world_options_are_the_files_and_say_so(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, output = _start(monkeypatch, "--state", str(saved), "--seed", "9", "--preload", "50")
    assert sandbox.config.seed == 3
    assert len(sandbox.store) == 5
    assert f"--preload ignored: the forms and leads are {saved}'s" in output
    assert f"--seed ignored: the forms and leads are {saved}'s" in output


def test_without_a_saved_file_the_options_make_the_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, _ = _start(
        monkeypatch, "--state", str(tmp_path / "new.json"), "--preload", "7", "--error-rate", "0.2"
    )
    assert len(sandbox.store) == 7
    assert sandbox.config.faults.error_rate == 0.2
