"""The officers' side of the portal: `/revue` (uploads waiting for review, oldest first), one
upload's page (what Vigie read and checked, the file, `Accepter` / `Refuser` with a reason), a
supplier's uploads (`/fournisseurs/{siren}/depots`) and `Inviter le titulaire`."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import ComplianceDep, SessionDep
from app.documents.models import Document
from app.documents.service import open_document
from app.errors import AppError, NotFound
from app.identifiers import SupplierId
from app.integrations.mail import Mailer
from app.suppliers.models import Supplier
from app.suppliers.service import get_supplier_for_caller
from app.uploads import service as uploads
from app.uploads.models import Upload, UploadStatus
from app.users.contractors import invitation_mail, invite_contractor
from app.users.service import issue_link, link_url
from app.web.auth import LINK_HEADERS
from app.web.security import verify_csrf
from app.web.sessions import OfficerPage, Viewer
from app.web.templating import render

router = APIRouter(include_in_schema=False)
CsrfChecked = Depends(verify_csrf)
DECIDED = {"accept": "Le document est accepté.", "reject": "Le document est refusé."}


def supplier_key(supplier: Supplier) -> str:
    return supplier.siren or f"{supplier.foreign_id}"


def officer_label(viewer: Viewer) -> str:
    return viewer.user.email


async def depots_for(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> list[Upload]:
    """What the supplier page's section shows (`depots` in its context, when it provides it)."""
    return await uploads.supplier_uploads(session, buyer_id, supplier_id)


@router.get("/revue")
async def review_list(
    request: Request, viewer: OfficerPage, session: SessionDep, fait: str | None = None
) -> Response:
    assert viewer.buyer is not None
    queue = await uploads.review_queue(session, viewer.buyer.id)
    return render(
        request,
        "officers/revue.html",
        {"queue": queue, "notice": DECIDED.get(fait or ""), "key_of": supplier_key},
    )


async def _upload_page(
    request: Request,
    viewer: Viewer,
    session: AsyncSession,
    upload: Upload,
    *,
    error: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    supplier = await session.get(Supplier, upload.supplier_id)
    document = await session.get(Document, upload.document_id)
    assert supplier is not None and document is not None
    return render(
        request,
        "officers/revue_document.html",
        {
            "upload": upload,
            "supplier": supplier,
            "key": supplier_key(supplier),
            "document": document,
            "pending": upload.status == UploadStatus.UNDER_REVIEW,
            "error": error,
            "reason": reason,
            "manual_check": uploads.URSSAF_MANUAL_CHECK,
            # URSSAF's answer on the security code (app/uploads/service.py `code_check`).
            "code_check": next(
                (c for c in upload.checks if c.get("code") == "code_verification"), None
            ),
        },
        status_code=status_code,
    )


@router.get("/revue/{upload_id}")
async def review_page(
    request: Request, upload_id: uuid.UUID, viewer: OfficerPage, session: SessionDep
) -> Response:
    assert viewer.buyer is not None
    upload = await uploads.get_upload(session, upload_id, viewer.buyer.id)
    return await _upload_page(request, viewer, session, upload)


@router.get("/revue/{upload_id}/document")
async def review_document_file(
    request: Request, upload_id: uuid.UUID, viewer: OfficerPage, session: SessionDep
) -> Response:
    """The uploaded file, as archived (decrypted and checked against its hash)."""
    assert viewer.buyer is not None
    upload = await uploads.get_upload(session, upload_id, viewer.buyer.id)
    document = await session.get(Document, upload.document_id)
    if document is None:
        raise NotFound("Document introuvable.")
    content = await open_document(request.app.state.archive, document)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="depot-{upload.requirement}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/revue/{upload_id}", dependencies=[CsrfChecked])
async def review_decision(
    request: Request,
    upload_id: uuid.UUID,
    viewer: OfficerPage,
    session: SessionDep,
    compliance: ComplianceDep,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    issued_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    assert viewer.buyer is not None
    upload = await uploads.get_upload(session, upload_id, viewer.buyer.id)
    try:
        issued = date.fromisoformat(issued_on) if issued_on.strip() else None
    except ValueError:
        return await _upload_page(
            request,
            viewer,
            session,
            upload,
            error="La date d'émission n'est pas une date valide (jj/mm/aaaa).",
            reason=reason,
            status_code=422,
        )
    try:
        await uploads.review_upload(
            session,
            policy=compliance.policy,
            upload=upload,
            decision=decision,
            reason=reason,
            reviewer=officer_label(viewer),
            issued_on=issued,
        )
    except AppError as exc:
        if exc.status_code not in (409, 422):
            raise
        return await _upload_page(
            request,
            viewer,
            session,
            upload,
            error=exc.detail,
            reason=reason,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/revue?fait={decision}", status_code=303)


@router.get("/fournisseurs/{siren}/depots")
async def supplier_uploads_page(
    request: Request, siren: SupplierId, viewer: OfficerPage, session: SessionDep
) -> Response:
    assert viewer.buyer is not None
    supplier = await get_supplier_for_caller(session, siren, buyer_id=viewer.buyer.id)
    return render(
        request,
        "officers/fournisseur_depots.html",
        {
            "supplier": supplier,
            "key": supplier_key(supplier),
            "depots": await depots_for(session, viewer.buyer.id, supplier.id),
        },
    )


@router.post("/fournisseurs/{siren}/inviter", dependencies=[CsrfChecked])
async def invite(
    request: Request,
    siren: SupplierId,
    viewer: OfficerPage,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Invite the supplier's contact: the link is e-mailed (SMTP set) or shown once here."""
    assert viewer.buyer is not None
    settings = request.app.state.settings
    supplier = await get_supplier_for_caller(session, siren, buyer_id=viewer.buyer.id)
    mailer = Mailer(settings.smtp)
    context = {"supplier": supplier, "key": supplier_key(supplier), "email": email}
    try:
        user, _ = await invite_contractor(
            session,
            email=email,
            supplier=supplier,
            buyer=viewer.buyer,
            invited_by=officer_label(viewer),
            mailed=mailer.enabled,
        )
    except AppError as exc:
        if exc.status_code != 422:
            raise
        context |= {"depots": await depots_for(session, viewer.buyer.id, supplier.id)}
        context |= {"invite_error": exc.detail}
        return render(request, "officers/fournisseur_depots.html", context, status_code=422)
    minutes = settings.web.link_minutes
    token = await issue_link(session, user, minutes=minutes)
    url = link_url(settings.public_url, token, portal=True)
    sent = await mailer.send(
        invitation_mail(
            user.email,
            url,
            buyer_name=viewer.buyer.name,
            supplier_name=supplier.name,
            minutes=minutes,
        )
    )
    # Without e-mail, the link is shown once, on this answer only (never in a redirect's URL).
    context |= {"sent": sent, "url": None if sent else url, "minutes": minutes}
    context["email"] = user.email
    return render(request, "officers/invitation.html", context, headers=LINK_HEADERS)
