"""The compliance read side: a supplier's status, a contract's, the gaps (by pages or as a
streamed CSV), the bulk lookup before a payment run, and small queries for the CLI."""

import functools
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic_core import PydanticCustomError
from sqlalchemy import func, tuple_
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.evaluation import (
    evidence_from_json,
    reason_to_json,
    result_from_row,
    today_in_paris,
)
from app.compliance.models import RequirementState
from app.compliance.rules import (
    REASON_LABELS_FR,
    STATUS_LABELS_FR,
    CompliancePolicy,
    OverallResult,
    OverallStatus,
    Reason,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    becomes_non_compliant_on,
    combine_statuses,
    overall_status,
    status_label_fr,
)
from app.compliance.rules.labels import requirement_label_fr
from app.compliance.schemas import (
    ContractCompliance,
    Gap,
    LookupResult,
    ReasonPublic,
    RequirementPublic,
    SupplierCompliance,
    SupplierRef,
)
from app.contracts.models import Contract, ContractHolder, SocialRegime
from app.contracts.status import Stored, holder_results
from app.errors import NotFound
from app.identifiers import SupplierKey, parse_supplier_key
from app.suppliers.models import Supplier
from app.suppliers.service import supplier_by_key, supplier_scope


def _reasons(reasons: list[Any]) -> list[ReasonPublic]:
    out = []
    for r in reasons:
        data = r if isinstance(r, dict) else reason_to_json(r)
        values = {k: data.get(k) for k in ReasonPublic.model_fields}
        values["label"] = REASON_LABELS_FR.get(data["code"])
        out.append(ReasonPublic.model_validate(values))
    return out


def _next_check_on(row: RequirementState) -> date | None:
    return today_in_paris(row.next_due_at) if row.next_due_at and row.active else None


def requirement_public(
    row: RequirementState,
    result: RequirementResult | None = None,
    buyer_siret: str | None = None,
    *,
    policy: CompliancePolicy | None = None,
) -> RequirementPublic:
    result = result or result_from_row(row.status, row.reasons, row.valid_until, policy)
    rtype = RequirementType(row.requirement)
    return RequirementPublic(
        type=rtype,
        label=requirement_label_fr(rtype, capitalize=True),
        status=result.status,
        status_label=status_label_fr(result.status),
        non_compliant_on=result.non_compliant_on,
        valid_until=result.valid_until,
        next_check_on=_next_check_on(row),
        document_id=row.document_id,
        last_checked_at=row.last_checked_at,
        reasons=_reasons(result.reasons),
        alert=row.alert,
        buyer_siret=buyer_siret,
    )


def supplier_ref(supplier: Supplier) -> SupplierRef:
    return SupplierRef(id=supplier.id, siren=supplier.siren, name=supplier.name)


def _overall(
    results: list[RequirementResult], today: date, policy: CompliancePolicy
) -> OverallResult:
    return overall_status(results, today=today, policy=policy)


# Requirements in the order of RequirementType (registration, URSSAF, DGFIP, then sector ones).
_TYPE_ORDER = {t.value: i for i, t in enumerate(RequirementType)}


async def supplier_compliance(
    session: AsyncSession,
    supplier: Supplier,
    *,
    buyer_id: uuid.UUID | None,
    policy: CompliancePolicy,
) -> SupplierCompliance:
    """Under one buyer; or, for the contractor itself (`buyer_id=None`), under each of them."""
    document = await supplier_compliance_document(
        session, supplier, buyer_id=buyer_id, policy=policy
    )
    return SupplierCompliance.model_validate(document)


async def supplier_compliance_document(
    session: AsyncSession,
    supplier: Supplier,
    *,
    buyer_id: uuid.UUID | None,
    policy: CompliancePolicy,
) -> dict[str, Any]:
    """`supplier_compliance` as the plain document the API sends (`render_json`): the same
    judgement, read with one Core query and built once, without a model per row."""
    t = _STATES
    query = _state_columns().where(t.c.supplier_id == supplier.id)
    if buyer_id is not None:
        query = query.where(t.c.buyer_id == buyer_id)
    rows = list((await (await session.connection()).execute(query.order_by(t.c.id))).all())
    ref = {"id": supplier.id, "siren": supplier.siren, "name": supplier.name}
    return _supplier_document(ref, rows, buyer_id, policy)


