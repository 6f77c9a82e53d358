"""Uploads: a contractor (or an officer on its behalf) provides a document that no source can
deliver; Vigie checks it before storing anything, archives one copy under each buyer it answers,
and an officer of each buyer accepts or rejects it.

The requirement moves through the compliance engine only: the upload becomes the requirement's
evidence (`uploaded_pending_review`, then `delivered` or `uploaded_rejected`) and `sync_pairs`
recomputes the status, with its status event and journal entry. An upload never makes a supplier
non-compliant by itself: Vigie's own automatic rejection (an attestation too old, say) leaves the
requirement as it was; only an officer's refusal counts (DOMAIN.md: "an uploaded document
rejected"). Evidence that still proves the period (`valid`, `expiring`) and an issuer's refusal
(`refused`) are kept until an officer accepts the new document.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow, uuid7
from app.compliance.evaluation import (
    evidence_from_json,
    evidence_to_json,
    result_from_row,
    today_in_paris,
)
from app.compliance.models import RequirementState
from app.compliance.planner import sync_pairs
from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    RequirementStatus,
    RequirementType,
)
from app.compliance.rules.labels import UPLOAD_GUIDANCE_FR, requirement_label_fr
from app.config import UploadsSettings
from app.contracts.models import Contract, ContractHolder
from app.documents.archive import Archive, archive_document, subject_of
from app.documents.journal import append_journal
from app.errors import Conflict, NotFound, ValidationFailed
from app.events.models import EventType
from app.events.service import record_event, supplier_identity
from app.integrations.urssaf.outcomes import CodeOutcome, CodeVerdict
from app.suppliers.models import Supplier
from app.uploads.checks import MEDIA_TYPE, inspect_pdf, read_document
from app.uploads.models import Upload, UploadStatus

KIND_SUBMITTED = "upload.submitted"
KIND_REVIEWED = "upload.reviewed"
S = RequirementStatus
# What an upload leaves alone until an officer accepts it: evidence that still proves the period,
# and an issuer's refusal (a red flag only the issuer's own document, accepted, may lift).
KEPT = frozenset({S.VALID, S.EXPIRING, S.REFUSED})
# What the portal shows the contractor as requests.
REQUESTED = frozenset(
    {S.MISSING, S.AWAITING_UPLOAD, S.EXPIRING, S.EXPIRED, S.REJECTED, S.UNDER_REVIEW, S.REFUSED}
)
URSSAF_MANUAL_CHECK = (
    "https://www.urssaf.fr/accueil/outils-documentation/outils/verification-attestation.html"
)


class CodeVerifier(Protocol):
    """URSSAF's security-code verification (app/integrations/urssaf); never raises: a failure
    is `CodeOutcome.ERROR`."""

    async def verify(self, code: str, siren: str | None = None) -> CodeVerdict: ...


GUIDANCE_FR: dict[RequirementType, str] = {
    RequirementType.URSSAF_VIGILANCE: (
        "Attestation de vigilance URSSAF de moins de 6 mois, avec son code de sécurité"
    ),
    RequirementType.MSA_VIGILANCE: (
        "Attestation de vigilance MSA de moins de 6 mois, avec son code de sécurité"
    ),
    RequirementType.DGFIP_FISCAL: (
        "Attestation de régularité fiscale de l'année en cours (espace professionnel "
        "impots.gouv.fr)"
    ),
    RequirementType.REGISTRATION: (
        "Extrait K-bis de moins de 3 mois, ou carte d'identification justifiant de "
        "l'inscription au répertoire des métiers"
    ),
}


def guidance_fr(requirement: RequirementType | str) -> str:
    """What to provide, in plain words (the D8222-7/D8222-8 list for a foreign company)."""
    rtype = RequirementType(requirement)
    if rtype in GUIDANCE_FR:
        return GUIDANCE_FR[rtype]
    if rtype in UPLOAD_GUIDANCE_FR:
        text = UPLOAD_GUIDANCE_FR[rtype]
        return text[0].upper() + text[1:]
    label = requirement_label_fr(rtype)
    for article in ("l'", "le ", "la ", "les "):
        if label.startswith(article):
            label = label[len(article) :]
            break
    return f"{label[0].upper()}{label[1:]} en cours de validité"


@dataclass(frozen=True)
class Uploader:
    """Who uploads: a contact signed in to the portal, a contractor key or an officer."""

    label: str  # the contact's e-mail or the key's prefix (journal, history)
    short: str  # at most 16 characters: the archived document's `uploaded_by`
    user_id: uuid.UUID | None = None
    buyer_id: uuid.UUID | None = None  # an officer: its own buyer only
    supplier_id: uuid.UUID | None = None  # a contractor: its own company only
    buyer_ids: frozenset[uuid.UUID] | None = None  # a portal contact: the buyers that invited it


@dataclass
class Copy:
    buyer: Buyer
    state: RequirementState
    upload: Upload | None = None


@dataclass
class Submitted:
    submission_id: uuid.UUID
    requirement: RequirementType
    status: UploadStatus
    reason: str | None
    checks: list[dict[str, Any]]
    extracted: dict[str, Any]
    copies: list[Copy] = field(default_factory=list)
    code_verified: bool | None = None  # None: not verified (not configured, or no answer)

    @property
    def document_id(self) -> uuid.UUID:
        assert self.copies and self.copies[0].upload is not None
        return self.copies[0].upload.document_id


def parse_requirement(value: str | None) -> RequirementType:
    try:
        return RequirementType((value or "").strip())
    except ValueError:
        raise ValidationFailed(
            f"« {str(value)[:40]} » n'est pas un type d'exigence connu "
            f"({', '.join(t.value for t in RequirementType)}).",
            code="invalid_requirement",
        ) from None


async def choose_buyers(
    session: AsyncSession,
    policy: CompliancePolicy,
    supplier: Supplier,
    requirement: RequirementType,
    uploader: Uploader,
    sirets: list[str],
) -> list[Copy]:
    """The buyers this upload answers. Named (`sirets`): each must ask this supplier for this
    requirement. Not named: an officer's own buyer; a contractor's, every buyer waiting for it."""
    # The requirement rows of a contract registered a moment ago may not exist yet (its planning
    # job runs after the commit): plan this supplier's pairs now, as that job would.
    holders = (
        select(Contract.buyer_id)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .where(ContractHolder.supplier_id == supplier.id)
        .distinct()
    )
    if uploader.buyer_id is not None:
        holders = holders.where(Contract.buyer_id == uploader.buyer_id)
    pairs = [(buyer_id, supplier.id) for buyer_id in (await session.exec(holders)).all()]
    if pairs:
        await sync_pairs(session, pairs, policy=policy)
    query = (
        select(RequirementState, Buyer)
        .join(Buyer, col(Buyer.id) == RequirementState.buyer_id)
        .where(
            RequirementState.supplier_id == supplier.id,
            RequirementState.requirement == requirement,
            col(RequirementState.active),
        )
        .order_by(col(Buyer.name))
    )
    if uploader.buyer_id is not None:
        query = query.where(RequirementState.buyer_id == uploader.buyer_id)
    if uploader.buyer_ids is not None:
        query = query.where(col(RequirementState.buyer_id).in_(list(uploader.buyer_ids)))
    rows = [Copy(buyer, state) for state, buyer in (await session.exec(query)).all()]
    wanted = {s.strip() for s in sirets if s.strip()}
    if wanted:
        by_siret = {c.buyer.siret: c for c in rows}
        unknown = sorted(wanted - set(by_siret))
        if unknown:
            raise ValidationFailed(
                f"Aucune demande de {requirement_label_fr(requirement)} de cette entreprise "
                f"pour l'acheteur {', '.join(unknown)}.",
                code="buyer_not_requesting",
            )
        return [by_siret[s] for s in sorted(wanted)]
    if uploader.buyer_id is None:  # a contractor answers every buyer waiting for it
        rows = [c for c in rows if c.state.status != S.VALID]
    if not rows:
        raise ValidationFailed(
            f"Aucun acheteur n'attend {requirement_label_fr(requirement)} de cette entreprise.",
            code="nothing_requested",
        )
    return rows


async def submit_upload(
    session: AsyncSession,
    *,
    archive: Archive,
    policy: CompliancePolicy,
    limits: UploadsSettings,
    supplier: Supplier,
    requirement: str,
    content: bytes,
    uploader: Uploader,
    file_name: str | None = None,
    security_code: str | None = None,
    sirets: list[str] | None = None,
    now: datetime | None = None,
    verifier: CodeVerifier | None = None,
) -> Submitted:
    """Check the file (nothing is stored when it is refused), then archive one copy under each
    buyer it answers and put each requirement under review."""
    now = now or utcnow()
    today = today_in_paris(now)
    if uploader.supplier_id is not None and uploader.supplier_id != supplier.id:
        raise NotFound(
            "Aucun fournisseur à cette adresse parmi les vôtres.", code="supplier_not_found"
        )
    rtype = parse_requirement(requirement)
    # The file first: a refused file writes nothing, not even the planning of `choose_buyers`.
    facts = await inspect_pdf(
        content,
        max_bytes=limits.max_bytes,
        max_pages=limits.max_pages,
        seconds=limits.read_seconds,
    )
    reading = read_document(
        rtype,
        facts.text,
        siren=supplier.siren,
        today=today,
        max_age_months=policy.urssaf_max_age_months,
        security_code=security_code,
    )
    # Before anything is written (the client's own short timeout bounds the wait).
    verdict = None
    urssaf = rtype == RequirementType.URSSAF_VIGILANCE
    if reading.security_code and verifier is not None and urssaf:
        verdict = await verifier.verify(reading.security_code, supplier.siren)
    copies = await choose_buyers(session, policy, supplier, rtype, uploader, sirets or [])
    checks = facts.checks + reading.checks
    code_verified: bool | None = None
    if reading.security_code:
        check, code_verified = code_check(verdict, supplier.siren)
        checks.append(check)
    status = UploadStatus.REJECTED if reading.rejection else UploadStatus.UNDER_REVIEW
    result = Submitted(uuid7(), rtype, status, reading.rejection, checks, reading.extracted)
    result.code_verified = code_verified
    name = _display_name(file_name)
    for copy in copies:
        copy.upload = await _archive_copy(
            session, archive, copy, supplier, rtype, content, reading, result, uploader, name, now
        )
        result.copies.append(copy)
    await sync_pairs(
        session,
        [(c.buyer.id, supplier.id) for c in copies],
        policy=policy,
        now=now,
        why="Document déposé par le titulaire",
    )
    return result


def code_check(
    verdict: CodeVerdict | None, siren: str | None
) -> tuple[dict[str, Any], bool | None]:
    """The check recording URSSAF's answer on the security code, and `Upload.code_verified`.
    Never a rejection by itself: an unknown code or another company's is a strong warning for
    the officer (`ok: False`, `warning: True`); no answer is « code non vérifié » (`ok: None`),
    and the officer checks the code on URSSAF's site (the review page links to it)."""
    base: dict[str, Any] = {"code": "code_verification"}
    if verdict is None or not verdict.answered:
        return {**base, "label": "Code non vérifié", "ok": None}, None
    evidence = {"outcome": verdict.outcome.value, "answer": verdict.answer}
    holder = verdict.siren
    if verdict.outcome == CodeOutcome.UNKNOWN:
        label = "Code inconnu de l'URSSAF : l'attestation est peut-être falsifiée"
        return {**base, "label": label, "ok": False, "warning": True, **evidence}, False
    if siren is not None and holder != siren:
        label = (
            f"Code délivré par l'URSSAF à une autre entreprise (SIREN {holder or 'absent'}) : "
            "l'attestation n'est pas celle du titulaire"
        )
        return {**base, "label": label, "ok": False, "warning": True, **evidence}, False
    if verdict.outcome == CodeOutcome.EXPIRED:
        label = "Code reconnu par l'URSSAF, mais l'attestation est périmée"
        return {**base, "label": label, "ok": False, "warning": True, **evidence}, False
    detail = ", ".join(
        x
        for x in (
            verdict.company_name,
            f"valable jusqu'au {_day_fr(verdict.valid_until)}" if verdict.valid_until else None,
        )
        if x
    )
    check = {**base, "label": "Code vérifié auprès de l'URSSAF", "ok": True, **evidence}
    return ({**check, "detail": detail} if detail else check), True


