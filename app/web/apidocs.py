"""`/docs`: the interactive API documentation, served by Vigie itself (Swagger UI vendored under
static/api-docs/, no CDN: it works on a closed network), without inline script."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.templating import env

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def api_docs(request: Request) -> HTMLResponse:
    html = env.get_template("api_docs.html").render(title=request.app.title)
    # Scripts from Vigie only; Swagger UI sets inline styles on its widgets.
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache", "Content-Security-Policy": csp})