async def supplier_compliance_for_caller(
    session: AsyncSession,
    key: SupplierKey,
    *,
    buyer_id: uuid.UUID | None,
    supplier_id: uuid.UUID | None,
    policy: CompliancePolicy,
) -> dict[str, Any]:
    """The API's route in one round trip: the supplier as `get_supplier_for_caller` finds it
    (same scope, same 404) and its requirement rows, joined."""
    if key.siren is not None and buyer_id is not None:  # an officer or an ERP: built once
        query, params = _officer_query(), {"siren": key.siren, "buyer_id": buyer_id}
    else:
        query, params = _caller_query(key, buyer_id, supplier_id), {}
    rows = list((await (await session.connection()).execute(query, params)).all())
    if not rows:
        what = f"de SIREN {key.siren}" if key.siren else f"d'identifiant {key.text}"
        raise NotFound(f"Aucun fournisseur {what} parmi les vôtres.", code="supplier_not_found")
    first = rows[0]
    ref = {"id": first.supplier_ref, "siren": first.supplier_siren, "name": first.name}
    states_rows = [r for r in rows if r.requirement is not None]
    return _supplier_document(ref, states_rows, buyer_id, policy)


@functools.cache
def _officer_query() -> Any:
    """`_caller_query` for a SIREN under a buyer, with bound parameters (`siren`, `buyer_id`)."""
    t, s = _STATES, _SUPPLIERS
    holders, contracts = _HOLDERS, _CONTRACTS
    buyer = sa.bindparam("buyer_id", type_=t.c.buyer_id.type)
    scope = (
        sa.select(holders.c.supplier_id)
        .join(contracts, contracts.c.id == holders.c.contract_id)
        .where(contracts.c.buyer_id == buyer)
    )
    one = (
        sa.select(s.c.id)
        .where(s.c.siren == sa.bindparam("siren"), s.c.id.in_(scope))
        .limit(1)
        .scalar_subquery()
    )
    return _joined(one, buyer)


def _caller_query(
    key: SupplierKey, buyer_id: uuid.UUID | None, supplier_id: uuid.UUID | None
) -> Any:
    chosen = supplier_by_key(key)
    if buyer_id is not None:
        chosen = chosen.where(col(Supplier.id).in_(supplier_scope(buyer_id)))
    elif supplier_id is not None:
        chosen = chosen.where(Supplier.id == supplier_id)
    one = chosen.with_only_columns(col(Supplier.id)).limit(1).scalar_subquery()
    return _joined(one, buyer_id)


def _joined(one: Any, buyer: Any) -> Any:
    """The supplier `one` with its requirement rows (under `buyer` when not None), joined."""
    t, buyers, s = _STATES, _BUYERS, _SUPPLIERS
    on = t.c.supplier_id == s.c.id
    if buyer is not None:
        on = sa.and_(on, t.c.buyer_id == buyer)
    states = t.join(buyers, buyers.c.id == t.c.buyer_id)
    return (
        sa.select(
            s.c.id.label("supplier_ref"),
            s.c.siren.label("supplier_siren"),
            s.c.name,
            *_state_columns().selected_columns,
        )
        .select_from(s.outerjoin(states, on))
        .where(s.c.id == one)
        .order_by(t.c.id)
    )


def _state_columns() -> Any:
    t, buyers = _STATES, _BUYERS
    return sa.select(
        t.c.buyer_id,
        buyers.c.siret,
        t.c.requirement,
        t.c.active,
        t.c.status,
        _json_text(t.c.reasons),
        t.c.valid_until,
        t.c.document_id,
        t.c.last_checked_at,
        t.c.alert,
        t.c.next_due_at,
    ).join_from(t, buyers, buyers.c.id == t.c.buyer_id)


