"""The vigilance engine's services: the tick (reconcile, plan, claim, enqueue), the check of one
supplier for one buyer, and a re-check on demand. The API, the arq jobs, the in-process runner
and the CLI call these same functions."""

import logging
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from arq.worker import Retry
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.evaluation import evidence_to_json, status_due_on, today_in_paris
from app.compliance.fetch import Fetched, Subject, fetch_requirement
from app.compliance.models import Check, RequirementState, RunState
from app.compliance.planner import (
    Claim,
    Pair,
    claim_due,
    in_flight,
    live_contracts,
    pairs_of_contract,
    reclaim_expired,
    sync_pairs,
)
from app.compliance.rules import Evidence, EvidenceKind, RequirementType
from app.db import unit_of_work
from app.documents.archive import archive_document
from app.suppliers.models import Supplier

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger("vigie.compliance")


@asynccontextmanager
async def write_unit(rt: "Runtime") -> AsyncIterator[AsyncSession]:
    """A unit of work of the engine (serialised within the process on SQLite)."""
    if rt.write_lock is None:
        async with unit_of_work(rt.sessionmaker) as session:
            yield session
    else:
        async with rt.write_lock, unit_of_work(rt.sessionmaker) as session:
            yield session


CHECK_JOB = "run_supplier_check"
# Calls per supplier for the base requirements (INSEE + RCS: JSON; URSSAF + DGFIP: documents).
JSON_PER_PAIR, DOCUMENTS_PER_PAIR = 2, 2
CONFIG_ERROR_BACKOFF = timedelta(hours=6)
BUG_BACKOFF = timedelta(hours=1)


@dataclass
class TickReport:
    reclaimed: int = 0
    synced: int = 0
    claimed: int = 0
    enqueued: int = 0


def seconds_per_pair(rt: "Runtime") -> float:
    """How long the rate limits need for one supplier's calls: the spacing of due work."""
    ae = rt.settings.api_entreprise
    window = ae.rate_window_seconds + ae.rate_margin_seconds
    return max(
        JSON_PER_PAIR * window / ae.json_per_minute,
        DOCUMENTS_PER_PAIR * window / ae.documents_per_minute,
    )


async def enqueue_claims(rt: "Runtime", claims: list[Claim], *, spread: bool = True) -> int:
    """Hand claims to the queue, spaced at the rate the limits allow (with jitter), so a large
    import keeps the limiter near full instead of piling thousands of jobs on it at once."""
    spacing = seconds_per_pair(rt) if spread else 0.0
    enqueued = 0
    for i, claim in enumerate(claims):
        defer = i * spacing + random.uniform(0, spacing)
        args = (str(claim.buyer_id), str(claim.supplier_id))
        if await rt.jobs.enqueue(CHECK_JOB, *args, job_id=claim.job_id, defer_by=defer):
            enqueued += 1
    return enqueued


def tick_capacity(rt: "Runtime") -> int:
    """Pairs one tick hands out: what the limits absorb until the next tick, plus 10 %."""
    return max(1, int(rt.settings.jobs.tick_seconds / seconds_per_pair(rt) * 1.1))


