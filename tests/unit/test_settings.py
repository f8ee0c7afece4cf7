from __future__ import annotations

import pytest

from leadsync.settings import ConfigurationError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("LEADSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))  # no stray .env file


def test_demo_mode_fills_the_sandbox_credentials() -> None:
    settings = load_settings(demo=True)
    assert settings.linkedin_client_id == "leadsync-demo-client"
    assert settings.admin_token.get_secret_value() == "leadsync-demo-admin-token"
    assert settings.ingress_port == 8080
    assert settings.admin_port == 8000
    assert settings.sandbox_port == 8090
    assert settings.linkedin_api_url == "https://api.linkedin.com/rest"
    assert settings.topics.leads_raw == "leadsync.leads.raw"


def test_missing_secrets_stop_start_up_naming_each_variable() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    message = str(error.value)
    for name in (
        "LEADSYNC_LINKEDIN_CLIENT_ID",
        "LEADSYNC_LINKEDIN_CLIENT_SECRET",
        "LEADSYNC_ADMIN_TOKEN",
    ):
        assert name in message


def test_placeholder_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_LINKEDIN_CLIENT_ID", "app")
    monkeypatch.setenv("LEADSYNC_LINKEDIN_CLIENT_SECRET", "changeme")
    monkeypatch.setenv("LEADSYNC_ADMIN_TOKEN", "a-real-token")
    with pytest.raises(ConfigurationError, match="LEADSYNC_LINKEDIN_CLIENT_SECRET"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LEADSYNC_LINKEDIN_VERSION", "2026-11", "YYYYMM"),
        ("LEADSYNC_INGRESS_PORT", "http", "LEADSYNC_INGRESS_PORT"),
        ("LEADSYNC_ADMIN_PORT", "70000", "LEADSYNC_ADMIN_PORT"),
        ("LEADSYNC_KAFKA_BOOTSTRAP_SERVERS", "localhost", "host:port"),
        ("LEADSYNC_DATABASE_URL", "mysql://x@y/z", "LEADSYNC_DATABASE_URL"),
        ("LEADSYNC_LINKEDIN_API_URL", "api.linkedin.com", "LEADSYNC_LINKEDIN_API_URL"),
        ("LEADSYNC_TOPIC_PREFIX", "bad prefix!", "LEADSYNC_TOPIC_PREFIX"),
    ],
)
def test_malformed_values_are_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("LEADSYNC_DEMO", "true")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert expected in str(error.value)
    assert variable in str(error.value)


def test_database_password_never_appears_in_errors_or_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADSYNC_DEMO", "true")
    monkeypatch.setenv("LEADSYNC_DATABASE_URL", "mysql://user:hunter2@db/x")
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert "hunter2" not in str(error.value)
    monkeypatch.setenv("LEADSYNC_DATABASE_URL", "postgresql://user:hunter2@db:5432/x")
    monkeypatch.setenv("LEADSYNC_LINKEDIN_CLIENT_SECRET", "s3cr3t-value")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert "s3cr3t-value" not in repr(settings)


def test_bootstrap_list_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_DEMO", "true")
    monkeypatch.setenv("LEADSYNC_KAFKA_BOOTSTRAP_SERVERS", " a:9092 , b:9093 ")
    assert load_settings().kafka_bootstrap_servers == "a:9092,b:9093"


def test_settings_are_frozen() -> None:
    settings = load_settings(demo=True)
    with pytest.raises(ValueError, match="frozen"):
        settings.ingress_port = 1  # type: ignore[misc]  # frozen: the point of the test