def _supplier_document(
    ref: dict[str, Any], rows: list[Any], buyer_id: uuid.UUID | None, policy: CompliancePolicy
) -> dict[str, Any]:
    live = [r for r in rows if r.active] or rows  # ended contracts: their history
    live.sort(key=lambda r: (r.siret, _TYPE_ORDER.get(r.requirement, 99)))
    today = today_in_paris(utcnow())
    by_buyer: dict[uuid.UUID, list[RequirementResult]] = defaultdict(list)
    requirements = []
    for row in live:
        result = _result(row.status, row.reasons, row.valid_until, policy)
        by_buyer[row.buyer_id].append(result)
        requirements.append(
            _requirement_document(
                row.requirement,
                result,
                row,
                today_in_paris(row.next_due_at) if row.next_due_at and row.active else None,
                row.siret if buyer_id is None else None,
            )
        )
    overall = combine_statuses(_overall(rs, today, policy) for rs in by_buyer.values())
    return {
        "supplier": ref,
        "status": overall.status,
        "status_label": STATUS_LABELS_FR[overall.status],
        "non_compliant_on": overall.non_compliant_on,
        "reasons": [_reason_document(r) for r in overall.reasons],
        "requirements": requirements,
    }


# --- the hot paths' pieces: Core columns, JSON decoded by orjson, plain dicts -------------------

_STATES = RequirementState.__table__  # type: ignore[attr-defined]
_BUYERS = Buyer.__table__  # type: ignore[attr-defined]
_SUPPLIERS = Supplier.__table__  # type: ignore[attr-defined]
_HOLDERS = ContractHolder.__table__  # type: ignore[attr-defined]
_CONTRACTS = Contract.__table__  # type: ignore[attr-defined]


def _json_text(column: Any) -> Any:
    """A JSON column read as its text, decoded by orjson (not by the driver's json, row by row)."""
    return sa.cast(column, sa.Text).label(column.name)


def render_json(document: Any) -> bytes:
    """The JSON bytes of a response document: dates ISO, UTC instants with `Z`, as pydantic."""
    return orjson.dumps(document, default=_as_text, option=orjson.OPT_UTC_Z)


def _as_text(value: Any) -> str:
    """What orjson does not know natively: the driver's own UUID class (asyncpg)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _stored_reason(data: dict[str, Any]) -> Reason:
    """A stored reason back as the rules' `Reason` (what `reason_from_json` gives, directly)."""
    since, requirement = data.get("since"), data.get("requirement")
    return Reason(
        data["code"],
        data["message"],
        date.fromisoformat(since) if since else None,
        data.get("evidence"),
        RequirementType(requirement) if requirement else None,
        data.get("article"),
    )


def _result(
    status: str | None, reasons: str | None, valid_until: date | None, policy: CompliancePolicy
) -> RequirementResult:
    """`evaluation.result_from_row` from the reasons' JSON text."""
    result = RequirementResult(
        RequirementStatus(status or RequirementStatus.MISSING),
        [_stored_reason(r) for r in (orjson.loads(reasons) if reasons else None) or ()],
        valid_until,
    )
    return result._replace(non_compliant_on=becomes_non_compliant_on(result, policy=policy))


def _reason_document(reason: Reason) -> dict[str, Any]:
    """`ReasonPublic` as a dict, in its field order."""
    return {
        "code": reason.code,
        "label": REASON_LABELS_FR.get(reason.code),  # type: ignore[call-overload]
        "message": reason.message,
        "since": reason.since,
        "evidence": reason.evidence,
        "requirement": reason.requirement,
        "article": reason.article,
    }


def _requirement_document(
    requirement: str,
    result: RequirementResult,
    row: Any,
    next_check_on: date | None,
    buyer_siret: str | None,
) -> dict[str, Any]:
    """`RequirementPublic` as a dict, in its field order."""
    rtype = RequirementType(requirement)
    return {
        "type": rtype,
        "label": requirement_label_fr(rtype, capitalize=True),
        "status": result.status,
        "status_label": STATUS_LABELS_FR[result.status],
        "non_compliant_on": result.non_compliant_on,
        "valid_until": result.valid_until,
        "next_check_on": next_check_on,
        "document_id": row.document_id,
        "last_checked_at": row.last_checked_at,
        "reasons": [_reason_document(r) for r in result.reasons],
        "alert": row.alert,
        "buyer_siret": buyer_siret,
    }


