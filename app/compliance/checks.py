"""The check of one supplier for one buyer: fetch every claimed requirement from the sources,
archive what they delivered as evidence, record the check, move the rows on.

Idempotent, because arq may run a job twice: a second run finds no claimed row and does nothing;
a run after a crash finds them `running` and does the work once (the results are committed in
one unit of work). Transient trouble raises `RetryLater`; the queue decides how often to retry,
and the rows' leases take over when it gives up.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.buyers.tokens import token_for
from app.common import utcnow
from app.compliance.context import ComplianceContext
from app.compliance.evaluation import evidence_from_json, evidence_to_json, today_in_paris
from app.compliance.fetch import Fetched, Subject, fetch_requirement
from app.compliance.models import Check, RequirementState, RunState
from app.compliance.planner import rows_of_pair, sync_pairs
from app.compliance.rules import (
    Evidence,
    EvidenceKind,
    HolderKind,
    RequirementType,
    required_types,
    requirement_status,
)
from app.contracts.models import Contract, ContractHolder
from app.documents.archive import archive_document
from app.jobs import RetryLater
from app.suppliers.models import Supplier

log = logging.getLogger("vigie.compliance")

CONFIG_ERROR_BACKOFF = timedelta(hours=6)
PENDING_CAP = timedelta(hours=6)  # the longest back-off of repeated transient trouble
BUG_BACKOFF = timedelta(hours=1)


@dataclass
class CheckRun:
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    results: dict[str, str] = field(default_factory=dict)  # requirement -> outcome
    retry_in: float | None = None


async def _subject(session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID) -> Subject:
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
    ctx: ComplianceContext, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> CheckRun | None:
    """Run every claimed requirement of one supplier for one buyer (one job).

    Raises `RetryLater` after committing the results when a source asked for a short wait:
    those rows stay claimed, and the same job runs again.
    """
    pair = (buyer_id, supplier_id)
    limits = ctx.limits
    now = utcnow()
    async with ctx.transaction() as session:
        # Sync first: an amendment or the end of execution may have stopped some of them.
        await sync_pairs(session, [pair], policy=ctx.policy, now=now)
        rows = await rows_of_pair(session, pair, active_only=True, in_flight_only=True)
        if not rows:
            return None
        lease = now + timedelta(seconds=limits.job_timeout_seconds + limits.lease_seconds)
        for row in rows:
            row.run_state, row.lease_until, row.attempts = RunState.RUNNING, lease, row.attempts + 1
            session.add(row)
        subject = await _subject(session, buyer_id, supplier_id)
        # The buyer's own habilitation when it has one (read per check: a token set or cleared
        # applies from the next call, in every process); the platform's token otherwise.
        token = await token_for(session, ctx.archive.keyring, buyer_id)
        todo = [(row.id, RequirementType(row.requirement)) for row in rows]
    client = ctx.client.with_token(token) if token is not None else ctx.client
    today = today_in_paris(now)
    fetched: dict[uuid.UUID, Fetched] = {}
    for row_id, rtype in todo:  # sequential: the shared limiter paces every worker
        fetched[row_id] = await fetch_requirement(client, rtype, subject, today)
    run = CheckRun(buyer_id, supplier_id)
    checks: list[tuple[Check, RequirementState]] = []
    async with ctx.transaction() as session:
        for row_id, _ in todo:
            state = await session.get(RequirementState, row_id)
            if state is None or state.run_state == RunState.IDLE:
                continue  # reclaimed meanwhile and done by another run
            check, retry = await _persist(session, ctx, state, fetched[row_id])
            checks.append((check, state))
            run.results[state.requirement] = fetched[row_id].outcome
            if retry is not None:
                run.retry_in = max(run.retry_in or 0.0, retry)
        await sync_pairs(session, [pair], policy=ctx.policy, now=utcnow())
        for check, row in checks:  # the status this check produced
            check.status = row.status
            session.add(check)
    if run.retry_in is not None:
        raise RetryLater(run.retry_in, "the source asked for a short wait")
    return run


async def _persist(
    session: AsyncSession, ctx: ComplianceContext, row: RequirementState, got: Fetched
) -> tuple[Check, float | None]:
    """Archive the documents, record the check, move the row on. Returns a short retry delay."""
    now = utcnow()
    limits = ctx.limits
    document_ids: list[str] = []
    for doc in got.documents:
        o = doc.outcome
        archived = await archive_document(
            session,
            ctx.archive,
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
            sandbox=ctx.sandbox,
        )
        document_ids.append(str(archived.id))
    if got.company_name or got.company_address:
        supplier = await session.get(Supplier, row.supplier_id)
        if supplier is not None and got.company_name and not supplier.name:
            supplier.name = got.company_name[:200]
        if supplier is not None and got.company_address:  # else keep the one we had
            supplier.address = got.company_address[:300]
        if supplier is not None:
            session.add(supplier)
    assert row.due_on is not None
    check = await _check_row(session, row)
    check.outcome, check.attempts = got.outcome, check.attempts + 1
    check.document_ids, check.request_ids = document_ids, got.request_ids
    check.message = (got.alert or got.message or "")[:500] or None
    short: float | None = None
    row.lease_until = None
    serves = today_in_paris(now) >= row.due_on - timedelta(days=ctx.policy.tolerance_days)
    if got.kind is None:  # config error or bug: no retry storm, an alert on the requirement
        row.alert = got.alert
        row.run_state = RunState.IDLE
        backoff = CONFIG_ERROR_BACKOFF if got.outcome == "config_error" else BUG_BACKOFF
        row.retry_at = now + backoff
        check.done = False
    elif got.kind is EvidenceKind.PENDING:
        retry_at = got.retry_at or now + timedelta(minutes=5)
        if check.attempts > 1:  # repeated trouble for this due date: 5, 10, 20 min… at most 6 h
            backoff = min(timedelta(minutes=5) * 2 ** min(check.attempts - 2, 7), PENDING_CAP)
            retry_at = max(retry_at, now + backoff)
        wait = max(1.0, (retry_at - now).total_seconds())
        row.retry_at = retry_at
        pending = Evidence(
            kind=EvidenceKind.PENDING, **{**got.evidence, "retry_on": retry_at.date()}
        )
        previous = evidence_from_json(row.evidence)
        # The requirement reads `upstream_pending` with its next try — unless the evidence on
        # file still proves the period (a fresh document fetched between due dates, say).
        if serves or previous is None or previous.kind in (EvidenceKind.NONE, EvidenceKind.PENDING):
            row.evidence = evidence_to_json(pending)
        if wait <= limits.short_retry_seconds:
            # Stays claimed: the same job runs again (and calls the endpoint again, for a fresh
            # document URL). Should the queue give up first, the lease ends and the tick hands
            # the row out again.
            short = wait
            row.run_state = RunState.QUEUED
            row.lease_until = retry_at + timedelta(seconds=limits.lease_seconds)
        else:  # long wait (URSSAF manual review: 48 h): the database remembers it
            row.run_state = RunState.IDLE
        check.done = False
    else:
        evidence = Evidence(
            kind=got.kind,
            document_id=document_ids[0] if document_ids else None,
            sandbox=ctx.sandbox,
            **got.evidence,
        )
        # A check earlier than the due date's tolerance window (a contract registered ahead of
        # its notification, or a fresh document fetched when the previous one ended between due
        # dates) does not serve that due date: the due date's own check still runs. Such an early
        # check replaces the evidence only with a fact (a document, or a refusal): the period
        # already served stays in order otherwise.
        if serves or got.kind in (EvidenceKind.DELIVERED, EvidenceKind.REFUSED):
            row.evidence = evidence_to_json(evidence)
            row.document_id = uuid.UUID(document_ids[0]) if document_ids else None
        if serves:
            row.served_due_on = row.due_on
        row.retry_at, row.alert = None, None
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


# --- a live diagnosis, outside any contract ----------------------------------------------------


@dataclass
class Diagnosis:
    """One requirement checked live, outside any contract (`vigie check` on an untracked pair)."""

    type: str
    outcome: str
    status: str | None
    valid_until: str | None
    reasons: list[str]


async def diagnose_supplier(ctx: ComplianceContext, siren: str, recipient: str) -> list[Diagnosis]:
    """Call the sources for every base requirement of a French company and grade the answers,
    persisting nothing: nothing is archived without a buyer (tenant) and a contract to cover."""
    today = today_in_paris(utcnow())
    subject = Subject(recipient, "Vérification Vigie", siren)
    out = []
    for rtype in required_types(HolderKind.FRENCH, policy=ctx.policy):
        got = await fetch_requirement(ctx.client, rtype, subject, today)
        status, reasons, valid_until = None, [], None
        if got.kind is not None:
            evidence = Evidence(kind=got.kind, **got.evidence)
            result = requirement_status(
                rtype, evidence, due_on=today, today=today, policy=ctx.policy
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
