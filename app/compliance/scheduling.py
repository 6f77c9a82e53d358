"""When checks run: the tick (reconcile, claim what is due, enqueue it at the pace the limits
allow), the hourly planning pass, a contract's own planning, a re-check on demand, and the sweep
(everything due now, in this process).

The database decides what is due (`planner`); the queue only carries work. Every function takes
a `ComplianceContext`, so the API, the arq jobs, the in-process runner and the CLI run the same
code. Jobs leave after the commit of the unit of work that claimed their rows.
"""

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.buyers.tokens import days_left, expires_soon, token_expiry, token_hash
from app.common import utcnow
from app.compliance.context import ComplianceContext
from app.compliance.evaluation import status_due_on, today_in_paris
from app.compliance.models import RequirementState, RunState
from app.compliance.planner import (
    Claim,
    claim_due,
    claimed_rows,
    in_flight,
    job_ids_of,
    live_contracts,
    pairs_of_contract,
    reclaim_expired,
    release,
    rows_of_pair,
    sync_pairs,
    unplanned_pairs,
)
from app.documents.journal import append_journal, entries_for
from app.events import hooks as events
from app.jobs import InProcessRunner, enqueue_after_commit

log = logging.getLogger("vigie.compliance")

# Job names (the functions of app/compliance/tasks.py).
CHECK_JOB = "run_supplier_check"
PLAN_CONTRACT_JOB = "plan_contract"


@dataclass
class TickReport:
    reclaimed: int = 0  # rows past their lease
    recovered: int = 0  # claimed rows whose job the queue no longer holds
    planned: int = 0  # holders of contracts whose planning job was lost
    claimed: int = 0
    enqueued: int = 0


def enqueue_claims(
    session: AsyncSession, ctx: ComplianceContext, claims: list[Claim], *, spread: bool = True
) -> int:
    """Hand claims to the queue after the commit, spaced at the rate the limits allow (with
    jitter), so a large import keeps the limiter near full instead of piling thousands of jobs
    on it at once."""
    spacing = ctx.seconds_per_pair if spread else 0.0
    for i, claim in enumerate(claims):
        defer = i * spacing + random.uniform(0, spacing)
        args = (str(claim.buyer_id), str(claim.supplier_id))
        enqueue_after_commit(session, CHECK_JOB, *args, job_id=claim.job_id, defer_by=defer)
    return len(claims)


