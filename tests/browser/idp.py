"""The OpenID Connect provider of the page tests (tests/web/oidc_provider.py, shaped like
ProConnect, keys generated locally) served over HTTP for the browser, in a process of its own
(its issuer and Vigie's return address are module constants there: set here, never in the test
process). `POST /test/user` (JSON) says who signs in next.

    python -m tests.browser.idp PORT VIGIE_BASE_URL
"""

import sys

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.web import oidc_provider


def main() -> None:
    port, vigie = int(sys.argv[1]), sys.argv[2].rstrip("/")
    oidc_provider.ISSUER = f"http://127.0.0.1:{port}/api/v2"
    oidc_provider.REDIRECT_URI = f"{vigie}/connexion/proconnect/retour"
    provider = oidc_provider.OidcProvider()

    async def next_user(request: Request) -> Response:
        provider.user.update(await request.json())
        return JSONResponse(provider.user)

    provider.app.router.routes.append(Route("/test/user", next_user, methods=["POST"]))
    uvicorn.run(provider.app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