async def tick(rt: "Runtime", *, full: bool = True, now: datetime | None = None) -> TickReport:
    """Reclaim lost checks, plan (`full`: every live contract), claim what is due, enqueue it."""
    now = now or utcnow()
    report = TickReport()
    jobs = rt.settings.jobs
    async with write_unit(rt) as session:
        report.reclaimed = await reclaim_expired(session, now=now)
        if full:
            report.synced = await sync_pairs(session, None, policy=rt.policy, now=now)
    async with write_unit(rt) as session:
        backlog = await in_flight(session)
        room = min(jobs.claim_batch, max(0, tick_capacity(rt) - backlog // 2))
        lease = timedelta(seconds=jobs.tick_seconds + jobs.lease_seconds)
        claims = await claim_due(session, now=now, limit=room, lease=lease) if room else []
    report.claimed = len(claims)
    report.enqueued = await enqueue_claims(rt, claims)
    if report.reclaimed or report.claimed:
        log.info("tick: %s", report)
    return report


async def plan_contract(rt: "Runtime", contract_id: uuid.UUID) -> int:
    """After a contract is created or amended: its holders' rows, and their first checks now
    (unless the queue is already busy: then the tick spreads them)."""
    now = utcnow()
    lease = timedelta(seconds=rt.settings.jobs.tick_seconds + rt.settings.jobs.lease_seconds)
    async with write_unit(rt) as session:
        pairs = await pairs_of_contract(session, contract_id)
        await sync_pairs(session, pairs, policy=rt.policy, now=now, why="Contrat enregistré")
        claims: list[Claim] = []
        if await in_flight(session) < tick_capacity(rt):
            claims = await claim_due(session, now=now, limit=len(pairs), lease=lease, pairs=pairs)
    return await enqueue_claims(rt, claims, spread=False)


async def request_recheck(
    session: AsyncSession, rt: "Runtime", buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> tuple[str | None, bool]:
    """Re-check a supplier now (idempotent while a check runs). Returns (job id, already running).

    The check serves the current due date again, so the six-monthly schedule is untouched.
    """
    now = utcnow()
    pair = (buyer_id, supplier_id)
    await sync_pairs(session, [pair], policy=rt.policy, now=now, why="Nouvelle vérification")
    rows = await _rows(session, pair, active_only=True)
    busy = [r for r in rows if r.run_state != RunState.IDLE]
    live = (await live_contracts(session, [pair], today_in_paris(now))).get(pair, [])
    if not live:
        return None, False
    current = status_due_on([c for c, _ in live], today_in_paris(now))
    for row in rows:
        if row.run_state == RunState.IDLE:
            row.due_on = min(row.due_on or current, current)
            session.add(row)
    await session.flush()
    lease = timedelta(seconds=rt.settings.jobs.lease_seconds)
    claims = await claim_due(session, now=now, limit=1, lease=lease, pairs=[pair], force=True)
    if not claims:
        due = min((r.due_on for r in busy if r.due_on), default=current)
        return Claim(buyer_id, supplier_id, due).job_id, bool(busy)
    claim = claims[0]
    return claim.job_id, bool(busy)


async def enqueue_check(
    rt: "Runtime", job_id: str, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> bool:
    return await rt.jobs.enqueue(CHECK_JOB, str(buyer_id), str(supplier_id), job_id=job_id)


# --- the check ----------------------------------------------------------------------------------


@dataclass
class CheckRun:
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    results: dict[str, str] = field(default_factory=dict)  # requirement -> outcome
    retry_in: float | None = None


async def _rows(
    session: AsyncSession, pair: Pair, *, active_only: bool = False, in_flight_only: bool = False
) -> list[RequirementState]:
    query = select(RequirementState).where(
        RequirementState.buyer_id == pair[0], RequirementState.supplier_id == pair[1]
    )
    if active_only:
        query = query.where(col(RequirementState.active))
    if in_flight_only:
        query = query.where(
            col(RequirementState.run_state).in_([RunState.QUEUED, RunState.RUNNING])
        )
    return list((await session.exec(query.order_by(col(RequirementState.requirement)))).all())


async def _subject(session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID) -> Subject:
    from app.buyers.models import Buyer
    from app.contracts.models import Contract, ContractHolder

    buyer = await session.get(Buyer, buyer_id)
    supplier = await session.get(Supplier, supplier_id)
    assert buyer is not None and supplier is not None
    query = (
        select(Contract.reference, ContractHolder.siret)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .where(Contract.buyer_id == buyer_id, ContractHolder.supplier_id == supplier_id)
        .order_by(col(Contract.ends_on).desc())
    )
    rows = (await session.exec(query)).all()
    reference = rows[0][0] if rows else f"Vigilance {supplier.siren or supplier.foreign_id}"
    siret = next((s for _, s in rows if s), None)
    return Subject(buyer.siret, reference[:50], supplier.siren, siret)


async def run_supplier_check(
    rt: "Runtime", buyer_id: uuid.UUID, supplier_id: uuid.UUID, *, job_try: int = 1
) -> CheckRun | None:
    """Run every claimed requirement of one supplier for one buyer (one arq job).

    Idempotent: a second run finds no claimed row and does nothing; a run after a crash finds
    them `running` and does the work once (the results are committed in one unit of work).
    """
    pair = (buyer_id, supplier_id)
    jobs = rt.settings.jobs
    now = utcnow()
    async with write_unit(rt) as session:
        # Sync first: an amendment or the end of execution may have stopped some of them.
        await sync_pairs(session, [pair], policy=rt.policy, now=now)
        rows = await _rows(session, pair, active_only=True, in_flight_only=True)
        if not rows:
            return None
        lease = now + timedelta(seconds=jobs.job_timeout_seconds + jobs.lease_seconds)
        for row in rows:
            row.run_state, row.lease_until, row.attempts = RunState.RUNNING, lease, row.attempts + 1
            session.add(row)
        subject = await _subject(session, buyer_id, supplier_id)
        todo = [(row.id, RequirementType(row.requirement)) for row in rows]
    today = today_in_paris(now)
    fetched: dict[uuid.UUID, Fetched] = {}
    for row_id, rtype in todo:  # sequential: the shared limiter paces every worker
        fetched[row_id] = await fetch_requirement(rt.client, rtype, subject, today)
    run = CheckRun(buyer_id, supplier_id)
    checks: list[tuple[Check, RequirementState]] = []
    async with write_unit(rt) as session:
        for row_id, _ in todo:
            state = await session.get(RequirementState, row_id)
            if state is None or state.run_state == RunState.IDLE:
                continue  # reclaimed meanwhile and done by another run
            check, retry = await _persist(session, rt, state, fetched[row_id], job_try=job_try)
            checks.append((check, state))
            run.results[state.requirement] = fetched[row_id].outcome
            if retry is not None:
                run.retry_in = max(run.retry_in or 0.0, retry)
        await sync_pairs(session, [pair], policy=rt.policy, now=utcnow())
        for check, row in checks:  # the status this check produced
            check.status = row.status
            session.add(check)
    if run.retry_in is not None:
        raise Retry(defer=run.retry_in)
    return run


async def _persist(
    session: AsyncSession, rt: "Runtime", row: RequirementState, got: Fetched, *, job_try: int
) -> tuple[Check, float | None]:
    """Archive the documents, record the check, move the row on. Returns a short retry delay."""
    now = utcnow()
    jobs = rt.settings.jobs
    document_ids: list[str] = []
    for doc in got.documents:
        o = doc.outcome
        archived = await archive_document(
            session,
            rt.archive,
            content=doc.content,
            media_type=doc.media_type,
            doc_type=row.requirement,
            supplier_id=row.supplier_id,
            buyer_id=row.buyer_id,
            source_endpoint=o.endpoint,
            request_id=o.request_id,
            uploaded_by=None,
            obtained_at=now,
            valid_from=o.valid_from,
            valid_until=o.valid_until,
            security_code=o.security_code,
        )
        document_ids.append(str(archived.id))
    if got.company_name:
        supplier = await session.get(Supplier, row.supplier_id)
        if supplier is not None and not supplier.name:
            supplier.name = got.company_name[:200]
            session.add(supplier)
    assert row.due_on is not None
    check = await _check_row(session, row)
    check.outcome, check.attempts = got.outcome, check.attempts + 1
    check.document_ids, check.request_ids = document_ids, got.request_ids
    check.message = (got.alert or got.message or "")[:500] or None
    short: float | None = None
    row.lease_until = None
    if got.kind is None:  # config error or bug: no retry storm, an alert on the requirement
        row.alert = got.alert
        row.run_state = RunState.IDLE
        backoff = CONFIG_ERROR_BACKOFF if got.outcome == "config_error" else BUG_BACKOFF
        row.retry_at = now + backoff
        check.done = False
    elif got.kind is EvidenceKind.PENDING:
        retry_at = got.retry_at or now + timedelta(minutes=5)
        wait = max(1.0, (retry_at - now).total_seconds())
        row.retry_at = retry_at
        if wait <= jobs.short_retry_seconds and job_try < jobs.max_tries:
            short = wait  # stays claimed: the same job runs again (arq Retry)
            row.run_state = RunState.QUEUED
            row.lease_until = retry_at + timedelta(seconds=jobs.lease_seconds)
        else:  # long wait (URSSAF manual review: 48 h): the database remembers it
            row.run_state = RunState.IDLE
            row.evidence = evidence_to_json(Evidence(kind=EvidenceKind.PENDING, **got.evidence))
        check.done = False
    else:
        evidence = Evidence(
            kind=got.kind, document_id=document_ids[0] if document_ids else None, **got.evidence
        )
        row.evidence = evidence_to_json(evidence)
        row.document_id = uuid.UUID(document_ids[0]) if document_ids else None
        row.served_due_on, row.retry_at, row.alert = row.due_on, None, None
        row.run_state, row.last_checked_at = RunState.IDLE, now
        check.done = True
    check.finished_at = now
    session.add(check)
    session.add(row)
    await session.flush()
    return check, short


async def _check_row(session: AsyncSession, row: RequirementState) -> Check:
    query = select(Check).where(
        Check.buyer_id == row.buyer_id,
        Check.supplier_id == row.supplier_id,
        Check.requirement == row.requirement,
        Check.due_on == row.due_on,
    )
    check = (await session.exec(query)).first()
    if check is None:
        assert row.due_on is not None
        check = Check(
            buyer_id=row.buyer_id,
            supplier_id=row.supplier_id,
            requirement=row.requirement,
            due_on=row.due_on,
            outcome="running",
        )
    return check


def plan_after_commit(session: AsyncSession, rt: "Runtime | None", contract_id: uuid.UUID) -> None:
    """Once the contract is committed, plan its checks (a job, so they start within seconds)."""
    if rt is None:
        return
    from app.deps import after_commit

    async def enqueue() -> None:
        await rt.jobs.enqueue("plan_contract", str(contract_id), job_id=f"plan:{contract_id}")

    after_commit(session, enqueue)


@dataclass
class Diagnosis:
    """One requirement checked live, outside any contract (`vigie check` on an untracked pair)."""

    type: str
    outcome: str
    status: str | None
    valid_until: str | None
    reasons: list[str]


async def diagnose_supplier(rt: "Runtime", siren: str, recipient: str) -> list[Diagnosis]:
    """Call the sources for every base requirement of a French company and grade the answers,
    persisting nothing: nothing is archived without a buyer (tenant) and a contract to cover."""
    from app.compliance.rules import HolderKind, required_types, requirement_status

    today = today_in_paris(utcnow())
    subject = Subject(recipient, "Vérification Vigie", siren)
    out = []
    for rtype in required_types(HolderKind.FRENCH, policy=rt.policy):
        got = await fetch_requirement(rt.client, rtype, subject, today)
        status, reasons, valid_until = None, [], None
        if got.kind is not None:
            evidence = Evidence(kind=got.kind, **got.evidence)
            result = requirement_status(
                rtype, evidence, due_on=today, today=today, policy=rt.policy
            )
            status, valid_until = result.status.value, result.valid_until
            reasons = [r.message for r in result.reasons]
        elif got.alert:
            reasons = [got.alert]
        out.append(
            Diagnosis(
                rtype.value,
                got.outcome,
                status,
                valid_until.isoformat() if valid_until else None,
                reasons,
            )
        )
    return out


async def holds_contract(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> bool:
    """Does the supplier hold at least one of this buyer's contracts?"""
    from app.contracts.models import ContractHolder
    from app.suppliers.service import supplier_scope

    query = supplier_scope(buyer_id).where(ContractHolder.supplier_id == supplier_id).limit(1)
    return (await session.exec(query)).first() is not None