def _day_fr(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def _display_name(file_name: str | None) -> str | None:
    """Shown in lists only (never a path): the last component, printable, 200 characters."""
    if not file_name:
        return None
    last = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(c for c in last if c.isprintable())
    return printable[:200] or None


async def _archive_copy(
    session: AsyncSession,
    archive: Archive,
    copy: Copy,
    supplier: Supplier,
    rtype: RequirementType,
    content: bytes,
    reading: Any,
    result: Submitted,
    uploader: Uploader,
    file_name: str | None,
    now: datetime,
) -> Upload:
    doc = await archive_document(
        session,
        archive,
        content=content,
        media_type=MEDIA_TYPE,
        doc_type=rtype.value,
        supplier_id=supplier.id,
        buyer_id=copy.buyer.id,
        source_endpoint="upload",
        request_id=None,
        uploaded_by=uploader.short,
        obtained_at=now,
        valid_from=None,
        valid_until=reading.valid_until,
        security_code=reading.security_code,
    )
    pending = (
        await session.exec(
            select(Upload).where(
                Upload.buyer_id == copy.buyer.id,
                Upload.document_id == doc.id,
                Upload.status == UploadStatus.UNDER_REVIEW,
            )
        )
    ).first()
    if pending is not None:  # the same file sent twice: one review
        return pending
    upload = Upload(
        submission_id=result.submission_id,
        buyer_id=copy.buyer.id,
        supplier_id=supplier.id,
        requirement=rtype.value,
        document_id=doc.id,
        status=result.status.value,
        reason=result.reason,
        automatic=result.reason is not None,
        checks=result.checks,
        extracted=result.extracted,
        issued_on=reading.issued_on,
        valid_until=reading.valid_until,
        security_code=reading.security_code,
        code_verified=result.code_verified,
        file_name=file_name,
        uploaded_by=uploader.label,
        user_id=uploader.user_id,
        created_at=now,
    )
    session.add(upload)
    await session.flush()
    facts = {
        "upload_id": str(upload.id),
        "buyer_id": str(copy.buyer.id),
        "supplier_id": str(supplier.id),
        "requirement": rtype.value,
        "uploaded_by": uploader.label,
        "status": upload.status,
        "reason": upload.reason,
        "checks": upload.checks,
    }
    await append_journal(session, KIND_SUBMITTED, subject_of(doc.id), facts)
    state = copy.state
    if upload.status == UploadStatus.UNDER_REVIEW and state.status not in KEPT:
        evidence = Evidence(
            kind=EvidenceKind.UPLOADED_PENDING_REVIEW,
            obtained_on=today_in_paris(now),
            issued_on=reading.issued_on,
            valid_until=reading.valid_until,
            document_id=str(doc.id),
        )
        state.evidence = evidence_to_json(evidence)
        session.add(state)
    await record_event(
        session,
        copy.buyer.id,
        EventType.UPLOAD_SUBMITTED,
        {
            "supplier": supplier_identity(supplier),
            "requirement": rtype.value,
            "document_id": str(doc.id),
            "upload_id": str(upload.id),
            "status": upload.status,
            "reason": upload.reason,
        },
        at=now,
    )
    return upload


# --- review --------------------------------------------------------------------------------


@dataclass
class Reviewed:
    upload: Upload
    state: RequirementState | None


async def upload_of_document(
    session: AsyncSession, document_id: uuid.UUID, *, buyer_id: uuid.UUID | None
) -> Upload:
    """The latest upload of an archived document, seen by its buyer (None: the platform admin)."""
    query = select(Upload).where(Upload.document_id == document_id)
    if buyer_id is not None:
        query = query.where(Upload.buyer_id == buyer_id)
    upload = (await session.exec(query.order_by(col(Upload.created_at).desc()))).first()
    if upload is None:
        raise NotFound(
            "Aucun document déposé à cette adresse parmi les vôtres.", code="upload_not_found"
        )
    return upload


async def get_upload(session: AsyncSession, upload_id: uuid.UUID, buyer_id: uuid.UUID) -> Upload:
    upload = await session.get(Upload, upload_id)
    if upload is None or upload.buyer_id != buyer_id:
        raise NotFound(
            "Aucun document déposé à cette adresse parmi les vôtres.", code="upload_not_found"
        )
    return upload


async def review_upload(
    session: AsyncSession,
    *,
    policy: CompliancePolicy,
    upload: Upload,
    decision: str,
    reason: str | None,
    reviewer: str,
    issued_on: date | None = None,
    now: datetime | None = None,
) -> Reviewed:
    """Accept (the document becomes the requirement's evidence, valid until its validity: six
    months from issue for a vigilance attestation) or reject with a reason (the contractor sees
    it). Journaled; the status change is an event."""
    now = now or utcnow()
    if decision not in ("accept", "reject"):
        raise ValidationFailed("La décision est « accept » ou « reject ».", code="invalid_decision")
    reason = (reason or "").strip()[:1000] or None
    if decision == "reject" and reason is None:
        raise ValidationFailed(
            "Indiquez la raison du refus : le titulaire la verra.", code="reason_required"
        )
    if upload.status != UploadStatus.UNDER_REVIEW:
        raise Conflict(
            "Ce document a déjà été examiné (ou refusé automatiquement).",
            code="already_reviewed",
        )
    if issued_on is not None and issued_on > today_in_paris(now):
        raise ValidationFailed(
            "La date d'émission ne peut pas être dans le futur.", code="invalid_date"
        )
    state = (
        await session.exec(
            select(RequirementState).where(
                RequirementState.buyer_id == upload.buyer_id,
                RequirementState.supplier_id == upload.supplier_id,
                RequirementState.requirement == upload.requirement,
            )
        )
    ).first()
    accepted = decision == "accept"
    upload.status = (UploadStatus.ACCEPTED if accepted else UploadStatus.REJECTED).value
    upload.reason, upload.automatic = reason, False
    upload.reviewed_at, upload.reviewed_by = now, reviewer[:254]
    if accepted and issued_on is not None:
        upload.issued_on = issued_on
    session.add(upload)
    if state is not None:
        _apply_decision(state, upload, accepted, policy, now)
    await session.flush()
    await append_journal(
        session,
        KIND_REVIEWED,
        subject_of(upload.document_id),
        {
            "upload_id": str(upload.id),
            "buyer_id": str(upload.buyer_id),
            "decision": decision,
            "reason": reason,
            "reviewed_by": reviewer,
            "issued_on": upload.issued_on.isoformat() if upload.issued_on else None,
        },
    )
    supplier = await session.get(Supplier, upload.supplier_id)
    await record_event(
        session,
        upload.buyer_id,
        EventType.UPLOAD_REVIEWED,
        {
            "supplier": supplier_identity(supplier),
            "requirement": upload.requirement,
            "document_id": str(upload.document_id),
            "upload_id": str(upload.id),
            "decision": decision,
            "reason": reason,
        },
        at=now,
    )
    what = "accepté" if accepted else "refusé"
    await sync_pairs(
        session,
        [(upload.buyer_id, upload.supplier_id)],
        policy=policy,
        now=now,
        why=f"Document déposé {what} par {reviewer}"[:500],
    )
    return Reviewed(upload, state)


def _apply_decision(
    state: RequirementState,
    upload: Upload,
    accepted: bool,
    policy: CompliancePolicy,
    now: datetime,
) -> None:
    current = evidence_from_json(state.evidence)
    obtained = today_in_paris(upload.created_at)
    if accepted:
        if (
            current is not None
            and current.kind is EvidenceKind.DELIVERED
            and current.obtained_on is not None
            and current.obtained_on > obtained
        ):
            return  # a fresher document is already on file
        state.evidence = evidence_to_json(
            Evidence(
                kind=EvidenceKind.DELIVERED,
                obtained_on=obtained,
                issued_on=upload.issued_on,
                valid_until=upload.valid_until,
                document_id=str(upload.document_id),
            )
        )
        state.document_id = upload.document_id
        # It serves the current due date as a fetched document would (`checks._persist`): no
        # fetch replaces it before the next due date.
        if state.due_on is not None and obtained >= state.due_on - timedelta(
            days=policy.tolerance_days
        ):
            state.served_due_on = state.due_on
    elif (
        current is not None
        and current.kind is EvidenceKind.UPLOADED_PENDING_REVIEW
        and current.document_id == str(upload.document_id)
    ):
        # Only the upload that put the requirement under review turns it to `rejected`.
        state.evidence = evidence_to_json(
            Evidence(
                kind=EvidenceKind.UPLOADED_REJECTED,
                obtained_on=obtained,
                document_id=str(upload.document_id),
            )
        )
    state.updated_at = now


# --- what the pages read --------------------------------------------------------------------


@dataclass
class Request:
    """One requirement a buyer waits for from the supplier (the portal's `Mes demandes`)."""

    buyer: Buyer
    state: RequirementState
    guidance: str
    needed_by: date | None
    rejection: str | None


async def requests_for(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    buyer_ids: list[uuid.UUID],
    *,
    policy: CompliancePolicy,
    today: date,
) -> list[Request]:
    """What each of these buyers waits for from the supplier, buyer by buyer."""
    if not buyer_ids:
        return []
    query = (
        select(RequirementState, Buyer)
        .join(Buyer, col(Buyer.id) == RequirementState.buyer_id)
        .where(
            RequirementState.supplier_id == supplier_id,
            col(RequirementState.buyer_id).in_(buyer_ids),
            col(RequirementState.active),
            col(RequirementState.status).in_(list(REQUESTED)),
        )
        .order_by(col(Buyer.name), col(RequirementState.requirement))
    )
    rows = (await session.exec(query)).all()
    rejected = await _last_rejections(session, supplier_id, buyer_ids)
    out = []
    for state, buyer in rows:
        result = result_from_row(state.status, state.reasons, state.valid_until, policy)
        needed = result.non_compliant_on
        if state.status == S.EXPIRING:
            needed = state.valid_until
        elif needed is None and state.due_on is not None and state.due_on > today:
            needed = state.due_on
        reason = rejected.get((buyer.id, str(state.requirement)))
        out.append(
            Request(
                buyer,
                state,
                guidance_fr(state.requirement),
                needed,
                reason if state.status == S.REJECTED else None,
            )
        )
    return out


async def _last_rejections(
    session: AsyncSession, supplier_id: uuid.UUID, buyer_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], str | None]:
    query = (
        select(Upload)
        .where(
            Upload.supplier_id == supplier_id,
            col(Upload.buyer_id).in_(buyer_ids),
            Upload.status == UploadStatus.REJECTED,
        )
        .order_by(col(Upload.created_at))
    )
    return {(u.buyer_id, u.requirement): u.reason for u in (await session.exec(query)).all()}


