"""Every status explains itself (issue 10): French labels beside the codes, reasons with their
article and their `since`, and, while a gap is a risk, the day it becomes a non-compliance —
which only a recorded request to the contractor starts."""

from datetime import date, timedelta

from sqlmodel import select

from app.common import utcnow
from app.compliance import scheduling
from app.compliance.models import RequirementState
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle


async def test_a_gap_is_a_risk_until_asked_then_has_its_day(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    siren = profile("compliant")
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    assert body["status"] == "compliant" and body["status_label"] == "Conforme"
    assert {q["label"] for q in body["requirements"]} >= {"L'attestation de vigilance URSSAF"}
    # The URSSAF attestation on file was obtained long before the due date: a gap.
    async with sessionmaker() as session:
        query = select(RequirementState).where(
            RequirementState.buyer_id == buyer.id,
            RequirementState.requirement == "urssaf_vigilance",
        )
        row = (await session.exec(query)).one()
        old = (date.today() - timedelta(days=120)).isoformat()
        row.evidence = {**(row.evidence or {}), "obtained_on": old, "issued_on": old}
        session.add(row)
        await session.commit()
    await scheduling.plan_all(runtime.compliance)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    assert body["status"] == "at_risk" and body["status_label"] == "À risque"
    assert body["non_compliant_on"] is None  # nobody asked the contractor yet
    codes = {x["code"] for x in body["reasons"]}
    assert "request_not_sent" in codes
    for reason in body["reasons"]:
        assert reason["article"] and reason["label"] and reason["message"]
    urssaf = next(q for q in body["requirements"] if q["type"] == "urssaf_vigilance")
    assert urssaf["status"] == "missing" and urssaf["status_label"] == "Manquante"

    r = await client.post(
        f"/v1/suppliers/{siren}/requests", json={"channel": "email"}, headers=headers
    )
    assert r.status_code == 201
    await scheduling.plan_all(runtime.compliance)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    assert body["status"] == "at_risk"
    grace = runtime.compliance.policy.grace_days
    assert body["non_compliant_on"] == (date.today() + timedelta(days=grace + 1)).isoformat()
    assert "request_sent" in {x["code"] for x in body["reasons"]}
    # The same day on the contract's status, the gaps and the lookup.
    contracts = (await client.get("/v1/contracts", headers=headers)).json()["items"]
    cstatus = (
        await client.get(f"/v1/contracts/{contracts[0]['id']}/compliance", headers=headers)
    ).json()
    assert cstatus["non_compliant_on"] == body["non_compliant_on"]
    gaps = (await client.get("/v1/gaps", headers=headers)).json()["items"]
    assert [g["non_compliant_on"] for g in gaps] == [body["non_compliant_on"]]
    found = (
        await client.post("/v1/compliance/lookup", json={"sirens": [siren]}, headers=headers)
    ).json()["results"][0]
    assert found["non_compliant_on"] == body["non_compliant_on"]
    assert found["status_label"] == "À risque"


async def test_a_missing_sector_certificate_is_never_a_non_compliance(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    """Sector certificates (Qualibat, CIBTP…) are not in the D8222-5 list: asked only where the
    contract says so, and their absence is a risk, never a non-compliance — even asked for and
    far past the grace period."""
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    siren = profile("compliant")
    payload = contract_for(siren, extra_requirements=["qualibat"], cpv_code="45210000")
    r = await client.post("/v1/contracts", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    types = {q["type"] for q in body["requirements"]}
    assert "qualibat" in types and "cibtp" not in types  # never inferred from the CPV code
    async with sessionmaker() as session:
        query = select(RequirementState).where(
            RequirementState.buyer_id == buyer.id, RequirementState.requirement == "qualibat"
        )
        row = (await session.exec(query)).one()
        old = (date.today() - timedelta(days=200)).isoformat()
        row.evidence = {
            **(row.evidence or {}),
            "obtained_on": old,
            "valid_from": old,
            "valid_until": old,
        }
        session.add(row)
        await session.commit()
    r = await client.post(f"/v1/suppliers/{siren}/requests", json={}, headers=headers)
    assert r.status_code == 201
    await scheduling.plan_all(runtime.compliance, now=utcnow() + timedelta(days=40))
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    qualibat = next(q for q in body["requirements"] if q["type"] == "qualibat")
    assert qualibat["status"] in ("missing", "expired") and qualibat["non_compliant_on"] is None
    assert body["status"] == "at_risk" and body["non_compliant_on"] is None
