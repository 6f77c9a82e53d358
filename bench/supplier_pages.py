"""What the officers' supplier list costs for a large buyer (`app/suppliers/queries.py`).

    .venv/bin/python bench/supplier_pages.py                         # 10,000 suppliers, SQLite
    .venv/bin/python bench/supplier_pages.py --suppliers 2000 --database-url postgresql://postgres@127.0.0.1:5432/postgres

Seeds one buyer with N suppliers held by contracts of 50 holders and three requirement rows each
(registration, URSSAF, DGFIP), judged by the rules from a mix of evidence: about 70 % in order,
10 % with a refused URSSAF attestation, 10 % awaiting upload, 10 % never checked (Core bulk
inserts). Then times (median and best of `--repeat` runs: the machine may be shared, the load is
printed) one page of the list sorted by name, by status, filtered by status, searched by name and
by SIREN, and the CSV of the whole list. Every page
judges every supplier of the buyer (the status is the rules' judgement, not a column): the
figures say what that costs. A PostgreSQL URL is used as a server: a database of its own is
created and dropped.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.buyers.models import Buyer
from app.common import uuid7
from app.compliance.evaluation import evaluate, evidence_to_json, reason_to_json, today_in_paris
from app.compliance.models import RequirementState
from app.compliance.rules import CompliancePolicy, Evidence, EvidenceKind, OverallStatus
from app.compliance.rules import RequirementType as R
from app.contracts.models import Contract, ContractHolder
from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade
from app.suppliers import queries
from app.suppliers.models import Supplier
from tests.factories import random_siren


def evidence_for(profile: str, rtype: R, day: Any) -> Evidence | None:
    if profile == "unchecked":
        return None
    if profile == "refused" and rtype is R.URSSAF_VIGILANCE:
        return Evidence(kind=EvidenceKind.REFUSED, obtained_on=day)
    if profile == "upload" and rtype is R.URSSAF_VIGILANCE:
        return Evidence(kind=EvidenceKind.UNAVAILABLE, obtained_on=day)
    return Evidence(
        kind=EvidenceKind.DELIVERED,
        obtained_on=day,
        issued_on=day,
        valid_from=day,
        valid_until=day + timedelta(days=150),
    )


async def seed(url: str, count: int, policy: CompliancePolicy) -> uuid.UUID:
    rng = random.Random(7)
    now = datetime.now(UTC)
    today = today_in_paris(now)
    notified = today - timedelta(days=5)
    buyer_id = uuid7()
    suppliers, contracts, holders, states = [], [], [], []
    sirens: set[str] = set()
    while len(sirens) < count:
        sirens.add(random_siren(rng))
    for i, siren in enumerate(sorted(sirens)):
        supplier_id = uuid7()
        suppliers.append(dict(id=supplier_id, siren=siren, name=f"Société {i}", created_at=now))
        if i % 50 == 0:
            contracts.append(
                dict(
                    id=uuid7(),
                    buyer_id=buyer_id,
                    reference=f"BENCH-{i // 50:04d}",
                    object="Marché",
                    amount_ht=Decimal(50000),
                    notified_on=notified,
                    ends_on=today + timedelta(days=700),
                    extra_requirements=[],
                    foreign_workers=False,
                    content_hash=uuid.uuid4().hex,
                    created_at=now,
                    updated_at=now,
                )
            )
        holders.append(dict(contract_id=contracts[-1]["id"], supplier_id=supplier_id))
        x = rng.random()
        profile = (
            "ok" if x < 0.7 else "refused" if x < 0.8 else "upload" if x < 0.9 else "unchecked"
        )
        for rtype in (R.REGISTRATION, R.URSSAF_VIGILANCE, R.DGFIP_FISCAL):
            evidence = evidence_for(profile, rtype, notified)
            result = evaluate(rtype, evidence, due_on=notified, today=today, policy=policy)
            states.append(
                dict(
                    id=uuid7(),
                    buyer_id=buyer_id,
                    supplier_id=supplier_id,
                    requirement=rtype,
                    active=True,
                    status=result.status,
                    reasons=[reason_to_json(r) for r in result.reasons],
                    valid_until=result.valid_until,
                    evidence=evidence_to_json(evidence) if evidence else None,
                    next_due_at=now + timedelta(days=rng.randrange(1, 180)),
                    updated_at=now,
                )
            )
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Buyer.__table__),  # type: ignore[attr-defined]
            [dict(id=buyer_id, siret="21750001600019", name="Bench", created_at=now)],
        )
        for table, rows in (
            (Supplier.__table__, suppliers),  # type: ignore[attr-defined]
            (Contract.__table__, contracts),  # type: ignore[attr-defined]
            (ContractHolder.__table__, holders),  # type: ignore[attr-defined]
            (RequirementState.__table__, states),  # type: ignore[attr-defined]
        ):
            for first in range(0, len(rows), 5000):
                await conn.execute(sa.insert(table), rows[first : first + 5000])
        if url.startswith("postgres"):
            await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()
    return buyer_id


def _ms(wall: list[float]) -> str:
    return f"{statistics.median(wall) * 1000:8.1f} ms (best {min(wall) * 1000:7.1f} ms)"


async def measure(url: str, buyer_id: uuid.UUID, repeat: int, policy: CompliancePolicy) -> None:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    some_siren = None
    F = queries.SupplierFilters
    cases: list[tuple[str, F]] = [
        ("page 1, by name", F()),
        ("page 1, by status", F(sort=queries.SupplierSort.STATUS)),
        ("page 1, non-compliant only", F(statuses=frozenset({OverallStatus.NON_COMPLIANT}))),
        ("search a name (Société 12)", F(search="société 12")),
    ]
    async with sessionmaker() as session:
        first = await queries.supplier_page(session, buyer_id, F(), page=1, policy=policy)
        some_siren = first.rows[0].siren
        print(
            f"suppliers: {first.total}, by status: "
            + ", ".join(f"{s.value} {n}" for s, n in first.counts.items())
        )
    cases.append(("search a SIREN", F(search=some_siren)))
    for label, filters in cases:
        times = []
        for _ in range(repeat):
            async with sessionmaker() as session:
                started = time.perf_counter()
                page = await queries.supplier_page(
                    session, buyer_id, filters, page=1, policy=policy
                )
                times.append(time.perf_counter() - started)
        print(f"{label:32s} {_ms(times)}  ({page.total} rows)")
    times = []
    for _ in range(repeat):
        async with sessionmaker() as session:
            started = time.perf_counter()
            body = await queries.suppliers_csv(session, buyer_id, F(), policy=policy)
            times.append(time.perf_counter() - started)
    lines = body.count("\r\n")
    print(
        f"{'CSV of the whole list':32s} {_ms(times)}  ({lines} lines, "
        f"{len(body.encode()) // 1024} KiB)"
    )
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    policy = CompliancePolicy()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            from tests.conftest import create_pg_database, drop_pg_database

            url = await asyncio.to_thread(create_pg_database, args.database_url)
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        try:
            await asyncio.to_thread(upgrade, url)
            started = time.perf_counter()
            buyer_id = await seed(url, args.suppliers, policy)
            print(
                f"seeded {args.suppliers} suppliers in {time.perf_counter() - started:.1f} s "
                f"({'PostgreSQL' if args.database_url else 'SQLite'})"
            )
            print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            await measure(url, buyer_id, args.repeat, policy)
        finally:
            if args.database_url:
                await asyncio.to_thread(drop_pg_database, args.database_url, url)


if __name__ == "__main__":
    asyncio.run(main())
