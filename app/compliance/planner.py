"""What is due, from the database alone: requirement rows for every live contract holder, their
next due time and current status; claiming due rows for the queue; reclaiming lost ones.

Every function takes a session and only flushes: the tick, the jobs, the API and the CLI own
their unit of work. Claims are `UPDATE … WHERE run_state = 'idle'`, so several workers never
claim the same row twice, and each claim carries a lease: a row queued or running past its lease
(dead worker, flushed Redis) goes back to idle and is claimed again — a check is never lost.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import and_, func, or_, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow, uuid7
from app.compliance.evaluation import (
    evaluate,
    evidence_from_json,
    pending_due_on,
    reason_to_json,
    start_of,
    status_due_on,
    status_next_due_on,
    today_in_paris,
)
from app.compliance.models import RequirementState, RunState, StatusEvent
from app.compliance.rules import (
    CompliancePolicy,
    HolderKind,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    contract_ended,
    required_types,
)
from app.contracts.models import Contract, ContractHolder, SocialRegime
from app.documents.journal import append_journal
from app.events import hooks as events
from app.suppliers.models import Supplier

Pair = tuple[uuid.UUID, uuid.UUID]  # (buyer_id, supplier_id)
KIND_STATUS_CHANGED = "compliance.status_changed"
_CHUNK = 400


@dataclass(frozen=True)
class Claim:
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    due_on: date

    @property
    def job_id(self) -> str:
        """Deterministic: the same due date of the same pair is one job, whoever enqueues it."""
        return f"check:{self.buyer_id}:{self.supplier_id}:{self.due_on.isoformat()}"


def _chunks(items: list[Pair], size: int = _CHUNK) -> list[list[Pair]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def live_contracts(
    session: AsyncSession, pairs: list[Pair] | None, today: date
) -> dict[Pair, list[tuple[Contract, Supplier, bool]]]:
    """The contracts in execution of each pair, with the holder's regime (True: agricultural)."""
    query = (
        select(Contract, ContractHolder.supplier_id, Supplier, ContractHolder.social_regime)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .join(Supplier, col(Supplier.id) == ContractHolder.supplier_id)
    )
    if pairs is not None:
        query = query.where(
            tuple_(col(Contract.buyer_id), col(ContractHolder.supplier_id)).in_(pairs)
        )
    else:
        query = query.where(col(Contract.ends_on) >= today - timedelta(days=1))
    out: dict[Pair, list[tuple[Contract, Supplier, bool]]] = defaultdict(list)
    for contract, supplier_id, supplier, regime in (await session.exec(query)).all():
        if not contract_ended(contract.ends_on, today):
            agricultural = regime == SocialRegime.MSA
            out[(contract.buyer_id, supplier_id)].append((contract, supplier, agricultural))
    return out


async def _rows_for(
    session: AsyncSession, pairs: list[Pair] | None
) -> dict[Pair, list[RequirementState]]:
    query = select(RequirementState)  # None: every row
    if pairs is not None:
        query = query.where(
            tuple_(col(RequirementState.buyer_id), col(RequirementState.supplier_id)).in_(pairs)
        )
    out: dict[Pair, list[RequirementState]] = defaultdict(list)
    for row in (await session.exec(query)).all():
        out[(row.buyer_id, row.supplier_id)].append(row)
    return out


Holding = tuple[Contract, Supplier] | tuple[Contract, Supplier, bool]


def requirements_of(
    contracts: Sequence[Holding], policy: CompliancePolicy
) -> dict[RequirementType, list[Contract]]:
    """Each requirement of the pair and the contracts that ask for it. An item may carry a third
    element: the holder is on the agricultural regime (its MSA attestation replaces URSSAF's)."""
    needed: dict[RequirementType, list[Contract]] = defaultdict(list)
    for item in contracts:
        contract, supplier = item[0], item[1]
        agricultural = bool(item[2]) if len(item) > 2 else False
        kind = HolderKind.FOREIGN if supplier.siren is None else HolderKind.FRENCH
        country, workers = supplier.country, bool(getattr(contract, "foreign_workers", False))
        try:
            types = required_types(
                kind,
                explicit=[RequirementType(t) for t in contract.extra_requirements],
                cpv_code=contract.cpv_code,
                policy=policy,
                country=country,
                foreign_workers=workers,
                agricultural=agricultural,
            )
        except ValueError:  # an unreadable CPV code: the base requirements still apply
            types = required_types(
                kind,
                policy=policy,
                country=country,
                foreign_workers=workers,
                agricultural=agricultural,
            )
        for rtype in types:
            needed[rtype].append(contract)
    return needed


