"""The long reliability runs behind docs/RELIABILITY.md (`make proof`): a real arq worker process
(its minute clock, its cron tick) on PostgreSQL + Redis against the sandbox, and faults injected
mid-sweep. Prints, per scenario, what happened and the figures the document quotes.

    .venv/bin/python bench/proof.py flushdb [--suppliers 40]   # Redis FLUSHDB mid-sweep
    .venv/bin/python bench/proof.py sigkill [--suppliers 20 --kills 10]   # worker SIGKILL mid-sweep
    .venv/bin/python bench/proof.py faults [--suppliers 30]   # upstream 5 % 5xx + 2 % timeouts
    .venv/bin/python bench/proof.py all

Promises checked at the end of each run, from the database alone:
- no lost check: every requirement row is idle again, and each was checked (or is waiting for
  the source, with its next try recorded);
- no duplicated check or document: one check per (buyer, supplier, requirement, due date), one
  document per (buyer, content hash), and no supplier with two documents of one type for one
  due date;
- no evidence without its journal entry: every document has its journal sequence number.

Needs PostgreSQL (DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres) and Redis
(REDIS_URL or redis://127.0.0.1:6379/0; an empty db number is picked, and flushed after).
"""

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.buyers.models import Buyer  # noqa: E402
from app.config import Settings  # noqa: E402
from app.contracts.models import ContractCreate, HolderIn  # noqa: E402
from app.contracts.service import create_contract  # noqa: E402
from app.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, SandboxServer  # noqa: E402
from app.migrate import upgrade  # noqa: E402

PG = os.environ.get("DATABASE_URL", "") or "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = os.environ.get("REDIS_URL", "") or "redis://127.0.0.1:6379/0"


def luhn(prefix: str) -> str:
    for digit in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(prefix + digit)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return prefix + digit
    raise AssertionError


def siren(rng: random.Random) -> str:
    return luhn(f"{rng.randrange(1, 10)}{rng.randrange(10**7):07d}")


def empty_redis_db() -> str:
    for number in range(13, 0, -1):
        url = REDIS.rsplit("/", 1)[0] + f"/{number}"
        client = redis.Redis.from_url(url)
        try:
            if client.dbsize() == 0:
                return url
        finally:
            client.close()
    raise SystemExit("no empty Redis db number")


