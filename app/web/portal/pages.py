"""The portal's pages for a signed-in contact: `Mes demandes` (each inviting buyer's requests,
what to provide in plain words, the date it is needed), one upload form per requirement (file
once, answer everyone: the contact ticks the buyers that receive it), the confirmation, the
history of what was sent and what each buyer decided."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.evaluation import today_in_paris
from app.compliance.rules import RequirementType
from app.deps import ComplianceDep, SessionDep
from app.errors import AppError, NotFound
from app.suppliers.models import Supplier
from app.uploads import service as uploads
from app.uploads.checks import ATTESTATION_TYPES
from app.uploads.router import file_of, read_upload_form
from app.users.contractors import inviting_buyers
from app.users.models import UserRole
from app.web.security import verify_csrf
from app.web.sessions import MaybeViewer, SignInRequired, Viewer
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Contractor:
    viewer: Viewer
    supplier: Supplier
    buyers: list[Buyer]

    @property
    def buyer_ids(self) -> list[uuid.UUID]:
        return [b.id for b in self.buyers]

    @property
    def uploader(self) -> uploads.Uploader:
        user = self.viewer.user
        return uploads.Uploader(
            label=user.email,
            short=f"u-{user.id.hex[:12]}",
            user_id=user.id,
            supplier_id=self.supplier.id,
            buyer_ids=frozenset(self.buyer_ids),
        )


async def require_contractor(viewer: MaybeViewer, session: SessionDep) -> Contractor:
    if viewer is None:
        raise SignInRequired("Connectez-vous au portail des titulaires.")
    supplier_id = viewer.web_session.supplier_id
    if viewer.user.role != UserRole.CONTRACTOR or supplier_id is None:
        raise NotFound("Cette page n'existe pas.")
    supplier = await session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound("Cette page n'existe pas.")
    return Contractor(viewer, supplier, await inviting_buyers(session, viewer.user.id))


ContractorPage = Annotated[Contractor, Depends(require_contractor)]


@router.get("/portail")
async def requests_page(
    request: Request, me: ContractorPage, session: SessionDep, compliance: ComplianceDep
) -> Response:
    today = today_in_paris(utcnow())
    found = await uploads.requests_for(
        session, me.supplier.id, me.buyer_ids, policy=compliance.policy, today=today
    )
    by_buyer = {b.id: (b, [r for r in found if r.buyer.id == b.id]) for b in me.buyers}
    return render(
        request,
        "portail/demandes.html",
        {"supplier": me.supplier, "groups": list(by_buyer.values()), "today": today},
    )


def _requirement(value: str) -> RequirementType:
    try:
        return RequirementType(value)
    except ValueError:
        raise NotFound("Cette page n'existe pas.") from None


async def _form(
    request: Request,
    me: Contractor,
    session: SessionDep,
    rtype: RequirementType,
    *,
    error: str | None = None,
    ticked: set[str] | None = None,
    status_code: int = 200,
) -> Response:
    choices = await uploads.buyers_asking(session, me.supplier.id, rtype, me.buyer_ids)
    if not choices:
        raise NotFound("Cette page n'existe pas.")
    if ticked is None:  # by default, every buyer still waiting for it
        ticked = {b.siret for b, state in choices if state.status != "valid"}
    return render(
        request,
        "portail/deposer.html",
        {
            "supplier": me.supplier,
            "requirement": rtype,
            "guidance": uploads.guidance_fr(rtype),
            "choices": choices,
            "ticked": ticked,
            "error": error,
            "with_code": rtype in ATTESTATION_TYPES,
            "max_mb": request.app.state.settings.uploads.max_bytes / 1_000_000,
        },
        status_code=status_code,
    )


@router.get("/portail/deposer/{requirement}")
async def upload_form(
    request: Request, requirement: str, me: ContractorPage, session: SessionDep
) -> Response:
    return await _form(request, me, session, _requirement(requirement))


@router.post("/portail/deposer/{requirement}")
async def upload(
    request: Request,
    requirement: str,
    me: ContractorPage,
    session: SessionDep,
    compliance: ComplianceDep,
) -> Response:
    """The body is read under the upload cap before anything else (a 413 comes back as the
    form's error); the CSRF check follows, then the file's checks."""
    rtype = _requirement(requirement)
    limits = request.app.state.settings.uploads
    try:
        form = await read_upload_form(request, limits.max_bytes)
    except AppError as exc:
        if exc.status_code >= 500:
            raise
        return await _form(
            request, me, session, rtype, error=exc.detail, status_code=exc.status_code
        )
    await verify_csrf(request)
    ticked = {v for v in form.getlist("buyers") if isinstance(v, str) and v}
    if not ticked:
        return await _form(
            request,
            me,
            session,
            rtype,
            error="Cochez au moins un acheteur qui recevra ce document.",
            ticked=ticked,
            status_code=422,
        )
    code = form.get("security_code")
    try:
        content, file_name = await file_of(form, limits.max_bytes)
        result = await uploads.submit_upload(
            session,
            archive=request.app.state.archive,
            policy=compliance.policy,
            limits=limits,
            supplier=me.supplier,
            requirement=rtype.value,
            content=content,
            uploader=me.uploader,
            file_name=file_name,
            security_code=code if isinstance(code, str) else None,
            sirets=sorted(ticked),
            verifier=request.app.state.runtime.urssaf,
        )
    except AppError as exc:
        if exc.status_code >= 500:
            raise
        return await _form(
            request,
            me,
            session,
            rtype,
            error=exc.detail,
            ticked=ticked,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/portail/depots/{result.submission_id}", status_code=303)


@router.get("/portail/depots/{submission_id}")
async def submission_page(
    request: Request, submission_id: uuid.UUID, me: ContractorPage, session: SessionDep
) -> Response:
    copies = await uploads.submission_copies(session, submission_id, me.supplier.id, me.buyer_ids)
    if not copies:
        raise NotFound("Cette page n'existe pas.")
    return render(
        request,
        "portail/depot.html",
        {"supplier": me.supplier, "copies": copies, "first": copies[0][0]},
    )


@router.get("/portail/historique")
async def history_page(request: Request, me: ContractorPage, session: SessionDep) -> Response:
    history = await uploads.history_for(session, me.supplier.id, me.buyer_ids)
    return render(request, "portail/historique.html", {"supplier": me.supplier, "history": history})
