"""PATCH (amendments) and the paginated, filtered list of contracts."""

import uuid

from sqlmodel import select

from app.contracts.models import ContractAmendment
from app.db import unit_of_work
from tests.api.conftest import assert_problem
from tests.factories import contract_payload, random_siret


async def _create(client, tenant, **overrides):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(**overrides), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _amendments(sessionmaker, contract_id: str) -> list[ContractAmendment]:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        query = select(ContractAmendment).where(
            ContractAmendment.contract_id == uuid.UUID(contract_id)
        )
        return list((await session.exec(query)).all())


# --- PATCH -------------------------------------------------------------------------------------


async def test_amendment_changes_amount_end_and_holders(client, tenant, sessionmaker):
    contract = await _create(client, tenant, notified_on="2026-03-02", duration_months=24)
    new_siret = random_siret()
    patch = {"amount_ht": "60 000,00", "ends_on": "2028-12-31", "holders": [{"siret": new_siret}]}
    r = await client.patch(f"/v1/contracts/{contract['id']}", json=patch, headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["amount_ht"] == "60000.00"
    assert body["ends_on"] == "2028-12-31"
    assert [h["siret"] for h in body["holders"]] == [new_siret]
    assert body["updated_at"] > contract["updated_at"]
    # persisted, not only echoed
    got = (await client.get(f"/v1/contracts/{contract['id']}", headers=tenant.headers)).json()
    assert got == body

    (amendment,) = await _amendments(sessionmaker, contract["id"])
    assert amendment.changes["amount_ht"] == ["48000.00", "60000.00"]
    assert amendment.changes["ends_on"] == ["2028-03-01", "2028-12-31"]
    assert "holders" in amendment.changes
    assert amendment.by_key_prefix and tenant.headers["Authorization"].split()[1].startswith(
        amendment.by_key_prefix
    )


async def test_amendment_by_duration(client, tenant):
    contract = await _create(client, tenant, notified_on="2026-01-15", duration_months=12)
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"duration_months": 36}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["ends_on"], r.json()["duration_months"]) == ("2029-01-14", 36)


async def test_noop_patch_records_nothing(client, tenant, sessionmaker):
    contract = await _create(client, tenant)
    r = await client.patch(
        f"/v1/contracts/{contract['id']}",
        json={"amount_ht": contract["amount_ht"]},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    assert await _amendments(sessionmaker, contract["id"]) == []


async def test_repost_of_amended_content_is_200(client, tenant):
    payload = contract_payload()
    contract = await _create(client, tenant, **payload)
    await client.patch(
        f"/v1/contracts/{contract['id']}", json={"amount_ht": "75000"}, headers=tenant.headers
    )
    again = await client.post(
        "/v1/contracts", json={**payload, "amount_ht": "75000.00"}, headers=tenant.headers
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == contract["id"]
    stale = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert_problem(stale, 409, "contract_reference_conflict")


async def test_patch_below_threshold(client, tenant):
    contract = await _create(client, tenant)
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"amount_ht": "4999.99"}, headers=tenant.headers
    )
    assert_problem(r, 422, "below_vigilance_threshold")
    got = (await client.get(f"/v1/contracts/{contract['id']}", headers=tenant.headers)).json()
    assert got["amount_ht"] == contract["amount_ht"]


async def test_patch_end_before_notification(client, tenant):
    contract = await _create(client, tenant, notified_on="2026-03-02")
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"ends_on": "2026-03-01"}, headers=tenant.headers
    )
    assert_problem(r, 422, "invalid_dates")


async def test_patch_invalid_amount(client, tenant):
    contract = await _create(client, tenant)
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"amount_ht": "1.234,56"}, headers=tenant.headers
    )
    assert_problem(r, 422, "invalid_amount")


async def test_patch_unknown_contract(client, tenant):
    r = await client.patch(
        f"/v1/contracts/{uuid.uuid4()}", json={"amount_ht": "9000"}, headers=tenant.headers
    )
    assert_problem(r, 404, "contract_not_found")


# --- GET list ----------------------------------------------------------------------------------


async def test_cursor_pagination(client, tenant):
    created = [(await _create(client, tenant))["id"] for _ in range(7)]
    seen: list[str] = []
    sizes = []
    cursor = None
    for _ in range(5):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/v1/contracts", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        sizes.append(len(page["items"]))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert seen == created  # oldest first, no duplicates, none missing


async def test_exact_page_has_no_next_cursor(client, tenant):
    for _ in range(3):
        await _create(client, tenant)
    page = (await client.get("/v1/contracts?limit=3", headers=tenant.headers)).json()
    assert (len(page["items"]), page["next_cursor"]) == (3, None)


async def test_filters(client, tenant):
    siret = random_siret()
    target = await _create(
        client,
        tenant,
        holders=[{"siret": siret}, {"siret": random_siret()}],
        notified_on="2025-01-01",
        ends_on="2025-06-30",
        duration_months=None,
    )
    other = await _create(client, tenant, notified_on="2026-01-01", duration_months=12)

    async def ids(**params):  # type: ignore[no-untyped-def]
        r = await client.get("/v1/contracts", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await ids(reference=target["reference"]) == [target["id"]]
    assert await ids(reference="nope") == []
    assert await ids(supplier=siret[:9]) == [target["id"]]
    assert await ids(active_on="2025-03-15") == [target["id"]]
    assert await ids(active_on="2025-06-30") == [target["id"]]
    assert await ids(active_on="2026-06-30") == [other["id"]]
    assert await ids(active_on="2024-12-31") == []
    assert await ids(supplier=siret[:9], active_on="2026-06-30") == []


async def test_list_is_per_buyer(client, tenant, other_tenant):
    mine = await _create(client, tenant)
    await _create(client, other_tenant)
    page = (await client.get("/v1/contracts", headers=tenant.headers)).json()
    assert [c["id"] for c in page["items"]] == [mine["id"]]


async def test_invalid_cursor(client, tenant):
    r = await client.get("/v1/contracts?cursor=not-a-cursor", headers=tenant.headers)
    assert_problem(r, 422)


async def test_invalid_active_on(client, tenant):
    r = await client.get("/v1/contracts?active_on=31/12/2026", headers=tenant.headers)
    assert_problem(r, 422, "invalid_date")


async def test_patch_clears_cpv_with_null(client, tenant, sessionmaker):
    contract = await _create(client, tenant, cpv_code="45210000-2")
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"cpv_code": None}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["cpv_code"] is None
    (amendment,) = await _amendments(sessionmaker, contract["id"])
    assert amendment.changes == {"cpv_code": ["45210000-2", None]}
    # null on a required field leaves it unchanged
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"amount_ht": None}, headers=tenant.headers
    )
    assert r.json()["amount_ht"] == contract["amount_ht"]
