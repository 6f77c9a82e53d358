"""What fetch hands over goes through the engine and the API: a refusal's proof resolves as an
archived document, and registration is proved by whichever register applies (sandbox
scenarios), through `POST /v1/contracts` and `GET /v1/suppliers/{siren}/compliance`."""

import json

from app.integrations.sandbox.profiles import SCENARIO_SIRENS
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle


async def test_an_urssaf_refusal_has_its_answer_in_the_dossier(
    client, make_buyer, make_key, runtime, profile
) -> None:
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    siren = profile("urssaf_refused")
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    assert body["status"] == "non_compliant"
    urssaf = next(q for q in body["requirements"] if q["type"] == "urssaf_vigilance")
    assert urssaf["status"] == "refused"
    [reason] = [x for x in urssaf["reasons"] if x["code"] == "urssaf_refused"]
    assert reason["evidence"], reason
    document = await client.get(f"/v1/documents/{reason['evidence']}", headers=headers)
    assert document.status_code == 200, document.text
    assert document.json()["media_type"] == "application/json"
    content = await client.get(f"/v1/documents/{reason['evidence']}/content", headers=headers)
    answer = json.loads(content.content)
    assert answer["data"]["entity_status"]["code"] == "refus_de_delivrance"


async def test_registration_by_the_register_that_applies(
    client, make_buyer, make_key, runtime
) -> None:
    expected = {
        # scenario: (registration status, a reason code it carries or None)
        "artisan": ("valid", None),
        "rne_only": ("valid", None),
        "non_diffusible": ("valid", None),
        "unregistered": ("awaiting_upload", "awaiting_upload"),
        "sauvegarde": ("valid", "collective_proceedings"),
        "liquidation": ("valid", "liquidation"),
    }
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    sirens = [SCENARIO_SIRENS[name] for name in expected]
    r = await client.post("/v1/contracts", json=contract_for(*sirens), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    overall = {}
    for name, (status, code) in expected.items():
        siren = SCENARIO_SIRENS[name]
        body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
        registration = next(q for q in body["requirements"] if q["type"] == "registration")
        assert registration["status"] == status, (name, registration)
        codes = {reason["code"] for reason in registration["reasons"]}
        assert code is None or code in codes, (name, registration)
        assert "document_missing" not in codes, (name, registration)
        overall[name] = body["status"]
    assert overall["liquidation"] == "non_compliant"  # L2141-3 CCP
    assert overall["sauvegarde"] == "at_risk"
    assert overall["unregistered"] == "at_risk"  # awaiting its upload, never non_compliant