async def sync_pairs(
    session: AsyncSession,
    pairs: list[Pair] | None,
    *,
    policy: CompliancePolicy,
    now: datetime | None = None,
    why: str | None = None,
) -> int:
    """Create missing rows, follow amendments and ends of execution, recompute every status.

    `pairs=None`: every pair with a live contract or an active row. Returns rows changed.
    The live contracts are read once; rows are created only where missing (computed in Python
    from the rows read, inserted in bulk); statuses are computed once per distinct input (most
    rows share theirs: never checked, same contracts) — see `_Pass`.
    """
    now = now or utcnow()
    today = today_in_paris(now)
    work = _Pass(policy, today)
    contracts: dict[Pair, list[tuple[Contract, Supplier, bool]]] | None = None
    every_row: dict[Pair, list[RequirementState]] | None = None
    if pairs is None:  # the whole table in one read (the rows of ended pairs are few beside)
        contracts = await live_contracts(session, None, today)
        every_row = await _rows_for(session, None)
        active = {pair for pair, found in every_row.items() if any(r.active for r in found)}
        todo = sorted(set(contracts) | active)
    else:
        todo = sorted(set(pairs))
    changed = 0
    for chunk in _chunks(todo, _SYNC_CHUNK):
        if contracts is None:
            live = await live_contracts(session, chunk, today)
        else:
            live = {pair: contracts[pair] for pair in chunk if pair in contracts}
        needed = {pair: work.requirements(live.get(pair, [])) for pair in chunk}
        if every_row is None:
            rows = await _rows_for(session, chunk)
        else:
            rows = {pair: every_row[pair] for pair in chunk if pair in every_row}
        missing = [
            (pair, rtype)
            for pair in chunk
            for rtype in needed[pair]
            if not any(r.requirement == rtype for r in rows.get(pair, ()))
        ]
        if missing:
            await _insert_missing_rows(session, missing, now)
            again = sorted({pair for pair, _ in missing})
            for pair, found in (await _rows_for(session, again)).items():
                rows[pair] = found
        for pair in chunk:
            changed += await _sync_pair(
                session, pair, needed[pair], rows.get(pair, []), work, now, why
            )
    await session.flush()
    return changed


_SYNC_CHUNK = 1000  # pairs per query (2 parameters each)


class _Pass:
    """One planning pass's memory: the rules are pure, and most rows share their inputs (the same
    contracts, no evidence yet), so each distinct input is judged once per pass."""

    def __init__(self, policy: CompliancePolicy, today: date) -> None:
        self.policy, self.today = policy, today
        self._needed: dict[tuple[object, ...], dict[RequirementType, list[Contract]]] = {}
        self._dues: dict[tuple[object, ...], tuple[date, date | None]] = {}
        self._pending: dict[tuple[object, ...], date | None] = {}
        self._results: dict[tuple[object, ...], tuple[RequirementResult, list[dict[str, Any]]]] = {}

    def requirements(
        self, holdings: list[tuple[Contract, Supplier, bool]]
    ) -> dict[RequirementType, list[Contract]]:
        key = tuple(
            (id(c), s.siren is None, s.country, bool(agricultural))
            for c, s, agricultural in holdings
        )
        found = self._needed.get(key)
        if found is None:
            found = self._needed[key] = requirements_of(holdings, self.policy)
        return found

    def dues(self, live: list[Contract]) -> tuple[date, date | None]:
        """The due date the status is judged at, and the following one (`expiring`)."""
        key = tuple(id(c) for c in live)
        found = self._dues.get(key)
        if found is None:
            due_on = status_due_on(live, self.today)
            found = self._dues[key] = (due_on, status_next_due_on(live, due_on))
        return found

    def pending_due_on(self, live: list[Contract], served: date | None) -> date | None:
        key = (tuple(id(c) for c in live), served)
        if key not in self._pending:
            self._pending[key] = pending_due_on(live, served, self.today)
        return self._pending[key]

    def evaluate(
        self, rtype: RequirementType, row: RequirementState, live: list[Contract]
    ) -> tuple[RequirementResult, list[dict[str, Any]]]:
        due_on, next_due_on = self.dues(live)
        evidence = row.evidence
        check_failed = row.alert is not None
        key = (
            rtype,
            orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS) if evidence else None,
            due_on,
            next_due_on,
            check_failed,
            row.requested_on,
        )
        found = self._results.get(key)
        if found is None:
            result = evaluate(
                rtype,
                evidence_from_json(evidence),
                due_on=due_on,
                today=self.today,
                policy=self.policy,
                next_due_on=next_due_on,
                # Vigie's own failure (config error, bug) on the last attempt: never the
                # supplier's fault (the alert is cleared by the next successful check).
                check_failed=check_failed,
                requested_on=row.requested_on,
            )
            found = self._results[key] = (result, [reason_to_json(r) for r in result.reasons])
        return found