async def history_for(
    session: AsyncSession, supplier_id: uuid.UUID, buyer_ids: list[uuid.UUID], limit: int = 200
) -> list[tuple[Upload, Buyer]]:
    """What was sent to these buyers and what each decided, newest first."""
    if not buyer_ids:
        return []
    query = (
        select(Upload, Buyer)
        .join(Buyer, col(Buyer.id) == Upload.buyer_id)
        .where(Upload.supplier_id == supplier_id, col(Upload.buyer_id).in_(buyer_ids))
        .order_by(col(Upload.created_at).desc())
        .limit(limit)
    )
    return [(u, b) for u, b in (await session.exec(query)).all()]


async def submission_copies(
    session: AsyncSession,
    submission_id: uuid.UUID,
    supplier_id: uuid.UUID,
    buyer_ids: list[uuid.UUID],
) -> list[tuple[Upload, Buyer]]:
    query = (
        select(Upload, Buyer)
        .join(Buyer, col(Buyer.id) == Upload.buyer_id)
        .where(
            Upload.submission_id == submission_id,
            Upload.supplier_id == supplier_id,
            col(Upload.buyer_id).in_(buyer_ids),
        )
        .order_by(col(Buyer.name))
    )
    return [(u, b) for u, b in (await session.exec(query)).all()]


