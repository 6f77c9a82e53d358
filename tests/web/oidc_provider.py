"""A small OpenID Connect provider run inside the tests, shaped like ProConnect: discovery, JWKS,
authorize (consents at once), token (client_secret_post, PKCE S256 checked), userinfo as a
signed JWT (`application/jwt`) or JSON, end_session. Keys are generated locally.

Reached through `provider.transport` (httpx.ASGITransport), passed to Vigie's client as its
`transport=`; the browser's hop to `/authorize` goes through `provider.browse(url)`.
Misbehaviours for the refusal tests: `id_token_claims` / `userinfo_claims` overrides, `signer`
(another key under the same key id), `userinfo_format`.
"""

import secrets
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ISSUER = "https://idp.example/api/v2"
CLIENT_ID = "vigie-client"
CLIENT_SECRET = "secret-du-client-vigie"
REDIRECT_URI = "http://testserver/connexion/proconnect/retour"


def rsa_key(kid: str = "k1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@lru_cache(maxsize=1)
def provider_key() -> RSAKey:
    """The provider's own key, made once per test session (RSA generation is slow)."""
    return rsa_key()


class OidcProvider:
    def __init__(self, key: RSAKey | None = None) -> None:
        self.key = key or provider_key()
        self.signer: RSAKey | None = None  # sign with this instead (a forged signature)
        self.hs256 = False  # sign with a shared secret instead (never accepted by Vigie)
        self.jwks_fetches = 0
        self.user: dict[str, Any] = {
            "sub": "agent-sub-0001",
            "email": "Camille.Martin@ville.example",
            "given_name": "Camille",
            "usual_name": "Martin",
            "siret": "00000000000000",
            "idp_id": "idp-ville",
            "uid": "cmartin",
        }
        self.id_token_claims: dict[str, Any] = {}
        self.userinfo_claims: dict[str, Any] = {}
        self.userinfo_format = "jwt"  # or "json"
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, str] = {}
        self.token_forms: list[dict[str, str]] = []
        self.logouts: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/api/v2/.well-known/openid-configuration", self.discovery),
                Route("/api/v2/jwks", self.jwks),
                Route("/api/v2/authorize", self.authorize),
                Route("/api/v2/token", self.token, methods=["POST"]),
                Route("/api/v2/userinfo", self.userinfo),
                Route("/api/v2/session/end", self.end_session),
            ]
        )

    @property
    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    async def browse(self, url: str) -> httpx.Response:
        """The browser's visit to the provider (it consents at once and redirects back)."""
        async with httpx.AsyncClient(transport=self.transport) as browser:
            return await browser.get(url)

    def _sign(self, claims: dict[str, Any]) -> str:
        if self.hs256:
            return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET * 2))
        signer = self.signer or self.key
        header = {"alg": "RS256", "kid": self.key.kid or "k1"}
        return jwt.encode(header, claims, signer)

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "userinfo_endpoint": f"{ISSUER}/userinfo",
                "jwks_uri": f"{ISSUER}/jwks",
                "end_session_endpoint": f"{ISSUER}/session/end",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "userinfo_signing_alg_values_supported": ["RS256", "ES256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        problems = []
        if q.get("client_id") != CLIENT_ID:
            problems.append("client_id")
        if q.get("redirect_uri") != REDIRECT_URI:
            problems.append("redirect_uri")
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            problems.append("response_type/pkce")
        if len(q.get("state", "")) < 32 or len(q.get("nonce", "")) < 32:
            problems.append("state/nonce shorter than 32")  # ProConnect's minimum
        if "openid" not in q.get("scope", "").split():
            problems.append("scope")
        if problems:
            return JSONResponse({"error": "invalid_request", "problems": problems}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": q["nonce"],
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
        }
        back = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
        return RedirectResponse(back, status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_forms.append(form)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = self.codes.pop(form.get("code", ""), None)  # single use
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, 400)
        if create_s256_code_challenge(form.get("code_verifier", "")) != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self.user["sub"],
            "aud": CLIENT_ID,
            "exp": now + 60,
            "iat": now,
            "nonce": grant["nonce"],
            "idp_id": self.user.get("idp_id"),
            "acr": "eidas1",
            "amr": ["pwd"],
            **self.id_token_claims,
        }
        access = secrets.token_urlsafe(16)
        self.access_tokens[access] = self.user["sub"]
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 60,
                "id_token": self._sign(claims),
            }
        )

    async def userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return JSONResponse({"error": "invalid_token"}, 401)
        claims = {**self.user, **self.userinfo_claims}
        if self.userinfo_format == "json":
            return JSONResponse(claims)
        signed = {"iss": ISSUER, "aud": CLIENT_ID, "iat": int(time.time()), **claims}
        return Response(self._sign(signed), media_type="application/jwt")

    async def end_session(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.logouts.append(q)
        back = f"{q['post_logout_redirect_uri']}?{urlencode({'state': q.get('state', '')})}"
        return RedirectResponse(back, status_code=302)
