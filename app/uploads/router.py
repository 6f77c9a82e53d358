"""REST: a document uploaded for a supplier (contractor keys for their company, officer keys on
behalf of their buyer), and an officer's review of it."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from app.buyers.models import Buyer
from app.deps import ComplianceDep, SessionDep, SettingsDep, require_roles
from app.errors import ValidationFailed
from app.identifiers import SupplierId
from app.keys.models import ApiKey, Role
from app.suppliers.service import get_supplier_for_caller
from app.uploads import service
from app.uploads.checks import too_large

router = APIRouter(tags=["uploads"])

UploadCaller = Annotated[ApiKey, Depends(require_roles(Role.OFFICER, Role.CONTRACTOR))]
ReviewCaller = Annotated[ApiKey, Depends(require_roles(Role.OFFICER, Role.ADMIN))]
# Room for the form's other fields and the multipart boundaries around the file.
FORM_OVERHEAD = 64 * 1024


async def read_capped_body(request: Request, max_bytes: int) -> None:
    """Read the body at most `max_bytes` (+ the form's overhead) deep, refusing with 413 as soon
    as it grows past it (a declared `Content-Length` above it is refused before reading). The
    body is kept on the request, where `request.form()` parses it."""
    limit = max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(max_bytes)
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's own cache: stream() and form() read it


async def read_upload_form(request: Request, max_bytes: int) -> FormData:
    await read_capped_body(request, max_bytes)
    try:
        return await request.form(max_files=1, max_fields=40)
    except MultiPartException as exc:
        raise ValidationFailed(
            f"Formulaire multipart illisible : {exc.message}", code="invalid_form"
        ) from None


async def file_of(form: FormData, max_bytes: int) -> tuple[bytes, str | None]:
    """The `file` part's bytes and its name (shown only: never used as a path)."""
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise ValidationFailed(
            "Joignez le document dans le champ « file » (multipart/form-data).",
            code="missing_file",
        )
    content = await part.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise too_large(max_bytes)
    return content, part.filename


def text_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


class UploadCopyPublic(BaseModel):
    buyer_siret: str
    upload_id: uuid.UUID
    document_id: uuid.UUID
    requirement_status: str | None  # the requirement's status for this buyer, after the upload


class UploadAnswer(BaseModel):
    document_id: uuid.UUID
    submission_id: uuid.UUID
    requirement: str
    status: Literal["under_review", "rejected"]
    reason: str | None = None  # the automatic reason of a rejection
    checks: list[dict[str, Any]]
    extracted: dict[str, Any]
    buyers: list[UploadCopyPublic]


def answer_of(result: service.Submitted) -> UploadAnswer:
    return UploadAnswer(
        document_id=result.document_id,
        submission_id=result.submission_id,
        requirement=result.requirement.value,
        status="rejected" if result.status == service.UploadStatus.REJECTED else "under_review",
        reason=result.reason,
        checks=result.checks,
        extracted=result.extracted,
        buyers=[
            UploadCopyPublic(
                buyer_siret=c.buyer.siret,
                upload_id=c.upload.id,
                document_id=c.upload.document_id,
                requirement_status=c.state.status,
            )
            for c in result.copies
            if c.upload is not None
        ],
    )


MULTIPART_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "requirement"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "requirement": {"type": "string", "example": "urssaf_vigilance"},
                        "security_code": {"type": "string"},
                        "buyers": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
}


@router.post(
    "/v1/suppliers/{siren}/uploads",
    status_code=201,
    response_model=UploadAnswer,
    openapi_extra=MULTIPART_SCHEMA,
)
async def upload_document(
    siren: SupplierId,
    caller: UploadCaller,
    request: Request,
    session: SessionDep,
    compliance: ComplianceDep,
    settings: SettingsDep,
) -> UploadAnswer:
    """Upload a PDF for one requirement of a supplier (`multipart/form-data`: `file`,
    `requirement`, optional `security_code`, optional `buyers` SIRETs, repeated).

    Checked before anything is stored (413 `file_too_large`, 422 `empty_file`, 415
    `unsupported_media_type`, 422 `invalid_pdf`, `encrypted_pdf`, `active_content`,
    `identity_mismatch`). Without `buyers`, a contractor's upload answers every buyer waiting for
    that requirement from its company; an officer's, its own buyer. `status` is `under_review`,
    or `rejected` with Vigie's automatic reason (an attestation too old: the requirement is left
    as it was)."""
    limits = settings.uploads
    supplier = await get_supplier_for_caller(
        session, siren, buyer_id=caller.buyer_id, supplier_id=caller.supplier_id
    )
    form = await read_upload_form(request, limits.max_bytes)
    content, file_name = await file_of(form, limits.max_bytes)
    sirets = [v for v in form.getlist("buyers") if isinstance(v, str)]
    sirets = [s for v in sirets for s in v.replace(";", ",").split(",")]
    uploader = service.Uploader(
        label=f"key:{caller.prefix}",
        short=caller.prefix[:16],
        buyer_id=caller.buyer_id,
        supplier_id=caller.supplier_id,
    )
    result = await service.submit_upload(
        session,
        archive=request.app.state.archive,
        policy=compliance.policy,
        limits=limits,
        supplier=supplier,
        requirement=text_field(form, "requirement") or "",
        content=content,
        uploader=uploader,
        file_name=file_name,
        security_code=text_field(form, "security_code"),
        sirets=sirets,
        verifier=request.app.state.runtime.urssaf,
    )
    return answer_of(result)


class ReviewIn(BaseModel):
    decision: Literal["accept", "reject"]
    reason: str | None = Field(default=None, max_length=1000)
    # The issue date read on the document, when Vigie could not read it (URSSAF: six months).
    issued_on: date | None = None


class ReviewOut(BaseModel):
    document_id: uuid.UUID
    upload_id: uuid.UUID
    decision: str
    requirement: str
    buyer_siret: str
    status: str | None  # the requirement's new status
    valid_until: date | None


@router.post("/v1/documents/{document_id}/review", response_model=ReviewOut)
async def review_document(
    document_id: uuid.UUID,
    body: ReviewIn,
    caller: ReviewCaller,
    session: SessionDep,
    compliance: ComplianceDep,
) -> ReviewOut:
    """Accept or reject an uploaded document waiting for review (`reason` required to reject;
    the contractor sees it). Accepting makes the requirement `valid` until the document's
    validity; rejecting makes it `rejected`. 409 `already_reviewed` when it was decided before."""
    upload = await service.upload_of_document(session, document_id, buyer_id=caller.buyer_id)
    reviewed = await service.review_upload(
        session,
        policy=compliance.policy,
        upload=upload,
        decision=body.decision,
        reason=body.reason,
        reviewer=f"key:{caller.prefix}",
        issued_on=body.issued_on,
    )
    buyer = await session.get(Buyer, upload.buyer_id)
    state = reviewed.state
    return ReviewOut(
        document_id=upload.document_id,
        upload_id=upload.id,
        decision=body.decision,
        requirement=upload.requirement,
        buyer_siret=buyer.siret if buyer else "",
        status=state.status if state else None,
        valid_until=state.valid_until if state else None,
    )
