"""API keys: stored as a hash only, visible prefix, last use recorded, revocable (API and CLI)."""

from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import select as sqlmodel_select

from app.db import unit_of_work
from app.keys.models import ApiKey
from app.keys.service import KEY_CACHE
from app.models import metadata
from tests.api.conftest import assert_problem
from tests.factories import prefix_of, random_siret


async def _dump_database(sessionmaker) -> str:  # type: ignore[no-untyped-def]
    """Every row of every table, as text."""
    chunks = []
    async with unit_of_work(sessionmaker) as session:
        conn = await session.connection()
        for table in metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            chunks.append(f"{table.name}: {rows!r}")
    return "\n".join(chunks)


async def test_created_key_is_shown_once_and_stored_as_hash(
    client, make_key, make_buyer, sessionmaker
):
    admin = await make_key("admin")
    buyer = await make_buyer()
    r = await client.post(
        "/v1/keys", json={"role": "erp", "buyer_siret": buyer.siret, "label": "ERP"}, headers=admin
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key, prefix = created["key"], created["prefix"]
    assert key.startswith(prefix + "_") and prefix.startswith("vg_")
    assert len(key) - len(prefix) - 1 >= 43  # 256 bits in base64url
    assert (created["role"], created["buyer_id"]) == ("erp", str(buyer.id))

    # it works...
    contracts = await client.get("/v1/contracts", headers={"Authorization": f"Bearer {key}"})
    assert contracts.status_code == 200, contracts.text

    # ...the list shows the prefix, never the key
    listed = await client.get("/v1/keys", headers=admin)
    assert listed.status_code == 200
    assert prefix in listed.text and key not in listed.text
    assert "key_hash" not in listed.text

    # ...and nothing in the database holds it
    dump = await _dump_database(sessionmaker)
    assert prefix in dump  # the dump is real
    assert key not in dump
    assert key[len(prefix) + 1 :] not in dump


async def test_last_used_at_recorded(client, make_key, make_buyer, sessionmaker):
    headers = await make_key("officer", buyer=await make_buyer())
    prefix = prefix_of(headers["Authorization"])

    async def last_used():  # type: ignore[no-untyped-def]
        async with unit_of_work(sessionmaker) as session:
            query = sqlmodel_select(ApiKey).where(ApiKey.prefix == prefix)
            return (await session.exec(query)).one().last_used_at

    assert await last_used() is None
    assert (await client.get("/v1/contracts", headers=headers)).status_code == 200
    first = await last_used()
    assert first is not None and first.tzinfo is not None
    # an older use is refreshed on the next request
    async with unit_of_work(sessionmaker) as session:
        await session.exec(
            update(ApiKey)
            .where(ApiKey.prefix == prefix)  # type: ignore[arg-type]
            .values(last_used_at=first - timedelta(hours=1))
        )
    KEY_CACHE.clear()  # as when the cache's few seconds have passed (the row was edited behind it)
    assert (await client.get("/v1/contracts", headers=headers)).status_code == 200
    assert await last_used() >= first


async def test_revoke_via_api(client, make_key, make_buyer):
    admin = await make_key("admin")
    headers = await make_key("officer", buyer=await make_buyer())
    prefix = prefix_of(headers["Authorization"])
    assert (await client.get("/v1/contracts", headers=headers)).status_code == 200
    r = await client.delete(f"/v1/keys/{prefix}", headers=admin)
    assert r.status_code == 204, r.text
    assert_problem(await client.get("/v1/contracts", headers=headers), 401, "revoked_api_key")
    listed = {k["prefix"]: k for k in (await client.get("/v1/keys", headers=admin)).json()}
    assert listed[prefix]["revoked_at"] is not None
    # revoking twice is harmless; an unknown prefix is a 404
    assert (await client.delete(f"/v1/keys/{prefix}", headers=admin)).status_code == 204
    assert_problem(
        await client.delete("/v1/keys/vg_00000000", headers=admin), 404, "api_key_not_found"
    )


async def test_key_scope_rules(client, make_key, make_buyer):
    admin = await make_key("admin")
    buyer = await make_buyer()
    cases = [
        {"role": "officer"},  # no buyer
        {"role": "erp", "buyer_siret": buyer.siret, "supplier_siren": random_siret()[:9]},
        {"role": "contractor"},
        {"role": "admin", "buyer_siret": buyer.siret},
    ]
    for body in cases:
        r = await client.post("/v1/keys", json=body, headers=admin)
        assert_problem(r, 422, "invalid_scope")
    r = await client.post("/v1/keys", json={"role": "superuser"}, headers=admin)
    assert_problem(r, 422)


async def test_key_for_unknown_buyer(client, make_key):
    admin = await make_key("admin")
    r = await client.post(
        "/v1/keys", json={"role": "officer", "buyer_siret": random_siret()}, headers=admin
    )
    assert_problem(r, 404, "buyer_not_found")


async def test_contractor_key_by_siren(client, make_key):
    admin = await make_key("admin")
    siren = random_siret()[:9]
    r = await client.post(
        "/v1/keys", json={"role": "contractor", "supplier_siren": siren}, headers=admin
    )
    assert r.status_code == 201, r.text
    assert r.json()["supplier_id"]
    bad = await client.post(
        "/v1/keys", json={"role": "contractor", "supplier_siren": "123456789"}, headers=admin
    )
    assert_problem(bad, 422, "invalid_identifier")


async def test_buyers_api(client, make_key):
    admin = await make_key("admin")
    siret = random_siret()
    r = await client.post("/v1/buyers", json={"siret": siret, "name": " Ville "}, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["siret"], r.json()["name"]) == (siret, "Ville")
    again = await client.post("/v1/buyers", json={"siret": siret, "name": "Ville"}, headers=admin)
    assert_problem(again, 409, "buyer_exists")
    broken = siret[:-1] + str((int(siret[-1]) + 1) % 10)  # Luhn no longer holds
    bad = await client.post("/v1/buyers", json={"siret": broken, "name": "X"}, headers=admin)
    assert_problem(bad, 422, "invalid_identifier")
    listed = await client.get("/v1/buyers", headers=admin)
    assert siret in [b["siret"] for b in listed.json()]


async def test_the_last_admin_key_cannot_be_revoked(client, make_key):
    """Nobody could create or revoke a key through the API after it (issue 14): 409, even with
    that key itself; once a second admin key exists, the first may go."""
    admin = await make_key("admin")
    prefix = prefix_of(admin["Authorization"])
    assert_problem(await client.delete(f"/v1/keys/{prefix}", headers=admin), 409, "last_admin_key")
    assert (await client.get("/v1/keys", headers=admin)).status_code == 200  # still works
    second = await make_key("admin")
    assert (await client.delete(f"/v1/keys/{prefix}", headers=second)).status_code == 204
    assert_problem(
        await client.delete(f"/v1/keys/{prefix_of(second['Authorization'])}", headers=second),
        409,
        "last_admin_key",
    )
