"""Seeding for the upload tests: a buyer's contract with a supplier, its requirement rows made
by the engine (`sync_pairs`, no fetch), and the sources' answer that a document cannot be
delivered (URSSAF out of perimeter) set as evidence, so the requirement waits for an upload."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.evaluation import evidence_to_json, today_in_paris
from app.compliance.models import RequirementState
from app.compliance.planner import sync_pairs
from app.compliance.rules import CompliancePolicy, Evidence, EvidenceKind, RequirementType
from app.contracts.models import ContractCreate
from app.contracts.service import create_contract
from app.db import SessionMaker, unit_of_work
from app.documents.models import Document, JournalEntry
from app.suppliers.models import Supplier
from app.uploads.models import Upload
from tests.factories import contract_payload

TODAY = today_in_paris(utcnow())
URSSAF = RequirementType.URSSAF_VIGILANCE


async def seed_supplier(
    sessionmaker: SessionMaker,
    buyer: Buyer,
    siren: str,
    policy: CompliancePolicy,
    *,
    unavailable: tuple[RequirementType, ...] = (URSSAF,),
    delivered: tuple[RequirementType, ...] = (),
) -> Supplier:
    """`buyer` holds a live contract with `siren`; the sources could not deliver `unavailable`
    (the requirement waits for an upload) and delivered `delivered` today."""
    async with unit_of_work(sessionmaker) as session:
        data = ContractCreate.model_validate(
            contract_payload(holders=[{"siren": siren, "name": "Dupont Bâtiment"}])
        )
        await create_contract(session, buyer.id, data, threshold=Decimal("5000"), policy=policy)
        supplier = (await session.exec(select(Supplier).where(Supplier.siren == siren))).one()
        await sync_pairs(session, [(buyer.id, supplier.id)], policy=policy)
        rows = (
            await session.exec(
                select(RequirementState).where(
                    RequirementState.buyer_id == buyer.id,
                    RequirementState.supplier_id == supplier.id,
                )
            )
        ).all()
        for row in rows:
            if row.requirement in unavailable:
                evidence = Evidence(kind=EvidenceKind.UNAVAILABLE, obtained_on=TODAY)
            elif row.requirement in delivered:
                evidence = Evidence(
                    kind=EvidenceKind.DELIVERED,
                    obtained_on=TODAY,
                    issued_on=TODAY - timedelta(days=3),
                    valid_until=TODAY + timedelta(days=170),
                )
            else:
                continue
            row.evidence = evidence_to_json(evidence)
            row.served_due_on = row.due_on
            session.add(row)
        await sync_pairs(session, [(buyer.id, supplier.id)], policy=policy)
        return supplier


async def state_of(
    sessionmaker: SessionMaker,
    buyer_id: uuid.UUID,
    supplier_id: uuid.UUID,
    requirement: RequirementType = URSSAF,
) -> RequirementState:
    async with unit_of_work(sessionmaker) as session:
        row = (
            await session.exec(
                select(RequirementState).where(
                    RequirementState.buyer_id == buyer_id,
                    RequirementState.supplier_id == supplier_id,
                    RequirementState.requirement == requirement,
                )
            )
        ).one()
        return row


@dataclass(frozen=True)
class Stored:
    documents: int
    uploads: int
    journal: int
    blobs: int


async def stored(sessionmaker: SessionMaker, archive_dir: Path) -> Stored:
    """What the database and the archive hold (a refused file must change none of it)."""
    async with unit_of_work(sessionmaker) as session:
        counts = [
            int((await session.exec(select(func.count()).select_from(table))).one())
            for table in (Document, Upload, JournalEntry)
        ]
    return Stored(counts[0], counts[1], counts[2], _count_files(archive_dir))


def _count_files(directory: Path) -> int:
    return sum(1 for p in directory.rglob("*") if p.is_file()) if directory.exists() else 0