async def contract_compliance(
    session: AsyncSession, contract: Contract, *, policy: CompliancePolicy
) -> ContractCompliance:
    """Each holder judged against this contract's own due date, then the worst holder wins."""
    today = today_in_paris(utcnow())
    query = (
        select(Supplier, ContractHolder.social_regime)
        .join(ContractHolder, col(ContractHolder.supplier_id) == Supplier.id)
        .where(ContractHolder.contract_id == contract.id)
        .order_by(col(Supplier.id))
    )
    holdings = list((await session.exec(query)).all())
    suppliers = [s for s, _ in holdings]
    agricultural = {s.id: regime == SocialRegime.MSA for s, regime in holdings}
    states = select(RequirementState).where(
        RequirementState.buyer_id == contract.buyer_id,
        col(RequirementState.supplier_id).in_([s.id for s in suppliers]),
    )
    rows: dict[tuple[uuid.UUID, RequirementType], RequirementState] = {
        (r.supplier_id, RequirementType(r.requirement)): r
        for r in (await session.exec(states)).all()
    }
    stored = {
        key: Stored(evidence_from_json(r.evidence), r.alert is not None, r.requested_on)
        for key, r in rows.items()
    }
    holders = []
    for supplier in suppliers:
        # The same judgement as the contracts list's status (one implementation).
        judged = holder_results(
            contract,
            supplier,
            stored,
            today=today,
            policy=policy,
            agricultural=agricultural[supplier.id],
        )
        results = [result for _, result in judged]
        public = []
        for rtype, result in judged:
            row = rows.get((supplier.id, rtype))
            public.append(requirement_public(row, result) if row else _unplanned(rtype, result))
        overall = _overall(results, today, policy)
        holders.append(
            SupplierCompliance(
                supplier=supplier_ref(supplier),
                status=overall.status,
                status_label=status_label_fr(overall.status),
                non_compliant_on=overall.non_compliant_on,
                reasons=_reasons(overall.reasons),
                requirements=public,
            )
        )
    combined = combine_statuses((h.status, [], h.non_compliant_on) for h in holders)
    reasons = [r for h in holders if h.status != OverallStatus.COMPLIANT for r in h.reasons]
    return ContractCompliance(
        contract_id=contract.id,
        reference=contract.reference,
        status=combined.status,
        status_label=status_label_fr(combined.status),
        non_compliant_on=combined.non_compliant_on,
        reasons=reasons,
        holders=holders,
    )


def _unplanned(rtype: RequirementType, result: RequirementResult) -> RequirementPublic:
    return RequirementPublic(
        type=rtype,
        status=result.status,
        valid_until=None,
        next_check_on=None,
        document_id=None,
        last_checked_at=None,
        reasons=_reasons(result.reasons),
    )


@dataclass(frozen=True)
class GapFilters:
    statuses: list[str] | None = None  # None: every status but `valid`
    requirement: str | None = None
    due_within: int | None = None  # expiring or due within N days


def _gap_conditions(buyer_id: uuid.UUID, filters: GapFilters, after: uuid.UUID | None) -> list[Any]:
    """What makes a row a gap of this buyer under these filters: one definition for the pages
    (`list_gaps`) and the CSV (`gap_batch`)."""
    t = _STATES
    statuses, requirement, due_within = filters.statuses, filters.requirement, filters.due_within
    where: list[Any] = [t.c.buyer_id == buyer_id, t.c.active]
    if statuses:
        where.append(t.c.status.in_(statuses))
    else:
        where.append(or_(t.c.status.is_(None), t.c.status != RequirementStatus.VALID))
    if requirement:
        where.append(t.c.requirement == requirement)
    if due_within is not None:
        now = utcnow()
        horizon = today_in_paris(now) + timedelta(days=due_within)
        where.append(
            or_(
                t.c.valid_until <= horizon,
                t.c.next_due_at <= now + timedelta(days=due_within),
            )
        )
    if after is not None:
        where.append(t.c.id > after)
    return where


