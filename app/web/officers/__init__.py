"""The procurement officers' pages (tableau de bord, fournisseurs, contrats, écarts, paramètres)."""

from fastapi import APIRouter

from app.web.officers import contracts, dashboard, gaps, settings, suppliers

router = APIRouter(include_in_schema=False)
router.include_router(dashboard.router)
router.include_router(contracts.router)
router.include_router(suppliers.router)
router.include_router(gaps.router)
router.include_router(settings.router)
