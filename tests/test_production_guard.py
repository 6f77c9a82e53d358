"""Never made-up evidence in production (issue 9): the commands that call the upstream refuse to
start on the built-in sandbox, with one sentence naming the variable and exit status 1; and
evidence the sandbox served counts in development and tests only."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    RequirementStatus,
    RequirementType,
    requirement_status,
)
from tests.test_cli import cli_env, invoke  # noqa: F401 - the fixture is used by name

ROOT = Path(__file__).resolve().parents[1]
SECRET = "x" * 48


@pytest.fixture
def production(cli_env, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("ARCHIVE__MASTER_KEYS", '{"k1": "' + "A" * 43 + '="}')
    monkeypatch.delenv("API_ENTREPRISE__BASE_URL", raising=False)
    monkeypatch.delenv("API_ENTREPRISE__TOKEN", raising=False)
    from app.config import get_settings

    get_settings.cache_clear()
    yield cli_env
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "args",
    [("sweep",), ("check", "552100554", "--buyer", "21750001600019"), ("serve",), ("demo",)],
)
def test_upstream_commands_refuse_the_sandbox_in_production(production, args) -> None:  # type: ignore[no-untyped-def]
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert "API_ENTREPRISE__BASE_URL" in result.output


def test_a_base_url_without_a_token_is_refused_too(production, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("API_ENTREPRISE__BASE_URL", "https://entreprise.api.gouv.fr")
    from app.config import get_settings

    get_settings.cache_clear()
    result = invoke("sweep")
    assert result.exit_code == 1 and "API_ENTREPRISE__TOKEN" in result.output


def test_operator_tools_still_run_in_production(production) -> None:  # type: ignore[no-untyped-def]
    result = invoke("migrate")
    assert result.exit_code == 0, result.output


def _worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m workers.main --burst` with this environment."""
    return subprocess.run(
        [sys.executable, "-m", "workers.main", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_worker_refuses_too(production) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_ENTREPRISE__")}
    env.update(
        {"ENVIRONMENT": "production", "SECRET_KEY": SECRET, "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    out = _worker(env)
    assert out.returncode == 1, out.stderr
    assert "API_ENTREPRISE__BASE_URL" in out.stderr


def test_sandbox_evidence_counts_only_where_the_policy_says() -> None:
    today = date(2026, 11, 30)
    evidence = Evidence(
        kind=EvidenceKind.DELIVERED, obtained_on=today, issued_on=today, sandbox=True
    )
    rtype = RequirementType.DGFIP_FISCAL
    dev = requirement_status(rtype, evidence, due_on=today, today=today)
    assert dev.status is RequirementStatus.VALID
    prod = requirement_status(
        rtype, evidence, due_on=today, today=today, policy=CompliancePolicy(sandbox_counts=False)
    )
    assert prod.status is RequirementStatus.MISSING  # as if never checked: no proof
    assert not prod.checked


def test_the_policy_of_production_ignores_sandbox_evidence() -> None:
    from app.compliance.evaluation import policy_from
    from app.config import Settings

    assert policy_from(Settings(environment="development")).sandbox_counts
    assert policy_from(Settings(environment="test")).sandbox_counts
    prod = Settings(
        environment="production",
        secret_key=SECRET,
        api_entreprise={"base_url": "https://entreprise.api.gouv.fr", "token": "t"},
    )
    assert not policy_from(prod).sandbox_counts


def test_the_worker_refuses_to_start_without_redis(cli_env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """No silent fallback to a local Redis database 0 (issue 14)."""
    env = {**os.environ, "REDIS_URL": "", "ENVIRONMENT": "development"}
    out = _worker(env)
    assert out.returncode == 1, out.stderr
    assert "REDIS_URL" in out.stderr
