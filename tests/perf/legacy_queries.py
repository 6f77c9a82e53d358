"""The compliance read side: a supplier's status, a contract's, the gaps (by pages or as a
streamed CSV), the bulk lookup before a payment run, and small queries for the CLI."""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

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
    CompliancePolicy,
    OverallResult,
    OverallStatus,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    combine_statuses,
    overall_status,
    status_label_fr,
)
from app.compliance.rules.labels import requirement_label_fr
from app.compliance.schemas import (
    ContractCompliance,
    Gap,
    LookupRequirement,
    LookupResult,
    ReasonPublic,
    RequirementPublic,
    SupplierCompliance,
    SupplierRef,
)
from app.contracts.models import Contract, ContractHolder, SocialRegime
from app.contracts.status import Stored, holder_results
from app.identifiers import SupplierKey, parse_supplier_key
from app.suppliers.models import Supplier
from app.suppliers.service import supplier_scope


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
    query = select(RequirementState, Buyer.siret).join(
        Buyer, col(Buyer.id) == RequirementState.buyer_id
    )
    query = query.where(RequirementState.supplier_id == supplier.id)
    if buyer_id is not None:
        query = query.where(RequirementState.buyer_id == buyer_id)
    rows = list((await session.exec(query.order_by(col(RequirementState.id)))).all())
    live = [(r, s) for r, s in rows if r.active] or rows  # ended contracts: their history
    live.sort(key=lambda pair: (pair[1], _TYPE_ORDER.get(pair[0].requirement, 99)))
    today = today_in_paris(utcnow())
    by_buyer: dict[uuid.UUID, list[RequirementResult]] = defaultdict(list)
    requirements = []
    for row, siret in live:
        result = result_from_row(row.status, row.reasons, row.valid_until, policy)
        by_buyer[row.buyer_id].append(result)
        requirements.append(requirement_public(row, result, siret if buyer_id is None else None))
    overall = combine_statuses(_overall(rs, today, policy) for rs in by_buyer.values())
    return SupplierCompliance(
        supplier=supplier_ref(supplier),
        status=overall.status,
        status_label=status_label_fr(overall.status),
        non_compliant_on=overall.non_compliant_on,
        reasons=_reasons(overall.reasons),
        requirements=requirements,
    )


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


async def list_gaps(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: GapFilters,
    *,
    after: uuid.UUID | None,
    limit: int,
) -> list[tuple[RequirementState, Supplier]]:
    """Active requirements that are not `valid` (or in `statuses`), oldest row first."""
    statuses, requirement, due_within = filters.statuses, filters.requirement, filters.due_within
    query = (
        select(RequirementState, Supplier)
        .join(Supplier, col(Supplier.id) == RequirementState.supplier_id)
        .where(RequirementState.buyer_id == buyer_id, col(RequirementState.active))
    )
    if statuses:
        query = query.where(col(RequirementState.status).in_(statuses))
    else:
        query = query.where(
            or_(
                col(RequirementState.status).is_(None),
                col(RequirementState.status) != RequirementStatus.VALID,
            )
        )
    if requirement:
        query = query.where(RequirementState.requirement == requirement)
    if due_within is not None:
        now = utcnow()
        horizon = today_in_paris(now) + timedelta(days=due_within)
        query = query.where(
            or_(
                col(RequirementState.valid_until) <= horizon,
                col(RequirementState.next_due_at) <= now + timedelta(days=due_within),
            )
        )
    if after is not None:
        query = query.where(col(RequirementState.id) > after)
    query = query.order_by(col(RequirementState.id)).limit(limit)
    return [(r, s) for r, s in (await session.exec(query)).all()]


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
    base = (
        select(RequirementState, Supplier.siren, Supplier.country, Supplier.foreign_id)
        .join(Supplier, col(Supplier.id) == RequirementState.supplier_id)
        .where(RequirementState.buyer_id == buyer_id)
    )
    rows: dict[str, list[RequirementState]] = defaultdict(list)
    queries = []
    if french:
        queries.append(base.where(col(Supplier.siren).in_(french)))
    if foreign:
        queries.append(
            base.where(tuple_(Supplier.country, Supplier.foreign_id).in_(sorted(foreign)))
        )
    for query in queries:
        for row, siren, country, foreign_id in (await session.exec(query)).all():
            if siren:
                rows[siren].append(row)
            else:
                rows[f"{country}:{foreign_id}"].append(row)

    def found_rows(key: SupplierKey) -> list[RequirementState]:
        if key.siren:
            return rows.get(key.siren, [])
        return rows.get(f"{key.country}:{key.text}") or rows.get(
            f"{key.country}:{key.national_id}", []
        )

    today = today_in_paris(utcnow())
    out = []
    for sent in sirens:
        if sent in refused:
            out.append(
                LookupResult(
                    siren=sent,
                    found=None,
                    status=None,
                    reasons=[],
                    requirements=[],
                    code="invalid_identifier",
                    detail=refused[sent],
                )
            )
            continue
        key = valid[sent]
        siren = key.text
        found = found_rows(key)
        if not found:
            out.append(
                LookupResult(siren=siren, found=False, status=None, reasons=[], requirements=[])
            )
            continue
        live = [r for r in found if r.active] or found
        results = [result_from_row(r.status, r.reasons, r.valid_until, policy) for r in live]
        overall = _overall(results, today, policy)
        out.append(
            LookupResult(
                siren=siren,
                found=True,
                status=overall.status,
                status_label=status_label_fr(overall.status),
                non_compliant_on=overall.non_compliant_on,
                reasons=_reasons(overall.reasons),
                requirements=[
                    LookupRequirement(
                        type=RequirementType(r.requirement),
                        status=res.status,
                        valid_until=res.valid_until,
                    )
                    for r, res in zip(live, results, strict=True)
                ],
            )
        )
    return out


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
