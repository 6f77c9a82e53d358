"""Evidence over HTTP: read-only. Documents are never modified or deleted through the API."""

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import SQLModel

from app.deps import CallerDep, SessionDep, SettingsDep
from app.documents import service
from app.documents.archive import Archive
from app.documents.models import DocumentPublic
from app.identifiers import SupplierId
from app.pagination import Cursor, Limit, next_cursor

router = APIRouter(tags=["documents"])


def get_archive(request: Request) -> Archive:
    """One Archive per process, built on first use (it may create the embedded key file)."""
    archive: Archive | None = getattr(request.app.state, "archive", None)
    if archive is None:
        archive = Archive.from_settings(request.app.state.settings)
        request.app.state.archive = archive
    return archive


ArchiveDep = Annotated[Archive, Depends(get_archive)]


class DocumentPage(SQLModel):
    items: list[DocumentPublic]
    next_cursor: str | None


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.get("/v1/suppliers/{siren}/documents", response_model=DocumentPage)
async def list_supplier_documents(
    siren: SupplierId,
    caller: CallerDep,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DocumentPage:
    """The archived documents of a supplier: those obtained for the caller's buyer, or, for a
    contractor key, every document concerning its own company."""
    rows = await service.list_supplier_documents(
        session, caller, siren, after=cursor, limit=limit + 1
    )
    items = [DocumentPublic.model_validate(d) for d in rows[:limit]]
    return DocumentPage(items=items, next_cursor=next_cursor(rows, limit))


@router.get("/v1/documents/{document_id}", response_model=DocumentPublic)
async def get_document(
    document_id: uuid.UUID, caller: CallerDep, session: SessionDep
) -> DocumentPublic:
    """A document's metadata: type, source (endpoint and request id, or uploading key), dates,
    validity window, SHA-256 of the original bytes."""
    return DocumentPublic.model_validate(
        await service.get_document_for(session, caller, document_id)
    )


@router.get(
    "/v1/documents/{document_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "application/json": {}}}},
)
async def get_document_content(
    document_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    archive: ArchiveDep,
    request: Request,
) -> Response:
    """The original bytes, exactly as archived. `X-Content-SHA256` (hex) and `Repr-Digest`
    (RFC 9530) carry their SHA-256. Every download is recorded in the evidence journal."""
    doc = await service.get_document_for(session, caller, document_id)
    content = await service.download_document(session, archive, caller, doc, _request_id(request))
    digest = base64.b64encode(bytes.fromhex(doc.sha256)).decode()
    return Response(
        content,
        media_type=doc.media_type,
        headers={
            "X-Content-SHA256": doc.sha256,
            "Repr-Digest": f"sha-256=:{digest}:",
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{doc.id}.'
            f'{service.EXTENSIONS.get(doc.media_type, "bin")}"',
        },
    )


@router.get(
    "/v1/contracts/{contract_id}/dossier",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def get_contract_dossier(
    contract_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    archive: ArchiveDep,
    settings: SettingsDep,
    request: Request,
) -> Response:
    """The *dossier de conformité*: one ZIP with every document obtained for the contract's
    holders during its execution, and `manifest.json` listing hashes, sources, dates and the
    journal entries behind each document. The export itself is journaled."""
    dossier = await service.build_dossier(
        session,
        archive,
        caller,
        contract_id,
        tolerance_days=settings.compliance.tolerance_days,
        request_id=_request_id(request),
    )
    return Response(
        dossier.content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{dossier.filename}"',
            "X-Journal-Seq": str(dossier.journal_seq),
            "Cache-Control": "private, no-store",
        },
    )
