"""POST /v1/payment-checks: advice per invoice from the vigilance file (checked against the
sandbox's profiles end to end), with its reasons, legal basis, evidence and contract."""

import pytest

from app.config import Settings
from app.integrations.sandbox import DEMO_SIRENS
from app.keys.models import Role
from tests.api.conftest import assert_problem
from tests.compliance.conftest import contract_for, settle
from tests.factories import contract_payload

pytestmark = [pytest.mark.real_commits, pytest.mark.sandbox]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"redis_url": None})


async def test_advice_per_invoice(client, app, make_buyer, make_key):
    runtime = app.state.runtime
    runtime.runner.start(periodic=False)
    buyer = await make_buyer()
    erp = await make_key(Role.ERP, buyer=buyer)
    ok, refused, perimeter = (
        DEMO_SIRENS[p] for p in ("compliant", "urssaf_refused", "out_of_perimeter")
    )
    contract = contract_for(ok, refused, perimeter)
    r = await client.post("/v1/contracts", json=contract, headers=erp)
    assert r.status_code == 201, r.text
    await settle(runtime)

    items = [
        {"siren": ok, "contract_reference": contract["reference"], "invoice_reference": "F-1"},
        {"siren": refused, "amount": "12000.00"},
        {"siren": perimeter},
        {"siren": "732829320"},  # a valid SIREN the buyer has no contract with
        {"siren": ok, "contract_reference": "UNKNOWN-REF"},
        {"siret": "12345"},
    ]
    r = await client.post("/v1/payment-checks", json={"items": items}, headers=erp)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "pas une décision" in body["notice"]
    got = body["items"]
    assert [i["advice"] for i in got] == [
        "ok",
        "hold_recommended",
        "warning",
        "warning",
        "warning",
        "warning",
    ]
    first, second = got[0], got[1]
    assert first["invoice_reference"] == "F-1" and first["status"] == "compliant"
    assert first["evidence_document_ids"] and first["as_of"]
    assert second["amount"] == "12000.00"
    assert "urssaf_refused" in {reason["code"] for reason in second["reasons"]}
    assert any("L8222-6" in basis for basis in second["legal_basis"])
    assert not any("L8222-6" in basis for basis in first["legal_basis"])
    assert got[3]["reasons"][0]["code"] == "supplier_not_followed"
    assert got[3]["evidence_document_ids"] == [] and got[3]["as_of"] is None
    assert got[4]["reasons"][-1]["code"] == "contract_not_found"
    assert got[5]["reasons"][0]["code"] == "invalid_identifier"

    # Each item names its supplier once: siren or siret, never both or neither.
    r = await client.post(
        "/v1/payment-checks", json={"items": [{"siren": ok, "siret": ok + "00011"}]}, headers=erp
    )
    assert_problem(r, 422)
    r = await client.post("/v1/payment-checks", json={"items": [{"siren": ok}] * 1001}, headers=erp)
    assert_problem(r, 422)


async def test_another_buyers_supplier_is_not_followed(client, app, make_buyer, make_key):
    app.state.runtime.runner.start(periodic=False)
    mine, theirs = await make_buyer(), await make_buyer()
    r = await client.post(
        "/v1/contracts",
        json=contract_payload(holders=[{"siren": "732829320"}]),
        headers=await make_key(Role.OFFICER, buyer=theirs),
    )
    assert r.status_code == 201, r.text
    await settle(app.state.runtime)  # the other buyer's supplier is checked and has a status
    r = await client.post(
        "/v1/payment-checks",
        json={"items": [{"siren": "732829320"}]},
        headers=await make_key(Role.OFFICER, buyer=mine),
    )
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["advice"] == "warning" and item["reasons"][0]["code"] == "supplier_not_followed"
