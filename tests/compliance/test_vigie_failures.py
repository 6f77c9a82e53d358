"""Vigie's failures are Vigie's (issue 10): a token the source rejects (401/403) is a platform
problem; the supplier keeps its status with `check_failed` and never becomes non_compliant from
it, even once asked and past the grace period."""

from datetime import timedelta

from sqlmodel import select

from app.common import utcnow
from app.compliance import scheduling
from app.compliance.models import RequirementState
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle


async def test_a_rejected_token_never_makes_a_supplier_non_compliant(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    good = runtime.compliance.client
    runtime.compliance.client = good.with_token("a-token-the-source-does-not-know")
    try:
        buyer = await make_buyer()
        headers = await make_key(Role.OFFICER, buyer=buyer)
        siren = profile("compliant")
        r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
        assert r.status_code == 201, r.text
        await settle(runtime)
    finally:
        runtime.compliance.client = good
    async with sessionmaker() as session:
        query = select(RequirementState).where(RequirementState.buyer_id == buyer.id)
        rows = (await session.exec(query)).all()
    assert rows and all(r.alert for r in rows)  # the platform problem, on each requirement
    assert all("check_failed" in {x["code"] for x in r.reasons} for r in rows)
    # Asked, and far past the grace period: still a risk, never a non-compliance.
    r = await client.post(f"/v1/suppliers/{siren}/requests", json={}, headers=headers)
    assert r.status_code == 201
    later = utcnow() + timedelta(days=60)
    await scheduling.plan_all(runtime.compliance, now=later)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    assert body["status"] == "not_checked", body  # nothing ever established: no accusation
    assert body["non_compliant_on"] is None
    assert "check_failed" in {x["code"] for x in body["reasons"]}


async def test_a_supplier_in_order_stays_in_order_when_vigie_fails_later(
    client, make_buyer, make_key, runtime, profile
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    siren = profile("compliant")
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    good = runtime.compliance.client
    runtime.compliance.client = good.with_token("a-token-the-source-does-not-know")
    try:
        r = await client.post(f"/v1/suppliers/{siren}/checks", headers=headers)
        assert r.status_code == 202
        await settle(runtime)
    finally:
        runtime.compliance.client = good
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    assert body["status"] == "compliant", body
    requirements = {q["type"]: q for q in body["requirements"]}
    assert all(q["status"] == "valid" and q["alert"] for q in requirements.values())
    assert all("check_failed" in {x["code"] for x in q["reasons"]} for q in requirements.values())


async def test_healthz_shows_the_platform_problem_without_going_down(
    client, make_buyer, make_key, runtime, profile
):
    r = await client.get("/healthz")
    assert r.status_code == 200
    before = r.json()["components"]["checks"]["failed_checks"]  # other tests' rows may count
    good = runtime.compliance.client
    runtime.compliance.client = good.with_token("a-token-the-source-does-not-know")
    try:
        headers = await make_key(Role.OFFICER, buyer=await make_buyer())
        payload = contract_for(profile("compliant"))
        assert (
            await client.post("/v1/contracts", json=payload, headers=headers)
        ).status_code == 201
        await settle(runtime)
    finally:
        runtime.compliance.client = good
    r = await client.get("/healthz")
    assert r.status_code == 200  # the API serves; the operator sees the problem
    body = r.json()
    assert body["status"] == "warning"
    assert body["components"]["checks"]["status"] == "warning"
    assert body["components"]["checks"]["failed_checks"] >= before + 3
