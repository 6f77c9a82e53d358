"""Idempotent ERP sync: the buyer's reference is the key; same content → 200, other content → 409."""

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.contracts.models import Contract
from app.db import unit_of_work
from tests.api.conftest import assert_problem
from tests.factories import contract_payload, random_siret


async def _count(sessionmaker, buyer_id, reference) -> int:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        query = select(func.count()).where(
            Contract.buyer_id == buyer_id, Contract.reference == reference
        )
        return (await session.exec(query)).one()


async def test_same_post_twice(client, tenant, sessionmaker):
    payload = contract_payload()
    first = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    second = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert first.json() == second.json()
    assert await _count(sessionmaker, tenant.buyer.id, payload["reference"]) == 1


async def test_equivalent_forms_are_the_same_content(client, tenant):
    """The ERP may resend the amount or the holder in another spelling: still the same contract."""
    siret = random_siret()
    payload = contract_payload(amount_ht="48000.00", holders=[{"siret": siret}])
    first = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    respelled = {
        **payload,
        "amount_ht": "48 000,00",
        "holders": [{"siret": siret, "siren": siret[:9]}],
        "reference": f"  {payload['reference']} ",
    }
    second = await client.post("/v1/contracts", json=respelled, headers=tenant.headers)
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert second.json()["id"] == first.json()["id"]


async def test_same_reference_other_content_conflicts(client, tenant):
    payload = contract_payload()
    first = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    changed = {**payload, "amount_ht": "49000.00"}
    r = await client.post("/v1/contracts", json=changed, headers=tenant.headers)
    body = assert_problem(r, 409, "contract_reference_conflict")
    assert "PATCH" in body["detail"]
    assert first.json()["id"] in body["detail"]


async def test_other_holders_conflict(client, tenant):
    payload = contract_payload()
    await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    changed = {**payload, "holders": [{"siret": random_siret()}]}
    r = await client.post("/v1/contracts", json=changed, headers=tenant.headers)
    assert_problem(r, 409, "contract_reference_conflict")


async def test_reference_unique_per_buyer_only(client, tenant, other_tenant):
    payload = contract_payload()
    mine = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    theirs = await client.post("/v1/contracts", json=payload, headers=other_tenant.headers)
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert mine.json()["id"] != theirs.json()["id"]
    # ... and each buyer sees its own
    got = await client.get(f"/v1/contracts/{theirs.json()['id']}", headers=other_tenant.headers)
    assert got.status_code == 200


@pytest.mark.real_commits  # the race needs a connection per request
async def test_concurrent_identical_posts(client, tenant, sessionmaker):
    payload = contract_payload()
    responses = await asyncio.gather(
        *(client.post("/v1/contracts", json=payload, headers=tenant.headers) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(sessionmaker, tenant.buyer.id, payload["reference"]) == 1


@pytest.mark.real_commits
async def test_concurrent_posts_sharing_a_new_supplier(client, tenant):
    """Five contracts created at once with the same new holder: one supplier row."""
    holder = {"siret": random_siret()}
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/contracts", json=contract_payload(holders=[holder]), headers=tenant.headers
            )
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["holders"][0]["supplier_id"] for r in responses}) == 1