async def review_queue(
    session: AsyncSession, buyer_id: uuid.UUID, limit: int = 200
) -> list[tuple[Upload, Supplier]]:
    """The buyer's uploads waiting for review, oldest first."""
    query = (
        select(Upload, Supplier)
        .join(Supplier, col(Supplier.id) == Upload.supplier_id)
        .where(Upload.buyer_id == buyer_id, Upload.status == UploadStatus.UNDER_REVIEW)
        .order_by(col(Upload.created_at))
        .limit(limit)
    )
    return [(u, s) for u, s in (await session.exec(query)).all()]


async def supplier_uploads(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID, limit: int = 100
) -> list[Upload]:
    """The supplier's uploads to this buyer, newest first (the supplier page's section)."""
    query = (
        select(Upload)
        .where(Upload.buyer_id == buyer_id, Upload.supplier_id == supplier_id)
        .order_by(col(Upload.created_at).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def buyers_asking(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    requirement: RequirementType,
    buyer_ids: list[uuid.UUID],
) -> list[tuple[Buyer, RequirementState]]:
    """Which of these buyers ask the supplier for this requirement (the upload form's choices)."""
    if not buyer_ids:
        return []
    query = (
        select(Buyer, RequirementState)
        .join(RequirementState, col(RequirementState.buyer_id) == Buyer.id)
        .where(
            RequirementState.supplier_id == supplier_id,
            RequirementState.requirement == requirement,
            col(RequirementState.active),
            col(Buyer.id).in_(buyer_ids),
        )
        .order_by(col(Buyer.name))
    )
    return [(b, s) for b, s in (await session.exec(query)).all()]
