"""The procurement officers' pages (tableau de bord, fournisseurs, contrats, écarts, paramètres)."""

from fastapi import APIRouter

from app.web.officers import dashboard

router = APIRouter(include_in_schema=False)
router.include_router(dashboard.router)