async def _insert_missing_rows(
    session: AsyncSession, missing: list[tuple[Pair, RequirementType]], now: datetime
) -> None:
    """Create the rows a pair lacks, racing safely with another process planning the same pair
    (the tick and a contract's own planning job): INSERT … ON CONFLICT DO NOTHING, in bulk, from
    plain values (a model per row cost more than the rest of the pass); the caller reloads."""
    table = RequirementState.__table__  # type: ignore[attr-defined]
    values: list[dict[str, Any]] = [
        {
            "id": uuid7(),
            "buyer_id": buyer_id,
            "supplier_id": supplier_id,
            "requirement": rtype,
            "active": True,
            "reasons": [],
            "evidence": None,  # as the model's default: JSON null
            "run_state": RunState.IDLE,
            "attempts": 0,
            "updated_at": now,
        }
        for (buyer_id, supplier_id), rtype in missing
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(
        index_elements=["buyer_id", "supplier_id", "requirement"]
    )
    for first in range(0, len(values), 2000):
        await session.exec(statement, params=values[first : first + 2000])


async def _sync_pair(
    session: AsyncSession,
    pair: Pair,
    needed: dict[RequirementType, list[Contract]],
    rows: list[RequirementState],
    work: _Pass,
    now: datetime,
    why: str | None,
) -> int:
    today = today_in_paris(now)
    by_type = {RequirementType(row.requirement): row for row in rows}
    changed = 0
    # What the supplier's overall status reads (events): the rows as they were, cheaply kept.
    was_rows = [_Judged(r.status, r.reasons, r.valid_until, r.active, r.evaluated_on) for r in rows]
    for rtype in needed:
        if rtype not in by_type:
            row = RequirementState(buyer_id=pair[0], supplier_id=pair[1], requirement=rtype)
            session.add(row)
            by_type[rtype] = row
    for rtype, row in by_type.items():
        live = needed.get(rtype, [])
        before = (row.active, row.status, row.next_due_at, row.due_on, row.reasons)
        if not live:  # no contract in execution asks for it: stop checking, keep the history
            row.active, row.next_due_at = False, None
            if row.run_state != RunState.IDLE:
                row.run_state, row.lease_until = RunState.IDLE, None
        else:
            # Attributes are set only when they change (an ORM set costs, even to the same value).
            if not row.active:
                row.active = True
            if row.run_state == RunState.IDLE:
                _schedule(row, live, today, now, work)
            result, reasons = work.evaluate(rtype, row, live)
            # A new row's first status ("not checked yet") is not a change worth an event.
            if row.status != result.status and (row.status or result.checked):
                await record_event(session, row, result.status, reasons, why, now)
            if row.reasons != reasons:
                row.reasons = list(reasons)
            if row.status != result.status:
                row.status = result.status
            if row.valid_until != result.valid_until:
                row.valid_until = result.valid_until
            if result.status is RequirementStatus.VALID and row.requested_on is not None:
                row.requested_on = None  # in order again: the next gap needs a new request
            if row.evaluated_on != today:
                row.evaluated_on = today
        if before != (row.active, row.status, row.next_due_at, row.due_on, row.reasons):
            row.updated_at = now
            session.add(row)
            changed += 1
    rows_now = [
        _Judged(r.status, r.reasons, r.valid_until, r.active, r.evaluated_on)
        for r in by_type.values()
    ]
    if rows_now == was_rows and all(r.evaluated_on == today for r in was_rows):
        return changed  # the same rows judged the same day: the same overall status
    was = events.overall_of(was_rows, work.policy, events.evaluated_on(was_rows, today))  # type: ignore[arg-type]
    after = events.overall_of(list(by_type.values()), work.policy, today)
    await events.supplier_status_changed(session, *pair, was, after, now)
    return changed


class _Judged(NamedTuple):
    """What a supplier's overall status reads of a requirement row (`events.overall_of`)."""

    status: RequirementStatus | None
    reasons: list[dict[str, Any]]
    valid_until: date | None
    active: bool
    evaluated_on: date | None


def _schedule(
    row: RequirementState,
    live: list[Contract],
    today: date,
    now: datetime,
    work: "_Pass | None" = None,
) -> None:
    """When this requirement is next fetched.

    - At its next due date (the notification, then every six months: D8222-5 C. trav.), or at
      once when a due date was missed.
    - At once when it was never checked and the contract is not notified yet: the proofs are
      due at signature (R2143-7 C. commande publique), so a contract registered ahead of its
      notification is checked on registration; the notification's own check still follows if
      that early one was too early to serve it (`checks._persist`).
    - When the document that served the current period ends before the next due date: the
      supplier stays in order for that period, and a fresh document is fetched the day after
      (the dossier stays current), once per document.
    The source's own wait (`retry_at`: URSSAF's 48-hour manual review) always comes first.
    """
    if work is None:
        due = pending_due_on(live, row.served_due_on, today)
    else:
        due = work.pending_due_on(live, row.served_due_on)
    if due is None:
        if row.due_on is not None or row.next_due_at is not None:
            row.due_on, row.next_due_at = None, None
        return
    if row.due_on != due:
        row.retry_at = None  # a wait belonged to the previous due date
        row.due_on = due
    at = start_of(due)
    if due > today and row.last_checked_at is None:
        at = now  # never checked, contract ahead of its notification: check on registration
    elif due > today and row.valid_until is not None and row.valid_until < due:
        refresh = start_of(row.valid_until + timedelta(days=1))
        if row.last_checked_at is None or row.last_checked_at < refresh:
            at = min(at, refresh)
    if row.retry_at is not None and row.retry_at > at:
        at = row.retry_at  # the source asked to come back later (URSSAF manual review: 48 h)
    if row.next_due_at != at:
        row.next_due_at = at


async def record_event(
    session: AsyncSession,
    row: RequirementState,
    new_status: RequirementStatus,
    reasons: list[dict[str, object]],
    why: str | None,
    now: datetime,
) -> None:
    """One event per status change, mirrored in the archive's hash-chained journal."""
    codes = [str(r["code"]) for r in reasons]
    event = StatusEvent(
        buyer_id=row.buyer_id,
        supplier_id=row.supplier_id,
        requirement=row.requirement,
        old_status=row.status,
        new_status=new_status,
        reason_codes=codes,
        why=(why or (str(reasons[0]["message"]) if reasons else None) or "")[:500] or None,
        at=now,
    )
    session.add(event)
    await append_journal(
        session,
        KIND_STATUS_CHANGED,
        f"supplier:{row.supplier_id}",
        {
            "buyer_id": str(row.buyer_id),
            "supplier_id": str(row.supplier_id),
            "requirement": row.requirement,
            "old": row.status,
            "new": new_status,
            "reason_codes": codes,
            "why": event.why,
        },
    )
    # After the journal, as everywhere: its lock, then the buyer's event number (one order, no
    # deadlock between two checks of the same buyer).
    await events.requirement_status_changed(session, row, new_status, reasons, event.why, now)


# --- claiming and reclaiming ------------------------------------------------------------------


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    pairs: list[Pair] | None = None,
    force: bool = False,
) -> list[Claim]:
    """Mark up to `limit` pairs' due rows `queued` and return one claim per pair.

    `force`: claim the pairs' idle rows even if not due (a re-check asked by the buyer).
    """
    due = and_(
        col(RequirementState.active),
        col(RequirementState.run_state) == RunState.IDLE,
        col(RequirementState.due_on).is_not(None),
    )
    if not force:
        due = and_(due, col(RequirementState.next_due_at) <= now)
    scope = tuple_(col(RequirementState.buyer_id), col(RequirementState.supplier_id))
    if pairs is None:
        query = (
            select(RequirementState.buyer_id, RequirementState.supplier_id)
            .where(due)
            .group_by(col(RequirementState.buyer_id), col(RequirementState.supplier_id))
            .order_by(func.min(RequirementState.next_due_at))
            .limit(limit)
        )
        pairs = [(b, s) for b, s in (await session.exec(query)).all()]
    if not pairs:
        return []
    claimed: dict[Pair, date] = {}
    for chunk in _chunks(pairs):
        stmt = (
            update(RequirementState)
            .where(due, scope.in_(chunk))
            .values(run_state=RunState.QUEUED, lease_until=now + lease, updated_at=now)
            .returning(
                col(RequirementState.buyer_id),
                col(RequirementState.supplier_id),
                col(RequirementState.due_on),
            )
            .execution_options(synchronize_session=False)
        )
        for buyer_id, supplier_id, due_on in (await session.exec(stmt)).all():
            key = (buyer_id, supplier_id)
            claimed[key] = min(due_on, claimed.get(key, due_on))
    return [Claim(b, s, d) for (b, s), d in claimed.items()]


