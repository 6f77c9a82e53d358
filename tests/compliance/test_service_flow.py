"""A contract created → its checks run in the background → statuses and reasons per profile."""

import uuid

from sqlmodel import select

from app.compliance.models import Check, RequirementState
from app.documents.models import Document
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle

EXPECTED = {
    # profile: (overall, {requirement: status})
    "compliant": (
        "compliant",
        {"registration": "valid", "urssaf_vigilance": "valid", "dgfip_fiscal": "valid"},
    ),
    "urssaf_refused": ("non_compliant", {"urssaf_vigilance": "refused"}),
    "ceased": ("non_compliant", {"registration": "refused"}),
    "out_of_perimeter": (
        "at_risk",
        {"urssaf_vigilance": "awaiting_upload", "dgfip_fiscal": "awaiting_upload"},
    ),
    "manual_review": ("at_risk", {"urssaf_vigilance": "upstream_pending", "registration": "valid"}),
    "struck_off": ("non_compliant", {"registration": "refused"}),
    "collective_proceedings": ("at_risk", {"registration": "valid"}),
    # Nobody can show the registration (INSEE and every register 404): awaiting upload, a risk.
    "unknown": ("at_risk", {"registration": "awaiting_upload"}),
}
# The rarer registration situations the sandbox pins on fixed SIRENs (D8222-5 2°, L2141-3 CCP).
SCENARIOS = {
    "artisan": ("compliant", {"registration": "valid"}),  # on the artisans' register (RNM)
    "rne_only": ("compliant", {"registration": "valid"}),  # only on the national register (RNE)
    "unregistered": ("at_risk", {"registration": "awaiting_upload"}),
    "non_diffusible": ("compliant", {"registration": "valid"}),  # INSEE 451, a clean register
    "liquidation": ("non_compliant", {"registration": "valid"}),  # registered, but liquidated
    "sauvegarde": ("at_risk", {"registration": "valid"}),
}


async def test_each_profile_gets_its_status(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    sirens = [profile(name) for name in EXPECTED]
    r = await client.post("/v1/contracts", json=contract_for(*sirens), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    for name, (overall, requirements) in EXPECTED.items():
        r = await client.get(f"/v1/suppliers/{profile(name)}/compliance", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        got = {req["type"]: req for req in body["requirements"]}
        assert body["status"] == overall, (name, body)
        for rtype, status in requirements.items():
            assert got[rtype]["status"] == status, (name, rtype, got[rtype])
    # Manual review: a retry date two days ahead, in the reason and in next_check_on.
    r = await client.get(f"/v1/suppliers/{profile('manual_review')}/compliance", headers=headers)
    urssaf = next(q for q in r.json()["requirements"] if q["type"] == "urssaf_vigilance")
    assert urssaf["next_check_on"] is not None
    assert urssaf["reasons"][0]["code"] == "upstream_pending"
    assert "nouvel essai le" in urssaf["reasons"][0]["message"]
    # Refused: a French reason with its code.
    r = await client.get(f"/v1/suppliers/{profile('urssaf_refused')}/compliance", headers=headers)
    codes = [reason["code"] for reason in r.json()["reasons"]]
    assert "urssaf_refused" in codes
    # Evidence archived: the compliant supplier's PDFs and JSON extracts, one check per requirement.
    async with sessionmaker() as session:
        got = (await client.get(f"/v1/suppliers/{profile('compliant')}", headers=headers)).json()
        compliant = {"id": uuid.UUID(got["id"])}
        # The holder was posted by SIREN alone: its name now comes from Sirene.
        assert got["name"], got
        docs = (
            await session.exec(
                select(Document).where(
                    Document.supplier_id == compliant["id"], Document.buyer_id == buyer.id
                )
            )
        ).all()
        assert {d.media_type for d in docs} == {"application/pdf", "application/json"}
        assert all(d.sandbox for d in docs)  # invented data, marked as such
        checks = (
            await session.exec(
                select(Check).where(
                    Check.supplier_id == compliant["id"], Check.buyer_id == buyer.id
                )
            )
        ).all()
        assert sorted(c.requirement for c in checks) == [
            "dgfip_fiscal",
            "registration",
            "urssaf_vigilance",
        ]
        assert all(c.done for c in checks)
        rows = (
            await session.exec(
                select(RequirementState).where(
                    RequirementState.supplier_id == compliant["id"],
                    RequirementState.buyer_id == buyer.id,
                )
            )
        ).all()
        assert all(r.run_state == "idle" and r.next_due_at is not None for r in rows)


async def test_each_registration_scenario_gets_its_status(
    client, make_buyer, make_key, runtime, sessionmaker
):
    from app.integrations.sandbox.profiles import SCENARIO_SIRENS

    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    sirens = [SCENARIO_SIRENS[name] for name in SCENARIOS]
    r = await client.post("/v1/contracts", json=contract_for(*sirens), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    for name, (overall, requirements) in SCENARIOS.items():
        r = await client.get(f"/v1/suppliers/{SCENARIO_SIRENS[name]}/compliance", headers=headers)
        body = r.json()
        got = {req["type"]: req for req in body["requirements"]}
        assert body["status"] == overall, (name, body)
        for rtype, status in requirements.items():
            assert got[rtype]["status"] == status, (name, rtype, got[rtype])
    # A non_compliant status always has its proof: the liquidation's reason opens as a document.
    r = await client.get(
        f"/v1/suppliers/{SCENARIO_SIRENS['liquidation']}/compliance", headers=headers
    )
    reason = next(x for x in r.json()["reasons"] if x["code"] == "liquidation")
    assert reason["article"] and reason["evidence"]
    doc = await client.get(f"/v1/documents/{reason['evidence']}", headers=headers)
    assert doc.status_code == 200, doc.text


async def test_a_urssaf_refusal_is_archived_as_its_proof(
    client, make_buyer, make_key, runtime, profile
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    siren = profile("urssaf_refused")
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    reason = next(x for x in body["reasons"] if x["code"] == "urssaf_refused")
    assert reason["evidence"], reason
    doc = await client.get(f"/v1/documents/{reason['evidence']}", headers=headers)
    assert doc.status_code == 200, doc.text
    content = await client.get(f"/v1/documents/{reason['evidence']}/content", headers=headers)
    assert content.status_code == 200 and b"refus_de_delivrance" in content.content
