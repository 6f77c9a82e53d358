"""Import 10,000 DECP records on PostgreSQL: the first pass (created), a re-import (unchanged)
and one with amended amounts (updated), each with records/s and the peak memory growth.

    .venv/bin/python bench/imports.py [--records 10000] [--url postgresql://postgres@127.0.0.1/postgres]

A fresh database is created, migrated and dropped. The file is a 2024-format DECP document
written to a temporary file (1 to 3 holders per contract, 20 buyers); the import reads it as a
stream, exactly as `vigie import` does (the jobs it plans are counted, not run).
"""

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.compliance.rules import CompliancePolicy
from app.db import async_url, make_engine, make_sessionmaker, unit_of_work
from app.imports.ingest import Scope, import_records, read_records
from app.migrate import upgrade
from bench.seed import luhn


class CountingQueue:
    def __init__(self) -> None:
        self.sent = 0

    async def enqueue(self, function: str, *args: Any, **_: Any) -> bool:
        self.sent += 1
        return True

    async def ready(self) -> bool:
        return True

    async def in_flight(self, job_ids: Any) -> set[str]:
        return set()

    async def aclose(self) -> None:
        return None


def write_decp(path: Path, records: int, *, bump: bool = False, seed: int = 7) -> None:
    rng = random.Random(seed)
    buyers = [
        luhn(luhn(f"2{rng.randrange(10**7):07d}") + f"{rng.randrange(10**4):04d}")
        for _ in range(20)
    ]
    suppliers = [
        luhn(luhn(f"{rng.randrange(1, 10)}{rng.randrange(10**7):07d}") + "0001")
        for _ in range(records // 2)
    ]
    with path.open("w") as f:
        f.write('{"marches": {"marche": [')
        for i in range(records):
            holders = rng.sample(suppliers, rng.randint(1, 3))
            amount = 5000 + rng.randrange(500000)
            marche = {
                "id": f"2025-{i:06d}",
                "acheteur": {"id": buyers[i % len(buyers)]},
                "objet": f"Marché {i}",
                "codeCPV": "45000000",
                "dureeMois": rng.randint(6, 48),
                "dateNotification": "2025-06-01+02:00",
                "montant": amount,
                "titulaires": [
                    {"titulaire": {"typeIdentifiant": "SIRET", "id": h}} for h in holders
                ],
                "modifications": (
                    [{"modification": {"id": 1, "montant": amount + 1000}}]
                    if bump and i % 10 == 0
                    else []
                ),
            }
            f.write(("," if i else "") + json.dumps(marche))
        f.write('], "contrat-concession": []}}')


async def run(url: str, path: Path) -> tuple[dict[str, Any], float, int]:
    engine = make_engine(url)
    queue = CountingQueue()
    try:
        sessionmaker = make_sessionmaker(engine)
        started = time.perf_counter()
        with path.open("rb") as stream:
            report = await import_records(
                lambda: unit_of_work(sessionmaker, queue),
                read_records(stream),
                Scope(create_buyers=True),
                threshold=Decimal("5000.00"),
                policy=CompliancePolicy(),
            )
        return report.as_dict(), time.perf_counter() - started, queue.sent
    finally:
        await engine.dispose()


async def admin(server: str, sql: str) -> None:
    engine = create_async_engine(async_url(server), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = f"vigie_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            plain, bumped = Path(tmp) / "decp.json", Path(tmp) / "decp-amended.json"
            write_decp(plain, args.records)
            write_decp(bumped, args.records, bump=True)
            size = plain.stat().st_size / 1e6
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"{args.records} records, {size:.1f} MB, PostgreSQL, load average {load}")
            for label, path in (("first import", plain), ("re-import", plain), ("amended", bumped)):
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                report, seconds, jobs = asyncio.run(run(url, path))
                grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
                counts = {k: report[k] for k in ("created", "updated", "unchanged")}
                print(
                    f"{label:>13}: {seconds:6.1f} s  {args.records / seconds:7.0f} records/s  "
                    f"{counts} skipped={report['skipped']} jobs={jobs} peak RSS +{grown:.0f} MB"
                )
    finally:
        asyncio.run(admin(args.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
