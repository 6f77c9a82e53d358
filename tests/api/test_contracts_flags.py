"""The readable amendment history."""

import uuid

from tests.api.conftest import assert_problem, pointers
from tests.factories import contract_payload


async def _create(client, tenant, **overrides):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(**overrides), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _patch(client, tenant, contract, body):  # type: ignore[no-untyped-def]
    return await client.patch(f"/v1/contracts/{contract['id']}", json=body, headers=tenant.headers)


# --- the amendment history ----------------------------------------------------------------------


async def test_amendments_oldest_first_by_pages(client, tenant):
    contract = await _create(client, tenant)
    for amount in ("50000", "51000", "52000"):
        assert (await _patch(client, tenant, contract, {"amount_ht": amount})).status_code == 200
    url = f"/v1/contracts/{contract['id']}/amendments"
    first = (await client.get(url, params={"limit": 2}, headers=tenant.headers)).json()
    assert [a["changes"]["amount_ht"] for a in first["items"]] == [
        ["48000.00", "50000.00"],
        ["50000.00", "51000.00"],
    ]
    assert first["next_cursor"] == first["items"][1]["id"]
    rest = await client.get(
        url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.headers
    )
    assert [a["changes"]["amount_ht"] for a in rest.json()["items"]] == [["51000.00", "52000.00"]]
    assert rest.json()["next_cursor"] is None
    item = rest.json()["items"][0]
    assert item.keys() == {"id", "changes", "by_key_prefix", "created_at"}
    assert tenant.headers["Authorization"].split()[1].startswith(item["by_key_prefix"])


async def test_no_amendment_yet(client, tenant):
    contract = await _create(client, tenant)
    r = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next_cursor": None}


async def test_amendments_of_another_buyer_are_404(client, tenant, other_tenant):
    contract = await _create(client, tenant)
    await _patch(client, tenant, contract, {"amount_ht": "60000"})
    r = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=other_tenant.headers)
    assert_problem(r, 404, "contract_not_found")
    ghost = await client.get(f"/v1/contracts/{uuid.uuid4()}/amendments", headers=tenant.headers)
    assert_problem(ghost, 404, "contract_not_found")


async def test_amendments_refuse_unknown_parameters(client, tenant):
    contract = await _create(client, tenant)
    r = await client.get(
        f"/v1/contracts/{contract['id']}/amendments?since=2026-01-01", headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "unknown_parameter")) == {"#/query/since"}
