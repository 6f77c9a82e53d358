"""Idempotency-Key on POST: the first answer replayed, another body refused, a running first
request answered 409, keys scoped to the API key."""

import hashlib
import json
from pathlib import Path

from sqlmodel import func, select

from app.common import utcnow
from app.contracts.models import Contract
from app.db import unit_of_work
from app.events.models import IdempotencyRecord
from app.idempotency import fingerprint
from app.keys.models import Role
from tests.api.conftest import assert_problem
from tests.factories import contract_payload


async def _contracts(sessionmaker, buyer_id) -> int:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        query = select(func.count()).select_from(Contract).where(Contract.buyer_id == buyer_id)
        return int((await session.exec(query)).one())


async def test_a_repeated_post_creates_one_contract(client, tenant, sessionmaker):
    headers = {**tenant.headers, "Idempotency-Key": "b3c0ffee-0000-4000-8000-000000000001"}
    payload = contract_payload()
    first = await client.post("/v1/contracts", json=payload, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/contracts", json=payload, headers=headers)
    assert again.status_code == 201  # the first answer, not the 200 "already known"
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _contracts(sessionmaker, tenant.buyer.id) == 1


async def test_the_same_key_with_another_body_is_refused(client, tenant, sessionmaker):
    headers = {**tenant.headers, "Idempotency-Key": "key-reused"}
    r = await client.post("/v1/contracts", json=contract_payload(), headers=headers)
    assert r.status_code == 201, r.text
    r = await client.post("/v1/contracts", json=contract_payload(), headers=headers)
    assert_problem(r, 422, "idempotency_key_reused")
    assert await _contracts(sessionmaker, tenant.buyer.id) == 1


async def test_a_first_request_still_running_is_a_409(client, tenant, sessionmaker):
    payload = contract_payload()
    token = tenant.headers["Authorization"].removeprefix("Bearer ")
    body = json.dumps(payload).encode()
    async with unit_of_work(sessionmaker) as session:
        session.add(
            IdempotencyRecord(
                scope=hashlib.sha256(token.encode()).hexdigest(),
                key="in-flight",
                fingerprint=fingerprint("POST", "/v1/contracts", b"", body),
                created_at=utcnow(),
            )
        )
    headers = {**tenant.headers, "Idempotency-Key": "in-flight", "content-type": "application/json"}
    r = await client.post("/v1/contracts", content=body, headers=headers)
    assert_problem(r, 409, "idempotency_key_in_use")
    assert r.headers["retry-after"]
    assert await _contracts(sessionmaker, tenant.buyer.id) == 0


async def test_keys_are_scoped_to_the_api_key(client, tenant, make_key, sessionmaker):
    other = await make_key(Role.ERP, buyer=tenant.buyer)  # same buyer, another key
    payload = contract_payload()
    r1 = await client.post(
        "/v1/contracts", json=payload, headers={**tenant.headers, "Idempotency-Key": "k1"}
    )
    r2 = await client.post(
        "/v1/contracts", json=payload, headers={**other, "Idempotency-Key": "k1"}
    )
    assert (r1.status_code, r2.status_code) == (201, 200)  # run again: the contract is known
    assert "idempotent-replayed" not in r2.headers


async def test_errors_that_did_nothing_are_not_kept(client, tenant):
    headers = {"Authorization": "Bearer vg_deadbeef_" + "x" * 43, "Idempotency-Key": "k401"}
    r = await client.post("/v1/contracts", json=contract_payload(), headers=headers)
    assert_problem(r, 401)
    # A validation error is an answer about the request: replayed.
    bad = {**tenant.headers, "Idempotency-Key": "k422"}
    first = await client.post("/v1/contracts", json={"reference": "x"}, headers=bad)
    assert first.status_code == 422
    again = await client.post("/v1/contracts", json={"reference": "x"}, headers=bad)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"


async def test_an_unreadable_key_is_a_400(client, tenant):
    headers = {**tenant.headers, "Idempotency-Key": "x" * 300}
    r = await client.post("/v1/contracts", json=contract_payload(), headers=headers)
    assert_problem(r, 400, "invalid_idempotency_key")


async def test_a_large_upload_repeated_is_one_import(client, tenant, sessionmaker):
    """The body is spooled and given back to the route by chunks: a file of several hundred
    kilobytes arrives whole, and its retry is the first answer again."""
    from app.imports.models import ImportRun

    lines = (Path(__file__).parents[2] / "docs" / "import-example.csv").read_text().splitlines()
    body = "\n".join([lines[0], *(lines[1:] * 1500)]).encode()
    assert len(body) > 300_000
    headers = {**tenant.headers, "Idempotency-Key": "upload-1"}
    files = {"file": ("marches.csv", body, "text/csv")}
    first = await client.post("/v1/imports", files=files, data={"dry_run": "true"}, headers=headers)
    assert first.status_code == 202, first.text
    again = await client.post("/v1/imports", files=files, data={"dry_run": "true"}, headers=headers)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    async with unit_of_work(sessionmaker) as session:
        rows = (
            await session.exec(select(ImportRun).where(ImportRun.buyer_id == tenant.buyer.id))
        ).all()
    assert len(rows) == 1 and rows[0].size == len(body)