async def create_database() -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import async_url

    name = f"vigie_proof_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(async_url(PG), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(PG).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import async_url

    engine = create_async_engine(async_url(PG), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        name = make_url(url).database
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


class Run:
    """One scenario's world: a database, a Redis db, the sandbox, and a worker to start."""

    def __init__(self, database_url: str, redis_url: str, tmp: Path, config: SandboxConfig) -> None:
        self.database_url, self.redis_url = database_url, redis_url
        self.sandbox = SandboxServer(config)
        base = self.sandbox.start()
        self.env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "API_ENTREPRISE__BASE_URL": base,
            "API_ENTREPRISE__TOKEN": SANDBOX_TOKEN,
            "API_ENTREPRISE__RATE_WINDOW_SECONDS": "1",
            "API_ENTREPRISE__RATE_MARGIN_SECONDS": "0.1",
            "API_ENTREPRISE__MAINTENANCE_WINDOWS": "false",
            "ARCHIVE__DIR": str(tmp / "archive"),
            "ARCHIVE__KEY_FILE": str(tmp / "archive-keys.json"),
            "JOBS__QUEUE_NAME": f"vigie-proof:{uuid.uuid4().hex[:8]}",
            "JOBS__JOB_TIMEOUT_SECONDS": "60",
            "JOBS__MAX_JOBS": "4",
            "LOG_LEVEL": "WARNING",
        }
        self.engine = make_engine(database_url)
        self.sessionmaker = make_sessionmaker(self.engine)

    def start_worker(self) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "workers.main"]
        return subprocess.Popen(
            args, cwd=ROOT, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL
        )

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    async def seed(self, suppliers: int, rng: random.Random) -> None:
        settings = Settings(database_url=self.database_url)
        async with unit_of_work(self.sessionmaker) as session:
            buyer = Buyer(siret=luhn(siren(rng) + f"{rng.randrange(10**4):04d}"), name="Commune")
            session.add(buyer)
            await session.flush()
            for i in range(0, suppliers, 5):
                holders = [HolderIn(siren=siren(rng)) for _ in range(min(5, suppliers - i))]
                data = ContractCreate(
                    reference=f"M-PROOF-{i}",
                    object="Entretien",
                    amount_ht=Decimal("50000"),
                    notified_on=date.today() - timedelta(days=3),
                    duration_months=12,
                    holders=holders,
                )
                await create_contract(
                    session, buyer.id, data, threshold=settings.vigilance_threshold_ht
                )

    async def scalar(self, sql: str) -> int:
        async with self.sessionmaker() as session:
            return int((await session.execute(text(sql))).scalar_one())

    async def state(self) -> dict[str, int]:
        return {
            "rows": await self.scalar("SELECT count(*) FROM requirement_states WHERE active"),
            "busy": await self.scalar(
                "SELECT count(*) FROM requirement_states WHERE run_state <> 'idle'"
            ),
            # Claimed, waiting for the source's next try (its job deferred until then).
            "waiting_for_source": await self.scalar(
                "SELECT count(*) FROM requirement_states WHERE run_state <> 'idle' "
                "AND retry_at > now()"
            ),
            # Claimed past the lease: nothing holds it any more.
            "stuck": await self.scalar(
                "SELECT count(*) FROM requirement_states WHERE run_state <> 'idle' "
                "AND (lease_until IS NULL OR lease_until < now())"
            ),
            "never_checked": await self.scalar(
                "SELECT count(*) FROM requirement_states WHERE active AND last_checked_at IS NULL "
                "AND retry_at IS NULL"
            ),
            "checks_done": await self.scalar("SELECT count(*) FROM compliance_checks WHERE done"),
        }

    async def settled(self) -> bool:
        """Every row checked, or waiting for the source's next try (recorded, its job deferred)."""
        s = await self.state()
        return s["rows"] > 0 and s["busy"] == s["waiting_for_source"] and s["never_checked"] == 0

    async def promises(self) -> dict[str, int]:
        """Each figure must be 0."""
        state = await self.state()
        return {
            "lost_checks": state["stuck"] + state["never_checked"],
            "duplicated_checks": await self.scalar(
                "SELECT count(*) FROM (SELECT 1 FROM compliance_checks GROUP BY buyer_id, "
                "supplier_id, requirement, due_on HAVING count(*) > 1) d"
            ),
            "duplicated_documents": await self.scalar(
                "SELECT count(*) FROM (SELECT 1 FROM documents GROUP BY buyer_id, sha256 "
                "HAVING count(*) > 1) d"
            ),
            "documents_without_journal": await self.scalar(
                "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM "
                "journal_entries j WHERE j.seq = d.journal_seq)"
            ),
        }

    async def wait_settled(self, limit: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if await self.settled():
                return time.monotonic() - started
            await asyncio.sleep(0.5)
        return None

    async def close(self) -> None:
        await self.engine.dispose()
        self.sandbox.stop()
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()


async def flushdb(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Redis loses every queued job mid-sweep: the reconciler hands the claimed rows out again
    at the worker's next minute tick (not after the 900-second lease)."""
    worker = run.start_worker()
    try:
        total = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait for the sweep to be under way
            s = await run.state()
            total = s["rows"]
            if total and s["checks_done"] >= total // 4:
                break
            await asyncio.sleep(0.2)
        before = await run.state()
        client = redis.Redis.from_url(run.redis_url)
        queued = client.zcard(run.env["JOBS__QUEUE_NAME"])
        client.flushdb()
        client.close()
        flushed_at = time.monotonic()
        seconds = await run.wait_settled(args.limit)
        return {
            "rows": total,
            "checks_done_at_flush": before["checks_done"],
            "jobs_flushed": queued,
            "rows_claimed_at_flush": before["busy"],
            "recovered_in_seconds": round(seconds, 1) if seconds is not None else None,
            "waited_seconds": round(time.monotonic() - flushed_at, 1),
            **await run.promises(),
        }
    finally:
        run.kill(worker)


async def sigkill(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """The worker is killed (SIGKILL) at random moments mid-sweep, then restarted: every check
    ends done once."""
    rng = random.Random(args.seed)
    kills = 0
    started = time.monotonic()
    for _ in range(args.kills):
        worker = run.start_worker()
        await asyncio.sleep(rng.uniform(1.5, 4.0))
        run.kill(worker)
        kills += 1
    worker = run.start_worker()  # the last one is left to finish
    try:
        seconds = await run.wait_settled(args.limit)
        state = await run.state()
        return {
            "rows": state["rows"],
            "kills": kills,
            "settled_after_last_start_seconds": round(seconds, 1) if seconds else None,
            "total_seconds": round(time.monotonic() - started, 1),
            **await run.promises(),
        }
    finally:
        run.kill(worker)


async def faults(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """The upstream answers 5 % of calls with a 502/504 and lets 2 % time out: every check ends
    done, retried at the pace the source allows."""
    worker = run.start_worker()
    try:
        seconds = await run.wait_settled(args.limit)
        async with httpx.AsyncClient(timeout=10) as http:
            stats = (await http.get(f"{run.sandbox.base_url}/__sandbox/stats")).json()
        state = await run.state()
        return {
            "rows": state["rows"],
            "waiting_for_source_at_the_end": state["waiting_for_source"],
            "upstream_calls": stats["total_requests"],
            "faults_injected": dict(stats["faults"]),
            "rate_limited_429": stats["rate_limited"],
            "settled_seconds": round(seconds, 1) if seconds else None,
            **await run.promises(),
        }
    finally:
        run.kill(worker)


SCENARIOS = {"flushdb": flushdb, "sigkill": sigkill, "faults": faults}
SANDBOX_FAULTS = {"faults": {"error_rate": 0.05, "timeout_rate": 0.02, "timeout_seconds": 8.0}}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--suppliers", type=int, default=30)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--limit", type=float, default=240.0, help="seconds to wait for recovery")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    failed = 0
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        database_url = await create_database()
        await asyncio.to_thread(upgrade, database_url)
        with tempfile.TemporaryDirectory() as tmp:
            config = SandboxConfig(
                window_seconds=1.0, latency_ms=args.latency_ms, **SANDBOX_FAULTS.get(name, {})
            )
            run = Run(database_url, empty_redis_db(), Path(tmp), config)
            try:
                await run.seed(args.suppliers, random.Random(args.seed))
                result = await SCENARIOS[name](run, args)
            finally:
                await run.close()
                await drop_database(database_url)
        broken = [k for k in result if k.endswith(("checks", "documents", "journal")) and result[k]]
        ok = not broken and all(v is not None for v in result.values())
        failed += not ok
        print(f"{name}: {'OK' if ok else 'FAILED'}")
        for key, value in result.items():
            print(f"  {key}: {value}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