async def tick(ctx: ComplianceContext, *, now: datetime | None = None) -> TickReport:
    """Every minute: reclaim lost checks, claim what is due (one tick's worth), enqueue it."""
    now = now or utcnow()
    report = TickReport()
    limits = ctx.limits
    async with ctx.transaction() as session:
        report.reclaimed = await reclaim_expired(session, now=now)
    report.recovered = await recover_lost_jobs(ctx, now)
    report.planned = await plan_unplanned(ctx, now)
    async with ctx.transaction() as session:
        backlog = await in_flight(session)
        room = min(limits.claim_batch, max(0, ctx.tick_capacity - backlog // 2))
        lease = timedelta(seconds=limits.tick_seconds + limits.lease_seconds)
        claims = await claim_due(session, now=now, limit=room, lease=lease) if room else []
        report.claimed = len(claims)
        report.enqueued = enqueue_claims(session, ctx, claims)
    metrics.RECONCILER.labels("lease").inc(report.reclaimed)
    metrics.RECONCILER.labels("lost_job").inc(report.recovered)
    metrics.RECONCILER.labels("unplanned").inc(report.planned)
    if report.reclaimed or report.recovered or report.planned or report.claimed:
        log.info("tick: %s", report)
    return report


# A claim's job leaves after the claim's commit: younger claims are not judged yet.
RECONCILE_GRACE = timedelta(seconds=20)


async def recover_lost_jobs(ctx: ComplianceContext, now: datetime) -> int:
    """Claimed rows whose job the queue no longer holds (Redis flushed or lost its data, the
    embedded process restarted) go back to idle at once, for this very tick to hand out again,
    instead of waiting for their lease. The queue unreachable: nothing is judged lost."""
    async with ctx.transaction() as session:
        rows = await claimed_rows(session, before=now - RECONCILE_GRACE)
        if not rows:
            return 0
        wanted = job_ids_of(rows)
        try:
            held = await ctx.jobs.in_flight({i for ids in wanted.values() for i in ids})
        except Exception as exc:  # the queue down: the leases still cover these rows
            log.warning("reconciler: the queue cannot tell its jobs (%s)", type(exc).__name__)
            return 0
        lost = {pair for pair, ids in wanted.items() if not ids & held}
        recovered = release(rows, lost, now)
        for row in rows:
            session.add(row)
    if recovered:
        log.warning("reconciler: %d claimed row(s) had lost their job: handed out again", recovered)
    return recovered


async def plan_unplanned(ctx: ComplianceContext, now: datetime) -> int:
    """Contracts whose planning job never ran (lost with the queue): planned now, not at the
    next hourly pass. Returns the holders planned."""
    async with ctx.transaction() as session:
        pairs = await unplanned_pairs(
            session,
            today_in_paris(now),
            before=now - RECONCILE_GRACE,
            limit=ctx.limits.claim_batch,
        )
        if pairs:
            await sync_pairs(session, pairs, policy=ctx.policy, now=now, why="Contrat enregistré")
            log.warning("reconciler: %d holder(s) never planned: planned now", len(pairs))
        return len(pairs)


async def plan_all(ctx: ComplianceContext, *, now: datetime | None = None) -> int:
    """Hourly (and at start): rows of every live contract, statuses recomputed. Contracts are
    planned at once by their own job; this pass catches amendments' removed holders, ends of
    execution and anything missed. Returns the pairs synced."""
    now = now or utcnow()
    async with ctx.transaction() as session:
        synced = await sync_pairs(session, None, policy=ctx.policy, now=now)
        await record_token_expiring(session, ctx, now)
        return synced


TOKEN_SUBJECT = "platform:api_entreprise_token"
KIND_TOKEN_EXPIRING = "token_expiring"


async def record_token_expiring(
    session: AsyncSession, ctx: ComplianceContext, now: datetime
) -> bool:
    """While the platform token expires within 30 days, one `token_expiring` event a day in the
    journal (shown by its hash and date, never the token), for the pages and the ERPs' feed.
    Nothing is refused before it has expired."""
    token = ctx.upstream.token
    expires_at = token_expiry(token) if token is not None else None
    if token is None or not expires_soon(expires_at, now):
        return False
    assert expires_at is not None
    today = today_in_paris(now).isoformat()
    if any(e.data.get("day") == today for e in await entries_for(session, [TOKEN_SUBJECT])):
        return False
    facts = {
        "day": today,
        "hash": token_hash(token),
        "expires_at": expires_at.isoformat(),
        "days_left": days_left(expires_at, now),
    }
    await append_journal(session, KIND_TOKEN_EXPIRING, TOKEN_SUBJECT, facts)
    await events.platform_token_expiring(session, facts)  # the ERPs' feed and webhooks
    return True


def plan_contract_later(session: AsyncSession, contract_id: uuid.UUID) -> None:
    """Once the contract is committed, plan its checks (a job, so they start within seconds)."""
    enqueue_after_commit(session, PLAN_CONTRACT_JOB, str(contract_id), job_id=f"plan:{contract_id}")


async def plan_contract(ctx: ComplianceContext, contract_id: uuid.UUID) -> int:
    """After a contract is created or amended: its holders' rows, and their first checks now
    (unless the queue is already busy: then the tick spreads them)."""
    now = utcnow()
    lease = timedelta(seconds=ctx.limits.tick_seconds + ctx.limits.lease_seconds)
    async with ctx.transaction() as session:
        pairs = await pairs_of_contract(session, contract_id)
        await sync_pairs(session, pairs, policy=ctx.policy, now=now, why="Contrat enregistré")
        claims: list[Claim] = []
        if await in_flight(session) < ctx.tick_capacity:
            claims = await claim_due(session, now=now, limit=len(pairs), lease=lease, pairs=pairs)
        return enqueue_claims(session, ctx, claims, spread=False)


async def request_recheck(
    session: AsyncSession, ctx: ComplianceContext, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> tuple[str | None, bool]:
    """Re-check a supplier now (idempotent while a check runs): the job leaves after the
    caller's commit. Returns (job id, already running); no job id when no contract is live.

    The check serves the current due date again, so the six-monthly schedule is untouched.
    """
    now = utcnow()
    pair = (buyer_id, supplier_id)
    await sync_pairs(session, [pair], policy=ctx.policy, now=now, why="Nouvelle vérification")
    rows = await rows_of_pair(session, pair, active_only=True)
    busy = [r for r in rows if r.run_state != RunState.IDLE]
    live = (await live_contracts(session, [pair], today_in_paris(now))).get(pair, [])
    if not live:
        return None, False
    current = status_due_on([c for c, *_ in live], today_in_paris(now))
    for row in rows:
        if row.run_state == RunState.IDLE:
            row.due_on = min(row.due_on or current, current)
            session.add(row)
    await session.flush()
    lease = timedelta(seconds=ctx.limits.lease_seconds)
    claims = await claim_due(session, now=now, limit=1, lease=lease, pairs=[pair], force=True)
    if not claims:
        due = min((r.due_on for r in busy if r.due_on), default=current)
        job_id = Claim(buyer_id, supplier_id, due).job_id
        waiting = [
            r for r in busy if r.run_state == RunState.QUEUED and r.retry_at and r.retry_at > now
        ]
        if waiting:
            # A retry waits for the source (its job is deferred): the officer's re-check runs now,
            # under an id of its own; the deferred job then finds nothing left to do.
            job_id = f"{job_id}:now-{int(now.timestamp())}"
            enqueue_after_commit(session, CHECK_JOB, str(buyer_id), str(supplier_id), job_id=job_id)
            return job_id, False
        # Already queued or running: asking again is harmless (same id, no duplicate).
        enqueue_after_commit(session, CHECK_JOB, str(buyer_id), str(supplier_id), job_id=job_id)
        return job_id, bool(busy)
    enqueue_claims(session, ctx, claims, spread=False)
    return claims[0].job_id, bool(busy)


# --- the sweep: everything due now, in this process -------------------------------------------

Progress = Callable[[int, int], None]


async def sweep(
    ctx: ComplianceContext,
    runner: InProcessRunner,
    *,
    on_progress: Progress | None = None,
    batch: int = 500,
) -> dict[str, float]:
    """Plan, then claim by batches and run them on `runner` until nothing is due. Returns the
    suppliers checked, the checks left waiting for the source, and the seconds taken."""
    runner.start(periodic=False)
    lease = timedelta(seconds=ctx.limits.lease_seconds)
    started = time.perf_counter()
    await plan_all(ctx)
    async with ctx.transaction() as session:
        total = await due_supplier_count(session)
    if on_progress:
        on_progress(0, total)
    claimed = 0
    while True:
        # Keep the runner fed: a job waiting out a short upstream retry stays pending for
        # minutes and must not hold back the rest of the sweep.
        if runner.pending < batch:
            async with ctx.transaction() as session:
                claims = await claim_due(
                    session, now=utcnow(), limit=batch - runner.pending, lease=lease
                )
                enqueue_claims(session, ctx, claims, spread=False)
            claimed += len(claims)
            if not claims and runner.pending == runner.deferred:
                # Only jobs waiting for the source remain: their rows stay claimed with a
                # lease, so the next tick (or sweep) runs them once their retry time has come.
                break
        await asyncio.sleep(0.2)
        if on_progress:
            on_progress(claimed - runner.pending, max(total, claimed))
    if on_progress:
        on_progress(claimed, max(total, claimed))
    return {
        "suppliers": claimed,
        "deferred": runner.deferred,
        "seconds": time.perf_counter() - started,
    }


async def due_supplier_count(session: AsyncSession) -> int:
    query = select(func.count(func.distinct(RequirementState.supplier_id))).where(
        col(RequirementState.active),
        col(RequirementState.run_state) == RunState.IDLE,
        col(RequirementState.next_due_at) <= utcnow(),
    )
    return int((await session.exec(query)).one())
