from app.keys.models import Role
from tests.factories import contract_payload


async def test_create_and_get(client, make_buyer, make_key):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    r = await client.post("/v1/contracts", json=contract_payload(amount_ht="12 345,67"), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["amount_ht"] == "12345.67"
    r2 = await client.get(f"/v1/contracts/{body['id']}", headers=headers)
    assert r2.status_code == 200, r2.text
    r3 = await client.get("/healthz")
    assert r3.status_code == 200, r3.text
