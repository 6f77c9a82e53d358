"""The rewritten hot read paths answer exactly what the previous implementation answered.

`legacy_queries.py` and `legacy_exports.py` are verbatim copies of `app/compliance/queries.py`
and `exports.py` before the rewrite (ORM rows, a pydantic model per row). On a seeded database
(bench/seed.py: every status profile, foreign suppliers, a supplier under two buyers, ended
rows), each read is asked of both and their JSON compared: the supplier's status (its buyer's
view and the contractor's), the bulk lookup, the gaps CSV under each filter, and the routes.
Runs on SQLite and, with DATABASE_URL, on PostgreSQL.
"""

import uuid
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from app.buyers.models import Buyer
from app.common import utcnow, uuid7
from app.compliance import exports, queries
from app.compliance.evaluation import policy_from
from app.compliance.models import RequirementState
from app.compliance.rules import RequirementStatus, RequirementType
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.keys.models import Role
from app.keys.service import create_key
from app.main import create_app
from app.suppliers.models import Supplier
from bench.seed import luhn, seed_region
from tests.perf import legacy_exports, legacy_queries

pytestmark = pytest.mark.real_commits


def as_json(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return orjson.loads(queries.render_json(value))


@pytest.fixture
async def region(fresh_database_url: str, tmp_path):  # type: ignore[no-untyped-def]
    """A small region: 240 suppliers of buyer 1; 30 of them also hold a contract of buyer 2
    (their rows there differ); some rows ended (inactive), some suppliers entirely."""
    engine = make_engine(fresh_database_url)
    policy = policy_from(Settings())
    seeded = await seed_region(engine, policy, suppliers=240, seed=7, foreign_every=20)
    t = RequirementState.__table__  # type: ignore[attr-defined]
    other = uuid7()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Buyer.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": other,
                    "siret": luhn("2130000000001"),
                    "name": "Autre",
                    "created_at": utcnow(),
                }
            ],
        )
        rows = (await conn.execute(sa.select(t).where(t.c.buyer_id == seeded.buyer_id))).all()
        by_supplier: dict[uuid.UUID, list[Any]] = {}
        for row in rows:
            by_supplier.setdefault(row.supplier_id, []).append(row)
        shared = list(by_supplier)[:30]
        copies = []
        for i, supplier_id in enumerate(shared):
            for row in by_supplier[supplier_id]:
                values = dict(row._mapping)
                values.update(id=uuid7(), buyer_id=other)
                if i % 3 == 0:
                    values.update(status=RequirementStatus.VALID, reasons=[])
                copies.append(values)
        await conn.execute(sa.insert(t), copies)
        ended = [r.id for r in rows[::7]]  # some requirements no longer asked for
        gone = by_supplier[list(by_supplier)[40]]  # a supplier whose contracts all ended
        await conn.execute(
            sa.update(t).where(t.c.id.in_(ended + [r.id for r in gone])).values(active=False)
        )
    await engine.dispose()
    yield fresh_database_url, seeded, other, shared


async def test_supplier_compliance_is_unchanged(region) -> None:  # type: ignore[no-untyped-def]
    url, seeded, other, shared = region
    engine = make_engine(url)
    policy = policy_from(Settings())
    try:
        async with make_sessionmaker(engine)() as session:
            suppliers = (await session.exec(select(Supplier).order_by(col(Supplier.id)))).all()
            assert len(suppliers) == 240
            compared = 0
            for supplier in suppliers:
                views: list[uuid.UUID | None] = [seeded.buyer_id]
                if supplier.id in shared:
                    views += [other, None]  # the second buyer's view, the contractor's own
                for buyer_id in views:
                    old = await legacy_queries.supplier_compliance(
                        session, supplier, buyer_id=buyer_id, policy=policy
                    )
                    new = await queries.supplier_compliance_document(
                        session, supplier, buyer_id=buyer_id, policy=policy
                    )
                    assert as_json(new) == as_json(old), supplier.siren
                    model = await queries.supplier_compliance(
                        session, supplier, buyer_id=buyer_id, policy=policy
                    )
                    assert model == old
                    compared += 1
            assert compared == 240 + 60
    finally:
        await engine.dispose()


async def test_every_status_is_seeded(region) -> None:  # type: ignore[no-untyped-def]
    """The comparison means something only if the data covers the cases."""
    url, seeded, *_ = region
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            t = RequirementState.__table__  # type: ignore[attr-defined]
            found = {
                (r, s)
                for r, s in (
                    await (await session.connection()).execute(
                        sa.select(t.c.requirement, t.c.status)
                    )
                ).all()
            }
    finally:
        await engine.dispose()
    statuses = {s for _, s in found}
    assert {RequirementStatus.VALID, RequirementStatus.EXPIRED}.issubset(statuses)
    assert len(statuses) >= 3
    assert RequirementType.MSA_VIGILANCE in {r for r, _ in found}
    assert seeded.foreign


