"""Pages anyone may read: the accessibility statement and the legal notice."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.sessions import MaybeViewer
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/accessibilite")
async def accessibility(request: Request, viewer: MaybeViewer) -> Response:
    return render(request, "general/accessibilite.html")


@router.get("/mentions-legales")
async def legal_notice(request: Request, viewer: MaybeViewer) -> Response:
    return render(request, "general/mentions_legales.html")
