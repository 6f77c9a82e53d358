"""What the API does with the archive: scoped reads, journaled downloads, the compliance dossier."""

import hashlib
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.models import ComplianceRequest
from app.contracts.models import Contract, ContractHolder
from app.documents.archive import (
    KIND_DOSSIER,
    KIND_DOWNLOADED,
    Archive,
    document_facts,
    read_content,
    subject_of,
)
from app.documents.crypto import DecryptionFailed, KeyringError
from app.documents.journal import append_journal, entries_for, get_head
from app.documents.models import Document, JournalEntryPublic
from app.documents.storage import BlobNotFound
from app.errors import AppError, NotFound
from app.keys.models import Role
from app.suppliers.models import Supplier
from app.suppliers.service import supplier_by_key, supplier_scope

EXTENSIONS = {"application/pdf": "pdf", "application/json": "json", "application/xml": "xml"}


class ArchiveIntegrityError(AppError):
    status_code = 500
    code = "archive_integrity_error"
    title = "Intégrité de l'archive compromise"


def _not_found() -> NotFound:
    return NotFound("Aucun document à cette adresse parmi les vôtres.", code="document_not_found")


class Reader(Protocol):
    """Who reads the archive: an API key (`ApiKey`), or a signed-in person (`PageReader`)."""

    @property
    def role(self) -> str: ...
    @property
    def buyer_id(self) -> uuid.UUID | None: ...
    @property
    def supplier_id(self) -> uuid.UUID | None: ...
    @property
    def prefix(self) -> str: ...


@dataclass(frozen=True)
class PageReader:
    """A person signed in to the pages, reading as an officer of a buyer or as a contractor.
    `prefix` names them in the journal (`user:<id>`), where an API key puts its prefix."""

    role: str
    buyer_id: uuid.UUID | None
    supplier_id: uuid.UUID | None
    prefix: str


def can_read(caller: Reader, doc: Document) -> bool:
    """Officers and ERPs of the buyer it was obtained for, and the contractor it concerns."""
    if caller.role in {Role.OFFICER, Role.ERP}:
        return caller.buyer_id is not None and doc.buyer_id == caller.buyer_id
    if caller.role == Role.CONTRACTOR:
        return caller.supplier_id is not None and doc.supplier_id == caller.supplier_id
    return False


async def get_document_for(session: AsyncSession, caller: Reader, doc_id: uuid.UUID) -> Document:
    doc = await session.get(Document, doc_id)
    if doc is None or not can_read(caller, doc):
        raise _not_found()  # same answer whether it exists or not: no probing other tenants
    return doc


async def list_supplier_documents(
    session: AsyncSession, caller: Reader, siren: str, *, after: uuid.UUID | None, limit: int
) -> list[Document]:
    supplier = (await session.exec(supplier_by_key(siren))).first()
    query = select(Document).where(Document.supplier_id == (supplier.id if supplier else None))
    if supplier is None:
        visible = False
    elif caller.role in {Role.OFFICER, Role.ERP} and caller.buyer_id is not None:
        query = query.where(Document.buyer_id == caller.buyer_id)
        scope = supplier_scope(caller.buyer_id).where(ContractHolder.supplier_id == supplier.id)
        visible = (await session.exec(scope.limit(1))).first() is not None
        visible = visible or (await session.exec(query.limit(1))).first() is not None
    elif caller.role == Role.CONTRACTOR:
        visible = caller.supplier_id == supplier.id
    else:
        visible = False
    if not visible:
        raise NotFound(
            f"Aucun fournisseur « {siren} » parmi les vôtres.", code="supplier_not_found"
        )
    if after is not None:
        query = query.where(Document.id > after)
    return list((await session.exec(query.order_by(col(Document.id)).limit(limit))).all())


async def open_document(archive: Archive, doc: Document) -> bytes:
    try:
        content = await read_content(archive, doc)
    except (BlobNotFound, DecryptionFailed, KeyringError) as exc:
        raise ArchiveIntegrityError(
            "Le document archivé est introuvable ou altéré ; lancez `vigie archive verify`.",
        ) from exc
    if hashlib.sha256(content).hexdigest() != doc.sha256:
        raise ArchiveIntegrityError("Le contenu ne correspond plus à son empreinte SHA-256.")
    return content