async def reclaim_expired(session: AsyncSession, *, now: datetime) -> int:
    """Rows queued or running past their lease go back to idle (due again at once)."""
    stmt = (
        update(RequirementState)
        .where(
            col(RequirementState.run_state).in_([RunState.QUEUED, RunState.RUNNING]),
            or_(
                col(RequirementState.lease_until).is_(None),
                col(RequirementState.lease_until) < now,
            ),
        )
        .values(run_state=RunState.IDLE, lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(stmt)
    return int(result.rowcount or 0)


async def in_flight(session: AsyncSession) -> int:
    query = select(func.count()).where(
        col(RequirementState.run_state).in_([RunState.QUEUED, RunState.RUNNING])
    )
    return int((await session.exec(query)).one())


async def pairs_of_contract(session: AsyncSession, contract_id: uuid.UUID) -> list[Pair]:
    """The contract's holders. A holder removed by an amendment is let go by the tick's full
    pass (and by its own next check, which syncs its pair first)."""
    contract = await session.get(Contract, contract_id)
    if contract is None:
        return []
    holders = select(ContractHolder.supplier_id).where(ContractHolder.contract_id == contract_id)
    return [(contract.buyer_id, s) for s in (await session.exec(holders)).all()]


async def rows_of_pair(
    session: AsyncSession, pair: Pair, *, active_only: bool = False, in_flight_only: bool = False
) -> list[RequirementState]:
    """The requirement rows of one (buyer, supplier), in requirement order."""
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


# --- the reconciler: what the queue lost, what was never planned -------------------------------


async def claimed_rows(session: AsyncSession, *, before: datetime) -> list[RequirementState]:
    """Rows queued or running, claimed before `before` (a fresh claim's job may still be on
    its way to the queue: it leaves after the commit)."""
    query = select(RequirementState).where(
        col(RequirementState.run_state).in_([RunState.QUEUED, RunState.RUNNING]),
        col(RequirementState.updated_at) < before,
    )
    return list((await session.exec(query)).all())


def job_ids_of(rows: list[RequirementState]) -> dict[Pair, set[str]]:
    """The job ids that may serve each pair's claimed rows (one per due date claimed)."""
    ids: dict[Pair, set[str]] = defaultdict(set)
    for row in rows:
        if row.due_on is not None:
            ids[(row.buyer_id, row.supplier_id)].add(Claim(*_pair(row), row.due_on).job_id)
    return ids


def _pair(row: RequirementState) -> Pair:
    return (row.buyer_id, row.supplier_id)


def release(rows: list[RequirementState], lost: set[Pair], now: datetime) -> int:
    """Claimed rows of the pairs whose job is gone go back to idle, due at once — or when the
    source asked to come back (`retry_at`), which still holds."""
    released = 0
    for row in rows:
        if _pair(row) not in lost:
            continue
        row.run_state, row.lease_until, row.updated_at = RunState.IDLE, None, now
        if row.retry_at is not None and row.retry_at > now:
            row.next_due_at = row.retry_at
        elif row.next_due_at is None or row.next_due_at > now:
            row.next_due_at = now
        released += 1
    return released


async def unplanned_pairs(
    session: AsyncSession, today: date, *, before: datetime, limit: int
) -> list[Pair]:
    """Holders of contracts in execution, registered before `before`, that have no requirement
    row at all: their contract's planning job was lost (a flushed Redis, a crash between the
    commit and the send). Younger contracts are left to their own job, which is on its way."""
    row = select(RequirementState.id).where(
        RequirementState.buyer_id == Contract.buyer_id,
        RequirementState.supplier_id == ContractHolder.supplier_id,
    )
    query = (
        select(Contract.buyer_id, ContractHolder.supplier_id)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .where(
            col(Contract.ends_on) >= today,  # not ended (contract_ended)
            col(Contract.created_at) < before,
            ~row.exists(),
        )
        .distinct()
        .limit(limit)
    )
    return [(b, s) for b, s in (await session.exec(query)).all()]
