"""Recompute every status (the hourly planning pass, `scheduling.plan_all`) beside its anchor.

    .venv/bin/python bench/recompute.py [--suppliers 10000] [--database-url postgresql://…]

Seeds contracts and holders only (bench/seed.py), then times `planner.sync_pairs(None)`:
- the first pass, which creates every requirement row (3 per supplier) and computes its status;
- a second pass over the same rows, as the hourly pass finds them (nothing new to create);
beside the anchor: `SELECT *` of those rows, fetched to the last one, in the same run.
Goal: the second pass under 2 s at 10,000 suppliers (and under 15 s at 100,000).
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


async def run(url: str, suppliers: int) -> None:
    from app.compliance.evaluation import policy_from
    from app.compliance.models import RequirementState
    from app.compliance.planner import sync_pairs
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, unit_of_work
    from app.migrate import upgrade
    from bench.seed import analyze, seed_region

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    policy = policy_from(Settings())
    sm = make_sessionmaker(engine)
    try:
        t = time.perf_counter()
        await seed_region(engine, policy, suppliers=suppliers, with_states=False)
        await analyze(engine)
        print(f"seeded {suppliers} suppliers (contracts only) in {time.perf_counter() - t:.1f} s")
        print(f"load: {', '.join(f'{x:.2f}' for x in os.getloadavg())}  (cores: {os.cpu_count()})")
        t = time.perf_counter()
        async with unit_of_work(sm) as session:
            created = await sync_pairs(session, None, policy=policy)
        first = time.perf_counter() - t
        await analyze(engine)
        t = time.perf_counter()
        async with unit_of_work(sm) as session:
            changed = await sync_pairs(session, None, policy=policy)
        second = time.perf_counter() - t
        table = RequirementState.__table__  # type: ignore[attr-defined]
        t = time.perf_counter()
        async with engine.connect() as conn:
            rows = len((await conn.execute(sa.select(table))).all())
        anchor = time.perf_counter() - t
    finally:
        await engine.dispose()
    print(f"rows: {rows} ({created} created by the first pass, {changed} changed by the second)")
    print(f"first pass (creates the rows)   {first:7.2f} s")
    print(f"recompute every status          {second:7.2f} s   (goal < 2 s at 10,000 suppliers)")
    print(f"anchor: SELECT * of the rows    {anchor:7.2f} s   ratio {second / anchor:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()
    if args.database_url.startswith("sqlite"):
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='vigie-recompute-')) / 'bench.db'}"
        asyncio.run(run(url, args.suppliers))
        return
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database(args.database_url)
    try:
        asyncio.run(run(url, args.suppliers))
    finally:
        drop_pg_database(args.database_url, url)


if __name__ == "__main__":
    main()