async def test_lookup_is_unchanged(region) -> None:  # type: ignore[no-untyped-def]
    url, seeded, other, _ = region
    engine = make_engine(url)
    policy = policy_from(Settings())
    sirens = [
        *seeded.sirens,
        *(f.replace(":", "") for f in seeded.foreign),  # DEHRB…: country-prefixed
        seeded.sirens[0] + "00013",  # a SIRET names its company (may be invalid: refused)
        luhn("12345678" + "0000")[:9],
        "123",  # invalid: answered in its own item
        "DE",
        "999999999",
    ]
    try:
        async with make_sessionmaker(engine)() as session:
            for buyer_id in (seeded.buyer_id, other):
                old = await legacy_queries.lookup(session, buyer_id, sirens, policy)
                new = await queries.lookup_documents(session, buyer_id, sirens, policy)
                assert [_sorted(x) for x in as_json(new)] == [_sorted(x) for x in as_json(old)]
                assert await queries.lookup(session, buyer_id, sirens, policy) == [
                    queries.LookupResult.model_validate(d) for d in new
                ]
    finally:
        await engine.dispose()


def _sorted(item: dict[str, Any]) -> dict[str, Any]:
    """The previous query had no ORDER BY: the requirements' (and the reasons') order was the
    database's. The new one reads in id order; the content must be the same."""
    out = dict(item)
    out["requirements"] = sorted(item["requirements"], key=lambda r: r["type"])
    out["reasons"] = sorted(item["reasons"], key=lambda r: (r["requirement"] or "", r["code"]))
    return out


@pytest.mark.parametrize(
    "filters",
    [
        queries.GapFilters(),
        queries.GapFilters(statuses=["expired"]),
        queries.GapFilters(requirement="urssaf_vigilance"),
        queries.GapFilters(due_within=200),
    ],
    ids=["all", "expired", "urssaf", "due"],
)
async def test_gaps_csv_is_unchanged(region, filters, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, seeded, *_ = region
    engine = make_engine(url)
    monkeypatch.setattr(exports, "CSV_BATCH", 37)  # several batches, a partial last one
    monkeypatch.setattr(legacy_exports, "CSV_BATCH", 37)
    try:
        maker = make_sessionmaker(engine)
        old = "".join(
            [c async for c in legacy_exports.stream_gaps_csv(maker, seeded.buyer_id, filters)]
        )
        new = "".join([c async for c in exports.stream_gaps_csv(maker, seeded.buyer_id, filters)])
    finally:
        await engine.dispose()
    assert new == old
    assert new.count("\r\n") > 2
    if filters == queries.GapFilters():
        assert "'=Société" in new  # the formula-like name stays neutralised


async def test_routes_answer_the_previous_json(region, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, seeded, *_ = region
    settings = Settings(
        environment="test",
        database_url=url,
        demo=False,
        archive={"dir": tmp_path / "archive", "key_file": tmp_path / "keys.json"},
    )
    policy = policy_from(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with make_sessionmaker(app.state.engine)() as session:
            issued = await create_key(session, role=Role.OFFICER, buyer_id=seeded.buyer_id)
            await session.commit()
        headers = {"Authorization": f"Bearer {issued.key}"}
        expected: dict[str, Any] = {}
        sirens = seeded.sirens[:100]
        async with make_sessionmaker(app.state.engine)() as session:  # closed before the calls
            for siren in seeded.sirens[:25]:
                query = select(Supplier).where(Supplier.siren == siren)
                supplier = (await session.exec(query)).one()
                old = await legacy_queries.supplier_compliance(
                    session, supplier, buyer_id=seeded.buyer_id, policy=policy
                )
                expected[siren] = old.model_dump(mode="json")
            old_lookup = await legacy_queries.lookup(session, seeded.buyer_id, sirens, policy)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for siren, body in expected.items():
                r = await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)
                assert r.status_code == 200
                assert r.headers["content-type"] == "application/json"
                assert r.json() == body
            r = await client.post("/v1/compliance/lookup", json={"sirens": sirens}, headers=headers)
            assert r.status_code == 200
            assert [_sorted(x) for x in r.json()["results"]] == [
                _sorted(x) for x in as_json(old_lookup)
            ]
            r = await client.get(f"/v1/suppliers/{luhn('99999999')}/compliance", headers=headers)
            assert r.status_code == 404
