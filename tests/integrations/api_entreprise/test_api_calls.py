"""The call log: every call recorded (never the token, in rows or logs), purge past 36 months,
and the `vigie api-entreprise` commands."""

import base64
import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select
from typer.testing import CliRunner

from app.api_calls.cli import token_claims, token_expires_at
from app.api_calls.models import ApiCall
from app.api_calls.service import ApiCallRecorder, months_before, purge_calls
from app.buyers.models import Buyer
from app.db import unit_of_work
from app.integrations.api_entreprise import OutcomeKind
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, CASES, TOKEN


async def test_calls_are_recorded_without_the_token(make_client, staging, sessionmaker, caplog):
    caplog.set_level(logging.DEBUG)
    async with unit_of_work(sessionmaker) as session:
        buyer = Buyer(siret=BUYER_SIRET, name="Commune de Test")
        session.add(buyer)
    client = make_client(recorder=ApiCallRecorder(sessionmaker))
    for case in CASES:
        await client.call(case.operation, case.identifier, recipient=BUYER_SIRET, object="M-1")

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"failed with {request.headers['authorization']}")

    staging.overrides["/v4/insee/sirene/unites_legales/552049447"] = boom
    failed = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M-2")
    assert failed.kind is OutcomeKind.PENDING
    await client.privileges()

    async with unit_of_work(sessionmaker) as session:
        rows = (await session.exec(select(ApiCall).where(ApiCall.recipient == BUYER_SIRET))).all()
        rows += (await session.exec(select(ApiCall).where(ApiCall.endpoint == "privileges"))).all()
    assert len(rows) >= len(CASES) + 2
    assert {r.buyer_id for r in rows if r.endpoint != "privileges"} == {buyer.id}
    urssaf = next(r for r in rows if r.request_id == "req-000000001" and "urssaf" in r.endpoint)
    assert (urssaf.http_status, urssaf.object, urssaf.outcome) == (200, "M-1", "delivered")
    assert any(r.error_code == "connection" and r.http_status is None for r in rows)
    for row in rows:
        assert TOKEN not in json.dumps(row.model_dump(mode="json"))
    assert caplog.records, "the client logs its calls at DEBUG"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in str(r.args) for r in caplog.records)


async def test_purge_removes_calls_older_than_36_months(sessionmaker) -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    async with unit_of_work(sessionmaker) as session:
        for months in (37, 36, 35, 1):
            when = months_before(now, months) - timedelta(minutes=1)
            session.add(
                ApiCall(
                    called_at=when,
                    endpoint=f"purge-{months}",
                    recipient="1" * 14,
                    object="x",
                    latency_ms=1,
                )
            )
    async with unit_of_work(sessionmaker) as session:
        removed = await purge_calls(session, now=now)
    async with unit_of_work(sessionmaker) as session:
        left = await session.exec(select(ApiCall.endpoint).where(ApiCall.recipient == "1" * 14))
        names = sorted(left.all())
    assert removed >= 2
    assert names == ["purge-1", "purge-35"]


def test_months_before_clamps_the_day() -> None:
    assert months_before(datetime(2026, 5, 31, tzinfo=UTC), 3) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2027, 3, 1, tzinfo=UTC), 36) == datetime(2024, 3, 1, tzinfo=UTC)


def fake_jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


def test_token_expiry_is_read_without_verification() -> None:
    token = fake_jwt({"uid": "u", "exp": 1_900_000_000, "scopes": ["a"]})
    assert token_claims(token)["scopes"] == ["a"]
    assert token_expires_at(token) == datetime.fromtimestamp(1_900_000_000, UTC)
    assert token_expires_at("not-a-jwt") is None


def test_privileges_command_against_the_sandbox(monkeypatch) -> None:
    from app.cli import app
    from app.config import get_settings

    token = fake_jwt({"exp": 1_900_000_000})
    monkeypatch.setenv("API_ENTREPRISE__TOKEN", token)
    monkeypatch.delenv("API_ENTREPRISE__BASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["api-entreprise", "privileges"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "2030-03-17" in result.output  # exp 1_900_000_000
    assert "attestations_sociales" in result.output
    assert token not in result.output
