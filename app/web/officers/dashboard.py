"""`/`: the buyer's dashboard."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.sessions import OfficerPage
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def dashboard(request: Request, viewer: OfficerPage) -> Response:
    return render(request, "officers/tableau_de_bord.html", {"title": "Tableau de bord"})
