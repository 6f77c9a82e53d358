"""Suppliers: one row per company across buyers; each buyer sees only the holders of its contracts."""

from app.keys.models import Role
from tests.api.conftest import assert_problem
from tests.factories import contract_payload, random_siret


async def _post(client, headers, *holders):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=list(holders)), headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_one_supplier_row_across_buyers(client, tenant, other_tenant):
    siren = random_siret()[:9]
    mine = await _post(client, tenant.headers, {"siret": random_siret(siren)})
    theirs = await _post(client, other_tenant.headers, {"siren": siren})
    assert mine["holders"][0]["supplier_id"] == theirs["holders"][0]["supplier_id"]
    a = (await client.get(f"/v1/suppliers/{siren}", headers=tenant.headers)).json()
    b = (await client.get(f"/v1/suppliers/{siren}", headers=other_tenant.headers)).json()
    assert a == b
    assert (a["siren"], a["kind"]) == (siren, "french")


async def test_foreign_supplier_shared(client, tenant, other_tenant):
    holder = {"foreign_id": "B-0999.888", "country": "BE", "name": "Entreprise belge"}
    mine = await _post(client, tenant.headers, holder)
    theirs = await _post(client, other_tenant.headers, {**holder, "country": "be"})
    assert mine["holders"][0]["supplier_id"] == theirs["holders"][0]["supplier_id"]


async def test_list_only_my_suppliers(client, tenant, other_tenant):
    shared, mine_only, theirs_only = (random_siret() for _ in range(3))
    await _post(client, tenant.headers, {"siret": shared}, {"siret": mine_only})
    await _post(client, tenant.headers, {"siret": shared})
    await _post(client, other_tenant.headers, {"siret": shared}, {"siret": theirs_only})
    r = await client.get("/v1/suppliers", headers=tenant.headers)
    assert r.status_code == 200, r.text
    sirens = [s["siren"] for s in r.json()["items"]]
    assert sorted(sirens) == sorted([shared[:9], mine_only[:9]])  # once each, not theirs


async def test_list_suppliers_paginated(client, tenant):
    for _ in range(5):
        await _post(client, tenant.headers, {"siret": random_siret()})
    first = (await client.get("/v1/suppliers?limit=3", headers=tenant.headers)).json()
    second = (
        await client.get(
            "/v1/suppliers",
            params={"limit": 3, "cursor": first["next_cursor"]},
            headers=tenant.headers,
        )
    ).json()
    assert (len(first["items"]), len(second["items"]), second["next_cursor"]) == (3, 2, None)
    ids = [s["id"] for s in first["items"] + second["items"]]
    assert len(set(ids)) == 5


async def test_get_supplier_of_another_buyer_is_404(client, tenant, other_tenant):
    siret = random_siret()
    await _post(client, other_tenant.headers, {"siret": siret})
    assert_problem(
        await client.get(f"/v1/suppliers/{siret[:9]}", headers=tenant.headers),
        404,
        "supplier_not_found",
    )


async def test_contractor_sees_only_itself(client, tenant, make_key):
    mine, other = random_siret(), random_siret()
    contract = await _post(client, tenant.headers, {"siret": mine}, {"siret": other})
    supplier_id = next(h["supplier_id"] for h in contract["holders"] if h["siret"] == mine)
    import uuid

    headers = await make_key(Role.CONTRACTOR, supplier_id=uuid.UUID(supplier_id))
    ok = await client.get(f"/v1/suppliers/{mine[:9]}", headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"] == supplier_id
    assert_problem(await client.get(f"/v1/suppliers/{other[:9]}", headers=headers), 404)


async def test_bad_siren_path(client, tenant):
    assert_problem(await client.get("/v1/suppliers/12345", headers=tenant.headers), 422)


async def test_a_foreign_id_typed_with_spaces_is_reachable_by_its_address(client, tenant):
    """`hrb 12345` as an ERP types it is `DEHRB12345` in an address: one supplier, reachable."""
    typed = await _post(
        client, tenant.headers, {"foreign_id": "hrb 12345", "country": "DE", "name": "Bau GmbH"}
    )
    again = await _post(
        client, tenant.headers, {"foreign_id": "HRB-12345", "country": "de", "name": "Bau GmbH"}
    )
    assert typed["holders"][0]["foreign_id"] == "HRB12345"
    assert typed["holders"][0]["supplier_id"] == again["holders"][0]["supplier_id"]
    for key in ("DEHRB12345", "dehrb12345"):
        r = await client.get(f"/v1/suppliers/{key}", headers=tenant.headers)
        assert r.status_code == 200, r.text
    bad = await client.post(
        "/v1/contracts",
        json=contract_payload(holders=[{"foreign_id": " - ", "country": "DE", "name": "X"}]),
        headers=tenant.headers,
    )
    assert bad.status_code == 422
