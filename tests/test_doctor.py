"""`vigie api-entreprise doctor`: tokens by hash with their expiry and missing scopes, against a
local sandbox whose privileges the test chooses; exit 1 when checks would fail, 0 when all is well."""

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.api_calls.models import ApiCall
from app.buyers.models import Buyer
from app.cli import app as cli
from app.config import get_settings
from app.contracts.models import Contract
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.integrations.sandbox.config import ALL_PRIVILEGES, SandboxConfig
from app.integrations.sandbox.server import SandboxServer
from tests.factories import random_siret
from tests.test_buyer_tokens import make_jwt
from tests.test_cli import cli_env, invoke  # noqa: F401  (fixture)

runner = CliRunner()
NOW = datetime.now(UTC)


def _run(work):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        engine = make_engine(get_settings().database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _add_contract(siret: str, extra: list[str], ends_on: date, called_at: datetime = NOW) -> None:
    async def work(session):  # type: ignore[no-untyped-def]
        buyer_id = (await session.exec(select(Buyer.id).where(Buyer.siret == siret))).one()
        session.add(
            Contract(
                buyer_id=buyer_id,
                reference=f"M-{uuid.uuid4().hex[:8]}",
                object="Travaux",
                amount_ht=Decimal("90000.00"),
                notified_on=date(2026, 1, 5),
                ends_on=ends_on,
                extra_requirements=extra,
                content_hash="0" * 64,
            )
        )
        session.add(
            ApiCall(
                buyer_id=buyer_id,
                called_at=called_at,
                endpoint="urssaf_attestation_vigilance",
                recipient=siret,
                object="M",
                http_status=200,
                latency_ms=12,
                outcome="delivered",
            )
        )

    _run(work)


@pytest.fixture
def upstream(monkeypatch) -> Iterator[SandboxConfig]:
    """A sandbox on a real port, as the configured upstream; the test sets tokens and rights."""
    config = SandboxConfig(tokens=())
    server = SandboxServer(config)
    monkeypatch.setenv("API_ENTREPRISE__BASE_URL", server.start())
    get_settings.cache_clear()
    yield config
    server.stop()


def _doctor() -> tuple[int, str, dict]:  # type: ignore[type-arg]
    get_settings.cache_clear()
    result = runner.invoke(cli, ["api-entreprise", "doctor", "--json"])
    lines = result.output.strip().splitlines()
    return result.exit_code, result.output, json.loads(lines[-1])


def _set_token(siret: str, token: str) -> None:
    result = runner.invoke(cli, ["buyers", "token", "set", "--siret", siret], input=token)
    assert result.exit_code == 0, result.output


def test_doctor_reports_missing_scope_and_expiring_token(cli_env, upstream, monkeypatch):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    own, shared = random_siret(), random_siret()
    for s in (own, shared):
        assert invoke("buyers", "create", "--siret", s, "--name", f"Acheteur {s}").exit_code == 0
    platform = make_jwt(NOW + timedelta(days=400))
    expiring = make_jwt(NOW + timedelta(days=10, hours=1))
    monkeypatch.setenv("API_ENTREPRISE__TOKEN", platform)
    _set_token(own, expiring)
    # The shared buyer (platform token) has a live contract asking for Qualibat; an ended
    # contract asking for CIBTP needs nothing any more.
    _add_contract(shared, ["qualibat"], NOW.date() + timedelta(days=200))
    _add_contract(shared, ["cibtp"], NOW.date() - timedelta(days=3), NOW - timedelta(hours=25))
    upstream.tokens = (platform, expiring)
    upstream.privileges = tuple(p for p in ALL_PRIVILEGES if p != "qualibat")

    code, output, report = _doctor()

    assert code == 1, output
    assert platform not in output and expiring not in output
    assert isinstance(report["document_hosts"], list) and "127.0.0.1" in report["document_hosts"]
    assert report["base_url"].startswith("http://127.0.0.1:")
    tokens = {t["owner"]: t for t in report["tokens"]}
    assert set(tokens) == {"platform", f"buyer {own}"}
    assert tokens["platform"]["hash"] == hashlib.sha256(platform.encode()).hexdigest()[:12]
    assert tokens["platform"]["missing_scopes"] == ["qualibat"]
    assert tokens[f"buyer {own}"]["missing_scopes"] == []
    assert tokens[f"buyer {own}"]["days_left"] == 10
    assert tokens[f"buyer {own}"]["expires_at"].startswith(str((NOW + timedelta(days=10)).date()))
    codes = {p["code"]: p for p in report["problems"]}
    assert "missing_scopes" in codes and "qualibat" in codes["missing_scopes"]["message"]
    assert "token_expiring" in codes and f"buyer {own}" in codes["token_expiring"]["message"]
    assert "certificat_cibtp" not in tokens["platform"]["missing_scopes"]
    assert report["outcomes_24h"]["urssaf_attestation_vigilance"] == {"delivered": 1}
    assert report["limits"]["json_per_minute"] == 250


def test_doctor_all_well_exits_0(cli_env, upstream, monkeypatch):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    own = random_siret()
    assert invoke("buyers", "create", "--siret", own, "--name", "Acheteur").exit_code == 0
    platform, buyer_token = (make_jwt(NOW + timedelta(days=d)) for d in (400, 500))
    monkeypatch.setenv("API_ENTREPRISE__TOKEN", platform)
    _set_token(own, buyer_token)
    _add_contract(own, ["qualibat", "cibtp"], NOW.date() + timedelta(days=200))
    upstream.tokens = (platform, buyer_token)

    code, output, report = _doctor()

    assert code == 0, output
    assert report["problems"] == []
    assert [t["missing_scopes"] for t in report["tokens"]] == [[], []]
    assert platform not in output and buyer_token not in output


def test_doctor_rejected_and_missing_tokens_fail(cli_env, upstream, monkeypatch):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    monkeypatch.delenv("API_ENTREPRISE__TOKEN", raising=False)
    code, output, report = _doctor()
    assert code == 1, output
    assert "platform_token_missing" in {p["code"] for p in report["problems"]}

    unknown = make_jwt(NOW + timedelta(days=400))  # the sandbox does not know it: 401
    monkeypatch.setenv("API_ENTREPRISE__TOKEN", unknown)
    code, output, report = _doctor()
    assert code == 1, output
    assert "token_rejected" in {p["code"] for p in report["problems"]}
    assert unknown not in output


def test_doctor_on_the_builtin_sandbox_warns_only(cli_env, monkeypatch):  # noqa: F811
    monkeypatch.delenv("API_ENTREPRISE__BASE_URL", raising=False)
    monkeypatch.delenv("API_ENTREPRISE__TOKEN", raising=False)
    assert invoke("migrate").exit_code == 0
    code, output, report = _doctor()
    assert code == 0, output
    assert report["base_url"] is None
    assert [p["code"] for p in report["problems"]] == ["sandbox"]
    assert report["tokens"][0]["missing_scopes"] == []
