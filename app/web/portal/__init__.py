"""The contractor portal (`/portail`, in French): sign-in by link (`connexion.py`), the requests
of every buyer that invited the contact, one upload form per request, the confirmation, the
history (`pages.py`). A contractor's session sees one supplier, nothing of the buyers' other
suppliers, contracts or amounts."""

from fastapi import APIRouter

from app.web.portal import connexion, pages

router = APIRouter(include_in_schema=False)
router.include_router(connexion.router)
router.include_router(pages.router)
