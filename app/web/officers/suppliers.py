"""`/fournisseurs`: the buyer's suppliers with their status (filters, search, sort, pages, CSV);
`/fournisseurs/{siren}`: one supplier's requirements, documents, contracts and timeline, and its
re-check on demand. A supplier that holds none of the buyer's contracts is a 404 page, as is a
SIREN that is not one (or a foreign identifier without its country code)."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.compliance import queries, scheduling
from app.compliance.rules import (
    OVERALL_STATUS_LABELS_FR,
    REQUIREMENT_ARTICLES,
    REQUIREMENT_LABELS_FR,
    OverallStatus,
    RequirementType,
)
from app.deps import ComplianceDep, SessionDep
from app.documents.service import EXTENSIONS, download_document, get_document_for
from app.errors import NotFound, ServiceUnavailable, ValidationFailed
from app.identifiers import SupplierId
from app.suppliers import profile
from app.suppliers import queries as suppliers
from app.uploads.service import supplier_uploads
from app.web.security import verify_csrf
from app.web.sessions import OfficerPage
from app.web.templating import render

router = APIRouter(include_in_schema=False)

SORTS = {
    "nom": suppliers.SupplierSort.NAME,
    "statut": suppliers.SupplierSort.STATUS,
    "verification": suppliers.SupplierSort.NEXT_CHECK,
}
SORT_LABELS = {
    "nom": "Nom",
    "statut": "Statut (le plus grave d'abord)",
    "verification": "Prochaine vérification",
}
RECHECK_NOTICES = {
    "demandee": ("success", "Vérification demandée : elle part dans la file des vérifications."),
    "en_cours": ("info", "Une vérification de ce fournisseur est déjà en cours."),
    "sans_contrat": (
        "warning",
        "Aucun contrat en cours d'exécution avec ce fournisseur : rien à vérifier aujourd'hui.",
    ),
}


def _choice(value: str | None, allowed: Collection[str], what: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValidationFailed(f"{what} « {str(value)[:40]} » inconnu.", code="invalid_choice")
    return value


@dataclass(frozen=True)
class Shown:
    """The filters as the form shows them back (and the links carry them)."""

    statuses: frozenset[str] = frozenset()
    requirement: str | None = None
    search: str = ""
    sort: str = "nom"

    def query(self, **extra: object) -> str:
        """The query string of this view (the pages' links, the CSV)."""
        pairs: list[tuple[str, object]] = [("statut", s) for s in sorted(self.statuses)]
        if self.requirement:
            pairs.append(("exigence", self.requirement))
        if self.search:
            pairs.append(("q", self.search))
        if self.sort != "nom":
            pairs.append(("tri", self.sort))
        pairs += [(k, v) for k, v in extra.items() if v is not None]
        return urlencode(pairs)


def _filters(
    statut: Annotated[list[str] | None, Query()] = None,
    exigence: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    tri: Annotated[str | None, Query(max_length=20)] = None,
) -> tuple[suppliers.SupplierFilters, Shown]:
    """The list's filters from the query string, and what the form shows back."""
    codes = {s.value: s for s in OverallStatus}
    statuses = [_choice(s, codes, "Statut") for s in statut or []]
    requirement = _choice(exigence, {t.value: t for t in RequirementType}, "Exigence")
    sort = _choice(tri, SORTS, "Tri") or "nom"
    search = (q or "").strip() or None
    filters = suppliers.SupplierFilters(
        statuses=frozenset(OverallStatus(s) for s in statuses if s),
        requirement=RequirementType(requirement) if requirement else None,
        search=search,
        sort=SORTS[sort],
    )
    shown = Shown(frozenset(s for s in statuses if s), requirement, search or "", sort)
    return filters, shown


Filters = Annotated[tuple[suppliers.SupplierFilters, Shown], Depends(_filters)]


@router.get("/fournisseurs")
async def supplier_list(
    request: Request,
    viewer: OfficerPage,
    session: SessionDep,
    compliance: ComplianceDep,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    criteria, shown = filters
    assert viewer.buyer is not None
    found = await suppliers.supplier_page(
        session, viewer.buyer.id, criteria, page=page, policy=compliance.policy
    )
    return render(
        request,
        "officers/fournisseurs.html",
        {
            "found": found,
            "shown": shown,
            "query": shown.query(),
            "page_link": lambda n: "/fournisseurs?" + shown.query(page=n),
            "statuses": OVERALL_STATUS_LABELS_FR,
            "requirements": REQUIREMENT_LABELS_FR,
            "sorts": SORT_LABELS,
            "filtered": bool(criteria.statuses or criteria.requirement or criteria.search),
        },
    )


@router.get("/fournisseurs.csv")
async def supplier_list_csv(
    viewer: OfficerPage, session: SessionDep, compliance: ComplianceDep, filters: Filters
) -> Response:
    assert viewer.buyer is not None
    body = await suppliers.suppliers_csv(
        session, viewer.buyer.id, filters[0], policy=compliance.policy
    )
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="fournisseurs.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/fournisseurs/{siren}")
async def supplier_page(
    request: Request,
    siren: SupplierId,
    viewer: OfficerPage,
    session: SessionDep,
    compliance: ComplianceDep,
    verification: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    assert viewer.buyer is not None
    buyer_id = viewer.buyer.id
    supplier = await profile.find_supplier(session, buyer_id, siren)
    status = await queries.supplier_compliance(
        session, supplier, buyer_id=buyer_id, policy=compliance.policy
    )
    ids = {r.document_id for r in status.requirements if r.document_id}
    return render(
        request,
        "officers/fournisseurs_fiche.html",
        {
            "supplier": supplier,
            "key": suppliers.path_key(supplier.siren, supplier.country, supplier.foreign_id),
            "compliance": status,
            "articles": REQUIREMENT_ARTICLES,
            "documents": await profile.documents_by_id(session, buyer_id, ids),
            "extensions": EXTENSIONS,
            "contracts": await profile.held_contracts(session, buyer_id, supplier.id),
            "timeline": await profile.supplier_timeline(session, buyer_id, supplier.id),
            # The contractor's uploads: the section the portal includes (_fournisseur_depots).
            "depots": await supplier_uploads(session, buyer_id, supplier.id),
            "notice": RECHECK_NOTICES.get(verification or ""),
        },
    )


@router.get("/fournisseurs/{siren}/documents/{document_id}")
async def supplier_document(
    request: Request,
    siren: SupplierId,
    document_id: uuid.UUID,
    viewer: OfficerPage,
    session: SessionDep,
    compliance: ComplianceDep,
) -> Response:
    """The archived document, exactly as obtained, for this buyer only (journaled)."""
    assert viewer.buyer is not None
    supplier = await profile.find_supplier(session, viewer.buyer.id, siren)
    doc = await get_document_for(session, viewer.reader, document_id)
    if doc.supplier_id != supplier.id:  # another supplier's address: not here
        raise NotFound(
            "Aucun document à cette adresse parmi les vôtres.", code="document_not_found"
        )
    content = await download_document(
        session,
        compliance.archive,
        viewer.reader,
        doc,
        getattr(request.state, "request_id", None),
    )
    extension = EXTENSIONS.get(doc.media_type, "bin")
    return Response(
        content,
        media_type=doc.media_type,
        headers={
            "X-Content-SHA256": doc.sha256,
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{doc.doc_type}-{doc.id}.{extension}"',
        },
    )


@router.post("/fournisseurs/{siren}/verifier", dependencies=[Depends(verify_csrf)])
async def recheck(
    siren: SupplierId, viewer: OfficerPage, session: SessionDep, compliance: ComplianceDep
) -> Response:
    """`Vérifier maintenant`: the API's re-check (idempotent while one runs), then back."""
    assert viewer.buyer is not None
    supplier = await profile.find_supplier(session, viewer.buyer.id, siren)
    if not await compliance.jobs.ready():
        raise ServiceUnavailable(
            "La file des vérifications est momentanément indisponible : réessayez dans une "
            "minute. Les vérifications prévues ne sont pas perdues.",
            code="queue_unavailable",
            headers={"Retry-After": "60"},
        )
    job_id, running = await scheduling.request_recheck(
        session, compliance, viewer.buyer.id, supplier.id
    )
    outcome = "sans_contrat" if job_id is None else "en_cours" if running else "demandee"
    key = suppliers.path_key(supplier.siren, supplier.country, supplier.foreign_id)
    return RedirectResponse(f"/fournisseurs/{key}?verification={outcome}", status_code=303)
