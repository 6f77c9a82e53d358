"""Errors on the pages are pages: a 404 page (also for another buyer's object), a 403 page, a
redirect to `/connexion` for a visitor who is not signed in, and a sober 500 page."""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from app.web.security import is_page_path
from app.web.templating import render

TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    409: "Action impossible",
    413: "Fichier trop volumineux",
    422: "Données invalides",
    429: "Trop de tentatives",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}


def handles(request: Request) -> bool:
    """A page's error is a page: on a route of the pages (they are left out of the OpenAPI
    document), or, where no route matched, for a browser (`Accept: text/html`). An API client
    keeps problem+json everywhere else, even outside `/v1`."""
    if not is_page_path(request.url.path):
        return False
    route = request.scope.get("route")
    if route is not None and hasattr(route, "include_in_schema"):
        return route.include_in_schema is False
    return "text/html" in request.headers.get("accept", "")


def render_error(
    request: Request,
    status: int,
    title: str | None,
    detail: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    if status == 401:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.url.path.startswith("/portail"):  # a contractor signs in to the portal
            return RedirectResponse("/portail/connexion", status_code=303)
        suffix = f"?suivant={quote(target, safe='/')}" if target not in {"/", ""} else ""
        return RedirectResponse(f"/connexion{suffix}", status_code=303)
    if status == 404:
        # The same page for what does not exist and what belongs to another buyer.
        detail = "Cette page n'existe pas, ou elle ne vous est pas accessible."
    if status >= 500:
        detail = (
            "Une erreur inattendue s'est produite ; elle a été journalisée. Réessayez dans "
            "un instant."
        )
    page_title = TITLES.get(status, title or "Erreur")
    return render(
        request,
        "erreurs/erreur.html",
        {"status": status, "title": page_title, "detail": detail or title or ""},
        status_code=status,
        headers={k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"},
    )


render_error.handles = handles  # type: ignore[attr-defined]