async def list_gaps(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: GapFilters,
    *,
    after: uuid.UUID | None,
    limit: int,
) -> list[tuple[RequirementState, Supplier]]:
    """Active requirements that are not `valid` (or in `statuses`), oldest row first."""
    query = (
        select(RequirementState, Supplier)
        .join(Supplier, col(Supplier.id) == RequirementState.supplier_id)
        .where(*_gap_conditions(buyer_id, filters, after))
        .order_by(col(RequirementState.id))
        .limit(limit)
    )
    return [(r, s) for r, s in (await session.exec(query)).all()]


async def gap_batch(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: GapFilters,
    *,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[Any]:
    """The gaps of `list_gaps` as Core rows, with only what the CSV prints (streamed exports)."""
    t, suppliers = _STATES, _SUPPLIERS
    query = (
        sa.select(
            t.c.id,
            t.c.supplier_id,
            t.c.requirement,
            t.c.status,
            _json_text(t.c.reasons),
            t.c.valid_until,
            t.c.active,
            t.c.next_due_at,
            suppliers.c.siren,
            suppliers.c.country,
            suppliers.c.foreign_id,
            suppliers.c.name,
        )
        .join(suppliers, suppliers.c.id == t.c.supplier_id)
        .where(*_gap_conditions(buyer_id, filters, after))
        .order_by(t.c.id)
        .limit(limit)
    )
    return (await (await session.connection()).execute(query)).all()


def gap_public(
    row: RequirementState, supplier: Supplier, policy: CompliancePolicy | None = None
) -> Gap:
    req = requirement_public(row, policy=policy)
    return Gap(
        id=row.id,
        supplier=supplier_ref(supplier),
        type=req.type,
        status=req.status,
        status_label=req.status_label,
        non_compliant_on=req.non_compliant_on,
        valid_until=req.valid_until,
        next_check_on=req.next_check_on,
        document_id=req.document_id,
        reasons=req.reasons,
    )


async def lookup(
    session: AsyncSession, buyer_id: uuid.UUID, sirens: list[str], policy: CompliancePolicy
) -> list[LookupResult]:
    """Status of many suppliers at once (an ERP before a payment run). Items are SIRENs, SIRETs
    (their company answers) or country-prefixed foreign identifiers; an item that is none of
    them is answered in its own result (`invalid_identifier`), the others normally."""
    documents = await lookup_documents(session, buyer_id, sirens, policy)
    return [LookupResult.model_validate(d) for d in documents]


async def lookup_documents(
    session: AsyncSession, buyer_id: uuid.UUID, sirens: list[str], policy: CompliancePolicy
) -> list[dict[str, Any]]:
    """`lookup` as the plain documents the API sends: Core columns, one dict per item."""
    valid: dict[str, SupplierKey] = {}  # as sent -> parsed
    refused: dict[str, str] = {}
    for sent in sirens:
        try:
            valid[sent] = parse_supplier_key(sent)
        except PydanticCustomError as exc:
            refused[sent] = exc.message()
    french = sorted({k.siren for k in valid.values() if k.siren})
    foreign = {
        (k.country, i) for k in valid.values() if k.is_foreign for i in (k.text, k.national_id)
    }
    t, suppliers = _STATES, _SUPPLIERS
    base = (
        sa.select(
            t.c.requirement,
            t.c.active,
            t.c.status,
            _json_text(t.c.reasons),
            t.c.valid_until,
            suppliers.c.siren,
            suppliers.c.country,
            suppliers.c.foreign_id,
        )
        .join(suppliers, suppliers.c.id == t.c.supplier_id)
        .where(t.c.buyer_id == buyer_id)
        .order_by(t.c.id)
    )
    rows: dict[str, list[Any]] = defaultdict(list)
    queries = []
    if french:
        queries.append(base.where(suppliers.c.siren.in_(french)))
    if foreign:
        pairs = tuple_(suppliers.c.country, suppliers.c.foreign_id)
        queries.append(base.where(pairs.in_(sorted(foreign))))
    conn = await session.connection()
    for query in queries:
        for row in (await conn.execute(query)).all():
            rows[row.siren or f"{row.country}:{row.foreign_id}"].append(row)

    def found_rows(key: SupplierKey) -> list[Any]:
        if key.siren:
            return rows.get(key.siren, [])
        return rows.get(f"{key.country}:{key.text}") or rows.get(
            f"{key.country}:{key.national_id}", []
        )

    today = today_in_paris(utcnow())
    stored: dict[tuple[Any, ...], RequirementResult] = {}
    overalls: dict[tuple[Any, ...], tuple[list[RequirementResult], OverallResult]] = {}
    out: list[dict[str, Any]] = []
    for sent in sirens:
        if sent in refused:
            out.append(
                _lookup_document(sent, None, code="invalid_identifier", detail=refused[sent])
            )
            continue
        key = valid[sent]
        found = found_rows(key)
        if not found:
            out.append(_lookup_document(key.text, False))
            continue
        live = [r for r in found if r.active] or found
        # Suppliers share their stored inputs (never checked, the same dates): judged once each.
        inputs = tuple((r.status, r.reasons, r.valid_until) for r in live)
        judged = overalls.get(inputs)
        if judged is None:
            results = []
            for status, reasons, valid_until in inputs:
                result = stored.get((status, reasons, valid_until))
                if result is None:
                    result = stored[(status, reasons, valid_until)] = _result(
                        status, reasons, valid_until, policy
                    )
                results.append(result)
            judged = overalls[inputs] = (results, _overall(results, today, policy))
        results, overall = judged
        document = _lookup_document(key.text, True, overall)
        document["requirements"] = [
            {
                "type": RequirementType(r.requirement),
                "status": res.status,
                "valid_until": res.valid_until,
            }
            for r, res in zip(live, results, strict=True)
        ]
        out.append(document)
    return out


def _lookup_document(
    siren: str,
    found: bool | None,
    overall: OverallResult | None = None,
    *,
    code: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """`LookupResult` as a dict, in its field order."""
    return {
        "siren": siren,
        "found": found,
        "status": overall.status if overall else None,
        "status_label": STATUS_LABELS_FR[overall.status] if overall else None,
        "non_compliant_on": overall.non_compliant_on if overall else None,
        "reasons": [_reason_document(r) for r in overall.reasons] if overall else [],
        "requirements": [],
        "code": code,
        "detail": detail,
    }


# --- small queries of the CLI and the API -------------------------------------------------------


async def holds_contract(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> bool:
    """Does the supplier hold at least one of this buyer's contracts?"""
    query = supplier_scope(buyer_id).where(ContractHolder.supplier_id == supplier_id).limit(1)
    return (await session.exec(query)).first() is not None


async def status_counts(session: AsyncSession) -> Counter[tuple[str, str]]:
    """(requirement, status) → number of active rows: the sweep's summary."""
    query = select(RequirementState.requirement, RequirementState.status).where(
        col(RequirementState.active)
    )
    return Counter((r, s or "missing") for r, s in (await session.exec(query)).all())


async def failed_checks(session: AsyncSession) -> dict[str, object]:
    """Vigie's own failures (rejected token, missing privilege, unusable answer) on the last
    attempt of active requirements: a platform problem for `/healthz`, never the suppliers'."""
    query = select(func.count()).where(
        col(RequirementState.active), col(RequirementState.alert).is_not(None)
    )
    count = int((await session.exec(query)).one())
    out: dict[str, object] = {"status": "ok" if count == 0 else "warning", "failed_checks": count}
    if count:
        out["detail"] = (
            "Des vérifications échouent du fait de Vigie (jeton, droits ou réponse inexploitable "
            "de la source) : voir les alertes des exigences."
        )
    return out
