"""A region's worth of data, fast: one buyer, N suppliers held by contracts of 50 holders, and
their requirement rows with statuses computed by the rules (SQLAlchemy Core bulk inserts, no ORM
object per row). Shared by bench/reads.py, bench/recompute.py and the read-path equivalence
test (tests/perf/), so the benchmarks and the test read the same shapes of data.

Profiles (deterministic for a seed): about 4 % of suppliers fully in order, 8 % with an expired
URSSAF attestation, 6 % asked for their documents (grace period running), 2 % with a check that
failed on Vigie's side (alert), 1 % foreign companies, the rest never checked yet.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.buyers.models import Buyer
from app.common import uuid7
from app.compliance.evaluation import (
    evaluate,
    evidence_to_json,
    reason_to_json,
    start_of,
    status_due_on,
    status_next_due_on,
    today_in_paris,
)
from app.compliance.models import RequirementState, RunState
from app.compliance.planner import requirements_of
from app.compliance.rules import CompliancePolicy, Evidence, EvidenceKind, RequirementType
from app.contracts.models import Contract, ContractHolder, SocialRegime
from app.suppliers.models import Supplier

HOLDERS_PER_CONTRACT = 50
_BATCH = 5000


def luhn(prefix: str) -> str:
    """Complete `prefix` with the digit that makes a valid SIREN/SIRET (Luhn)."""
    for digit in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(prefix + digit)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return prefix + digit
    raise AssertionError(prefix)


@dataclass
class Seeded:
    buyer_id: uuid.UUID
    sirens: list[str]  # French suppliers, in seeding order
    foreign: list[str] = field(default_factory=list)  # "DE:…" keys of the foreign ones
    contract_ids: list[uuid.UUID] = field(default_factory=list)
    states: int = 0


def _evidence(profile: str, rtype: RequirementType, today: date) -> tuple[Evidence | None, bool]:
    """The evidence a profile holds for one requirement, and whether its last check failed."""
    if profile == "valid" or (profile == "expired" and rtype != RequirementType.URSSAF_VIGILANCE):
        return Evidence(
            kind=EvidenceKind.DELIVERED,
            obtained_on=today - timedelta(days=3),
            issued_on=today - timedelta(days=3),
            valid_from=today - timedelta(days=3),
            valid_until=today + timedelta(days=150),
            reference="bench-call",
        ), False
    if profile == "expired":
        return Evidence(
            kind=EvidenceKind.DELIVERED,
            obtained_on=today - timedelta(days=20),
            issued_on=today - timedelta(days=100),
            valid_from=today - timedelta(days=100),
            valid_until=today - timedelta(days=10),
            reference="bench-call",
        ), False
    if profile == "alert":
        return None, True
    return None, False


def _profile(rng: random.Random) -> str:
    x = rng.random()
    if x < 0.04:
        return "valid"
    if x < 0.12:
        return "expired"
    if x < 0.18:
        return "requested"
    if x < 0.20:
        return "alert"
    return "unchecked"


async def seed_region(
    engine: AsyncEngine,
    policy: CompliancePolicy,
    *,
    suppliers: int = 10_000,
    seed: int = 42,
    with_states: bool = True,
    foreign_every: int = 100,
) -> Seeded:
    """Insert the buyer, suppliers, contracts, holders and (with_states) requirement rows."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = today_in_paris(now)
    buyer_id = uuid7()
    sirens: set[str] = set()
    while len(sirens) < suppliers:
        sirens.add(luhn(f"{rng.randrange(1, 10)}{rng.randrange(10**7):07d}"))
    ordered = sorted(sirens)
    supplier_rows: list[dict[str, Any]] = []
    seeded = Seeded(buyer_id, [])
    for i, siren in enumerate(ordered):
        if foreign_every and i % foreign_every == foreign_every - 1:
            national = f"HRB{100000 + i}"
            supplier_rows.append(
                dict(id=uuid7(), siren=None, foreign_id=national, country="DE", name=f"GmbH {i}")
            )
            seeded.foreign.append(f"DE:{national}")
        else:
            name = f"=Société {i}" if i % 997 == 0 else f"Société {i}"  # a formula-like name
            supplier_rows.append(
                dict(id=uuid7(), siren=siren, foreign_id=None, country=None, name=name)
            )
            seeded.sirens.append(siren)
    for row in supplier_rows:
        row["created_at"] = now
    contract_rows: list[dict[str, Any]] = []
    holder_rows: list[dict[str, Any]] = []
    for i, supplier in enumerate(supplier_rows):
        if i % HOLDERS_PER_CONTRACT == 0:
            contract_rows.append(
                dict(
                    id=uuid7(),
                    buyer_id=buyer_id,
                    reference=f"BENCH-{i // HOLDERS_PER_CONTRACT:04d}",
                    object="Marché de benchmark",
                    amount_ht=Decimal(50000),
                    notified_on=today - timedelta(days=5),
                    ends_on=today + timedelta(days=700),
                    duration_months=None,
                    cpv_code=None,
                    extra_requirements=[],
                    foreign_workers=False,
                    content_hash=uuid.uuid4().hex,
                    created_at=now,
                    updated_at=now,
                )
            )
        regime = SocialRegime.MSA if supplier["siren"] and i % 250 == 7 else SocialRegime.GENERAL
        holder_rows.append(
            dict(
                contract_id=contract_rows[-1]["id"],
                supplier_id=supplier["id"],
                siret=None,
                social_regime=regime,
            )
        )
    seeded.contract_ids = [c["id"] for c in contract_rows]
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Buyer.__table__),  # type: ignore[attr-defined]
            [
                dict(
                    id=buyer_id,
                    siret=luhn("2175000160" + f"{seed % 1000:03d}"),
                    name="Bench",
                    created_at=now,
                )
            ],
        )
        for table, rows in (
            (Supplier.__table__, supplier_rows),  # type: ignore[attr-defined]
            (Contract.__table__, contract_rows),  # type: ignore[attr-defined]
            (ContractHolder.__table__, holder_rows),  # type: ignore[attr-defined]
        ):
            for first in range(0, len(rows), _BATCH):
                await conn.execute(sa.insert(table), rows[first : first + _BATCH])
    if not with_states:
        return seeded
    contracts_by_id = {c["id"]: Contract(**c) for c in contract_rows}
    suppliers_by_id = {s["id"]: Supplier(**s) for s in supplier_rows}
    states: list[dict[str, Any]] = []
    for holder in holder_rows:
        contract = contracts_by_id[holder["contract_id"]]
        supplier = suppliers_by_id[holder["supplier_id"]]
        profile = _profile(rng)
        msa = holder["social_regime"] == SocialRegime.MSA
        for rtype, live in requirements_of([(contract, supplier, msa)], policy).items():
            evidence, failed = _evidence(profile, rtype, today)
            requested_on = today - timedelta(days=4) if profile == "requested" else None
            due_on = status_due_on(live, today)
            result = evaluate(
                rtype,
                evidence,
                due_on=due_on,
                today=today,
                policy=policy,
                next_due_on=status_next_due_on(live, due_on),
                check_failed=failed,
                requested_on=requested_on,
            )
            states.append(
                dict(
                    id=uuid7(),
                    buyer_id=buyer_id,
                    supplier_id=supplier.id,
                    requirement=rtype,
                    active=True,
                    status=result.status,
                    reasons=[reason_to_json(r) for r in result.reasons],
                    valid_until=result.valid_until,
                    document_id=None,
                    evidence=evidence_to_json(evidence) if evidence else None,
                    alert="Jeton refusé par la source (bench)." if failed else None,
                    evaluated_on=today,
                    due_on=due_on,
                    served_due_on=due_on if evidence else None,
                    next_due_at=start_of(due_on + timedelta(days=180)),
                    retry_at=None,
                    last_checked_at=now - timedelta(days=3) if evidence or failed else None,
                    run_state=RunState.IDLE,
                    lease_until=None,
                    attempts=0,
                    requested_on=requested_on,
                    updated_at=now,
                )
            )
    table = RequirementState.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        for first in range(0, len(states), _BATCH):
            await conn.execute(sa.insert(table), states[first : first + _BATCH])
    seeded.states = len(states)
    return seeded


async def analyze(engine: AsyncEngine) -> None:
    """Fresh tables have no statistics: without them PostgreSQL may sort instead of using an
    index (the gaps query did). What `vigie` does after a large import."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in ("suppliers", "contracts", "contract_holders", "requirement_states"):
            await conn.execute(sa.text(f"ANALYZE {name}"))