async def download_document(
    session: AsyncSession, archive: Archive, caller: Reader, doc: Document, request_id: str | None
) -> bytes:
    """The original bytes; the download is journaled with the key that made it."""
    content = await open_document(archive, doc)
    await append_journal(
        session,
        KIND_DOWNLOADED,
        subject_of(doc.id),
        {"key_prefix": caller.prefix, "role": caller.role, "request_id": request_id},
    )
    return content


@dataclass
class Dossier:
    filename: str
    content: bytes
    journal_seq: int


def contract_period(contract: Contract, tolerance_days: int, today: date) -> tuple[date, date]:
    """From notification (minus the tolerance) to the end of execution, or today if it runs."""
    return contract.notified_on - timedelta(days=tolerance_days), min(contract.ends_on, today)


async def build_dossier(
    session: AsyncSession,
    archive: Archive,
    caller: Reader,
    contract_id: uuid.UUID,
    *,
    tolerance_days: int,
    request_id: str | None,
) -> Dossier:
    """One ZIP: every document that covered the contract's checks plus a manifest of proofs."""
    contract = await session.get(Contract, contract_id)
    if contract is None or caller.buyer_id is None or contract.buyer_id != caller.buyer_id:
        raise NotFound("Aucun marché à cette adresse parmi les vôtres.", code="contract_not_found")
    holders = (
        await session.exec(
            select(ContractHolder, Supplier)
            .join(Supplier, col(Supplier.id) == ContractHolder.supplier_id)
            .where(ContractHolder.contract_id == contract.id)
        )
    ).all()
    sirens = {s.id: s.siren or f"{s.country}-{s.foreign_id}" for _h, s in holders}
    start, end = contract_period(contract, tolerance_days, utcnow().date())
    docs = (
        await session.exec(
            select(Document)
            .where(
                Document.buyer_id == contract.buyer_id,
                col(Document.supplier_id).in_(list(sirens)),
                Document.obtained_at >= datetime.combine(start, time.min, tzinfo=UTC),
                Document.obtained_at < datetime.combine(end + timedelta(days=1), time.min, UTC),
            )
            .order_by(col(Document.obtained_at))
        )
    ).all()
    journal = await entries_for(session, [subject_of(d.id) for d in docs])
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for entry in journal:
        public = JournalEntryPublic.model_validate(entry).model_dump(mode="json")
        by_subject.setdefault(entry.subject, []).append(public)

    buffer = io.BytesIO()
    items = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for doc in docs:
            ext = EXTENSIONS.get(doc.media_type, "bin")
            name = (
                f"documents/{sirens[doc.supplier_id]}/"
                f"{doc.obtained_at:%Y%m%d}_{doc.doc_type}_{doc.sha256[:12]}.{ext}"
            )
            zf.writestr(name, await open_document(archive, doc))
            items.append(
                {"file": name, **document_facts(doc), "journal": by_subject[subject_of(doc.id)]}
            )
        requests = (
            await session.exec(
                select(ComplianceRequest)
                .where(
                    ComplianceRequest.buyer_id == contract.buyer_id,
                    col(ComplianceRequest.supplier_id).in_(list(sirens)),
                )
                .order_by(col(ComplianceRequest.at))
            )
        ).all()
        head = await get_head(session)
        manifest = {
            "contract": {
                "id": str(contract.id),
                "reference": contract.reference,
                "notified_on": contract.notified_on.isoformat(),
                "ends_on": contract.ends_on.isoformat(),
                "holders": sorted(sirens.values()),
            },
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "generated_at": utcnow().isoformat(),
            "hash_algorithm": "sha256",
            "documents": items,
            # Who asked the contractor for its documents, when and how (the grace periods run
            # from these requests).
            "requests": [
                {
                    "holder": sirens[r.supplier_id],
                    "at": r.at.isoformat(),
                    "channel": r.channel.value,
                    "by": r.by,
                    "note": r.note,
                    "requirements": r.requirements,
                }
                for r in requests
            ],
            "journal_head": head.as_anchor(),
        }
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        zf.writestr("manifest.json", manifest_bytes)
    entry = await append_journal(
        session,
        KIND_DOSSIER,
        f"contract:{contract.id}",
        {
            "documents": [d.sha256 for d in docs],
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "key_prefix": caller.prefix,
            "request_id": request_id,
        },
    )
    filename = "dossier-conformite-" + re.sub(r"[^A-Za-z0-9._-]", "_", contract.reference) + ".zip"
    return Dossier(filename=filename, content=buffer.getvalue(), journal_seq=entry.seq)
