"""Requests to the contractor: recorded (who, when, how), journaled, and stamped on the
requirements that are not in order — the grace period of a missing document runs from them."""

from sqlmodel import select

from app.compliance.models import RequirementState
from app.documents.models import JournalEntry
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle


async def test_a_request_is_recorded_and_starts_the_grace_of_what_is_not_in_order(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    siren = profile("out_of_perimeter")  # URSSAF and DGFIP cannot be delivered: awaiting upload
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    r = await client.post(
        f"/v1/suppliers/{siren}/requests",
        json={"channel": "note", "note": "Appel au gérant le 30/11"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["channel"] == "note" and body["by"].startswith("key:")
    listed = (await client.get(f"/v1/suppliers/{siren}/requests", headers=headers)).json()
    assert [x["id"] for x in listed] == [body["id"]]
    async with sessionmaker() as session:
        rows = (
            await session.exec(
                select(RequirementState).where(RequirementState.buyer_id == buyer.id)
            )
        ).all()
        stamped = {r.requirement: r.requested_on for r in rows}
        assert stamped["registration"] is None  # in order: nothing asked
        assert stamped["urssaf_vigilance"] is not None and stamped["dgfip_fiscal"] is not None
        kinds = (
            await session.exec(
                select(JournalEntry.kind).where(
                    JournalEntry.subject == f"supplier:{rows[0].supplier_id}"
                )
            )
        ).all()
        assert "compliance.request_recorded" in kinds


async def test_a_request_is_refused_for_another_buyer_and_for_bad_input(
    client, make_buyer, make_key, runtime, profile
):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    siren = profile("compliant")
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    assert r.status_code == 201
    other = await make_key(Role.OFFICER, buyer=await make_buyer("Autre"))
    r = await client.post(f"/v1/suppliers/{siren}/requests", json={}, headers=other)
    assert r.status_code == 404
    r = await client.post(
        f"/v1/suppliers/{siren}/requests", json={"channel": "pigeon"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_choice"
    r = await client.post(
        f"/v1/suppliers/{siren}/requests", json={"requirements": ["kbis"]}, headers=headers
    )
    assert r.status_code == 422


async def test_requests_appear_in_the_dossier(client, make_buyer, make_key, runtime, profile):
    import io
    import json
    import zipfile

    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    siren = profile("out_of_perimeter")
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    contract = r.json()
    await settle(runtime)
    r = await client.post(
        f"/v1/suppliers/{siren}/requests",
        json={"channel": "email", "requirements": ["urssaf_vigilance"]},
        headers=headers,
    )
    assert r.status_code == 201
    r = await client.get(f"/v1/contracts/{contract['id']}/dossier", headers=headers)
    assert r.status_code == 200, r.text
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("manifest.json"))
    assert [(x["holder"], x["channel"], x["requirements"]) for x in manifest["requests"]] == [
        (siren, "email", ["urssaf_vigilance"])
    ]
