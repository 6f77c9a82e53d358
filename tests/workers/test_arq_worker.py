"""End to end on PostgreSQL + Redis with a real arq worker process against the sandbox."""

import asyncio
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, func, select

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance import scheduling
from app.compliance.models import Check, RequirementState
from app.contracts.models import ContractCreate, HolderIn
from app.contracts.service import create_contract
from app.db import unit_of_work
from app.documents.models import Document
from app.integrations.sandbox import DEMO_SIRENS
from app.runtime import build_runtime
from tests.factories import random_siren, random_siret
from tests.workers.conftest import WorkerEnv, kill

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

EXPECTED = {
    "compliant": {"registration": "valid", "urssaf_vigilance": "valid", "dgfip_fiscal": "valid"},
    "urssaf_refused": {"urssaf_vigilance": "refused"},
    "ceased": {"registration": "refused"},
    "out_of_perimeter": {"urssaf_vigilance": "awaiting_upload"},
    "manual_review": {"urssaf_vigilance": "upstream_pending"},
}


async def _seed(rt, sirens: list[str]):  # type: ignore[no-untyped-def]
    async with unit_of_work(rt.sessionmaker) as session:
        buyer = Buyer(siret=random_siret(), name="Commune de Test")
        session.add(buyer)
        await session.flush()
        data = ContractCreate(
            reference="M-ARQ-1",
            object="Travaux",
            amount_ht=Decimal("50000"),
            notified_on=date.today() - timedelta(days=3),
            duration_months=12,
            holders=[HolderIn(siren=s) for s in sirens],
        )
        await create_contract(session, buyer.id, data, threshold=Decimal("5000"))
    return buyer


async def _plan_and_tick(rt):  # type: ignore[no-untyped-def]
    """What the worker's hourly job does: plan every live contract, then tick."""
    await scheduling.plan_all(rt.compliance)
    return await scheduling.tick(rt.compliance)


async def _rows(rt, buyer_id):  # type: ignore[no-untyped-def]
    async with rt.sessionmaker() as session:
        query = select(RequirementState).where(RequirementState.buyer_id == buyer_id)
        return list((await session.exec(query)).all())


async def _count(rt, model, buyer_id) -> int:  # type: ignore[no-untyped-def]
    async with rt.sessionmaker() as session:
        query = select(func.count()).select_from(model).where(model.buyer_id == buyer_id)
        return int((await session.exec(query)).one())


async def test_contract_checked_by_a_real_worker(worker_env: WorkerEnv) -> None:
    rt = await build_runtime(worker_env.settings)
    try:
        buyer = await _seed(rt, [DEMO_SIRENS[p] for p in EXPECTED])
        report = await _plan_and_tick(rt)
        assert report.claimed == len(EXPECTED)
        # Two ticks: the rows are claimed once, the job ids are deterministic — no duplicate.
        assert (await scheduling.tick(rt.compliance)).enqueued == 0
        pool = rt.jobs.pool  # type: ignore[attr-defined]
        assert await pool.zcard(worker_env.settings.jobs.queue_name) == len(EXPECTED)
        await asyncio.to_thread(worker_env.run_burst)
        rows = await _rows(rt, buyer.id)
        async with rt.sessionmaker() as session:
            from app.suppliers.models import Supplier

            sirens = {s.id: s.siren for s in (await session.exec(select(Supplier))).all()}
        by_profile = {
            name: {
                r.requirement: r.status for r in rows if sirens[r.supplier_id] == DEMO_SIRENS[name]
            }
            for name in EXPECTED
        }
        for name, expected in EXPECTED.items():
            for rtype, status in expected.items():
                assert by_profile[name][rtype] == status, (name, by_profile[name])
        assert all(r.run_state == "idle" for r in rows)
        pending = next(
            r
            for r in rows
            if sirens[r.supplier_id] == DEMO_SIRENS["manual_review"]
            and r.requirement == "urssaf_vigilance"
        )
        assert pending.next_due_at is not None and pending.next_due_at > utcnow() + timedelta(
            hours=40
        )
    finally:
        await rt.aclose()


async def test_worker_killed_mid_job_completes_once_after_restart(worker_env: WorkerEnv) -> None:
    rt = await build_runtime(worker_env.settings)
    try:
        buyer = await _seed(rt, [DEMO_SIRENS["compliant"]])
        await rt.client.http.post(
            f"{worker_env.sandbox.base_url}/__sandbox/config", json={"latency_ms": 1500}
        )
        await _plan_and_tick(rt)
        proc = worker_env.start(burst=False)
        try:
            deadline = time.monotonic() + 60
            while not any(r.run_state == "running" for r in await _rows(rt, buyer.id)):
                assert time.monotonic() < deadline, "the worker never started the job"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # in the middle of its calls
        finally:
            kill(proc)
        assert await _count(rt, Check, buyer.id) == 0  # nothing committed by the dead worker
        await rt.client.http.post(
            f"{worker_env.sandbox.base_url}/__sandbox/config", json={"latency_ms": 0}
        )
        # The reconciler sees the lease is over; arq itself re-runs the job once its
        # in-progress key expires. Either way: done once.
        await scheduling.tick(rt.compliance, now=utcnow() + timedelta(hours=1))
        await asyncio.to_thread(worker_env.run_burst, 180)
        rows = await _rows(rt, buyer.id)
        assert {r.status for r in rows} == {"valid"}
        assert all(r.run_state == "idle" for r in rows)
        async with rt.sessionmaker() as session:
            checks = (await session.exec(select(Check).where(Check.buyer_id == buyer.id))).all()
            assert len(checks) == 3 and all(c.done for c in checks)
            docs = (await session.exec(select(Document).where(Document.buyer_id == buyer.id))).all()
        # One set of documents: URSSAF + DGFIP PDFs, INSEE + RCS JSON.
        assert len(docs) == 4
        assert len({d.doc_type for d in docs}) == 3
    finally:
        await rt.aclose()


async def test_redis_flushed_mid_sweep_reconciler_recovers_every_check(
    worker_env: WorkerEnv,
) -> None:
    rt = await build_runtime(worker_env.settings)
    try:
        sirens = [random_siren() for _ in range(8)]
        buyer = await _seed(rt, sirens)
        assert (await _plan_and_tick(rt)).claimed == len(sirens)
        worker_env.flushdb()  # every queued job is gone; the rows still say "queued"
        rows = await _rows(rt, buyer.id)
        assert rows and all(r.run_state == "queued" for r in rows)
        await asyncio.to_thread(worker_env.run_burst)  # nothing left to run
        assert await _count(rt, Check, buyer.id) == 0
        later = utcnow() + timedelta(hours=1)  # past every lease
        report = await scheduling.tick(rt.compliance, now=later)
        assert report.reclaimed == len(rows) and report.enqueued == len(sirens)
        await asyncio.to_thread(worker_env.run_burst)
        rows = await _rows(rt, buyer.id)
        assert all(
            r.run_state == "idle" and r.last_checked_at
            for r in rows
            if r.status != "upstream_pending"
        )
        async with rt.sessionmaker() as session:
            done = (
                select(func.count())
                .select_from(Check)
                .where(Check.buyer_id == buyer.id, col(Check.outcome) != "running")
            )
            assert int((await session.exec(done)).one()) == len(rows)
    finally:
        await rt.aclose()
