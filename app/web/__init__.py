"""The pages, in French, server-rendered (Jinja2), usable without JavaScript, under a strict
Content-Security-Policy: sign-in (`auth.py`), the officers' pages (`officers/`), the security
plumbing (`security.py`, `sessions.py`), the HTML error pages (`errors.py`)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.web import apidocs, auth, errors, general, officers, proconnect
from app.web.officers import reviews
from app.web.portal import router as portal_router
from app.web.security import SecurityHeaders

STATIC = Path(__file__).parent / "static"


def install_pages(app: FastAPI) -> None:
    """Mount the pages, their static files, their headers and their error pages on `app`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(apidocs.router)
    app.include_router(auth.router)
    app.include_router(general.router)
    app.include_router(officers.router)
    app.include_router(reviews.router)  # /revue, a supplier's uploads, Inviter le titulaire
    app.include_router(portal_router)  # /portail: the contractors' portal
    proconnect.install(app)  # with PROCONNECT__* set: the button, the return, the logout
    app.state.page_errors = errors.render_error
    app.add_middleware(SecurityHeaders)
