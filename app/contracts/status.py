"""A contract's overall status, for a page of contracts at once.

The same judgement as `GET /v1/contracts/{id}/compliance` (`compliance.queries.contract_compliance`):
each holder's requirements under this contract, evaluated from the buyer's stored evidence against
this contract's current due date; the holder's status by the rules' `overall_status`; the worst
holder wins (`combine_statuses`). In bulk: one query for the requirement rows of every holder of
the page (the holders come with the page), then pure computation.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.evaluation import evaluate, evidence_from_json, today_in_paris
from app.compliance.models import RequirementState
from app.compliance.planner import requirements_of
from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    OverallResult,
    OverallStatus,
    RequirementResult,
    RequirementType,
    combine_statuses,
    current_due_date,
    next_due_date,
    overall_status,
)
from app.contracts.models import Contract, ContractHolder, SocialRegime
from app.suppliers.models import Supplier

Holders = Mapping[uuid.UUID, Sequence[tuple[ContractHolder, Supplier]]]  # contract id → holders


@dataclass(frozen=True, slots=True)
class Stored:
    """What the rules read of one requirement row, besides the contract's dates."""

    evidence: Evidence | None
    check_failed: bool  # Vigie's own failure on the last check (`alert`): never the supplier's
    requested_on: date | None  # the grace period runs from the first recorded request


States = Mapping[tuple[uuid.UUID, RequirementType], Stored]  # (supplier, requirement) → row


async def states_of_holders(
    session: AsyncSession, buyer_id: uuid.UUID, contract_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, RequirementType], Stored]:
    """The buyer's requirement rows of every holder of these contracts: one query, its
    parameters bounded by the number of contracts (not of holders), only the columns needed."""
    if not contract_ids:
        return {}
    holders = select(ContractHolder.supplier_id).where(
        col(ContractHolder.contract_id).in_(contract_ids)
    )
    table = RequirementState.__table__  # type: ignore[attr-defined]
    query = sa.select(  # Core columns, not ORM rows: a page's worth of rows, only these five
        table.c.supplier_id,
        table.c.requirement,
        table.c.evidence,
        table.c.alert,
        table.c.requested_on,
    ).where(table.c.buyer_id == buyer_id, table.c.supplier_id.in_(holders))
    rows = (await (await session.connection()).execute(query)).all()
    return {
        (supplier_id, RequirementType(requirement)): Stored(
            evidence_from_json(evidence), alert is not None, requested_on
        )
        for supplier_id, requirement, evidence, alert, requested_on in rows
    }


def holder_results(
    contract: Contract,
    supplier: Supplier,
    states: States,
    *,
    today: date,
    policy: CompliancePolicy,
    agricultural: bool = False,
) -> list[tuple[RequirementType, RequirementResult]]:
    """Each requirement of one holder under one contract, judged at this contract's due date
    (`agricultural`: the holder's MSA attestation replaces URSSAF's)."""
    due = current_due_date(contract.notified_on, contract.ends_on, today) or contract.notified_on
    next_due = next_due_date(contract.notified_on, contract.ends_on, due)
    out = []
    for rtype in requirements_of([(contract, supplier, agricultural)], policy):
        stored = states.get((supplier.id, rtype))
        result = evaluate(
            rtype,
            stored.evidence if stored else None,
            due_on=due,
            today=today,
            policy=policy,
            next_due_on=next_due,
            check_failed=stored is not None and stored.check_failed,
            requested_on=stored.requested_on if stored else None,
        )
        out.append((rtype, result))
    return out


def contract_status(
    contract: Contract,
    holders: Iterable[tuple[ContractHolder, Supplier]],
    states: States,
    *,
    today: date,
    policy: CompliancePolicy,
) -> OverallResult:
    """The worst of its holders' statuses (no holder at all: `not_checked`)."""
    per_holder = []
    for holder, supplier in holders:
        msa = holder.social_regime == SocialRegime.MSA
        results = holder_results(
            contract, supplier, states, today=today, policy=policy, agricultural=msa
        )
        per_holder.append(overall_status([r for _, r in results], today=today, policy=policy))
    return combine_statuses(per_holder)


async def contract_statuses(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    contracts: Sequence[Contract],
    holders: Holders,
    *,
    policy: CompliancePolicy,
) -> dict[uuid.UUID, OverallStatus]:
    """Each contract's overall status (contracts of `buyer_id`, with their holders)."""
    today = today_in_paris(utcnow())
    states = await states_of_holders(session, buyer_id, [c.id for c in contracts])
    return {
        c.id: contract_status(c, holders.get(c.id, ()), states, today=today, policy=policy).status
        for c in contracts
    }
