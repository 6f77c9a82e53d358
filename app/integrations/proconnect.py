"""ProConnect (the State's OpenID Connect federation for professionals), or any OpenID Connect
provider: discovery, the authorization URL (PKCE S256, `state`, `nonce`), the code exchange,
the id_token and the userinfo verified against the provider's JWKS, the logout URL.

ProConnect's specifics (research/web-ux-auth.md §3): the userinfo answer is a signed JWT
(`application/jwt`), verified with the same keys as the id_token (plain JSON is accepted for
other providers); `state` and `nonce` are at least 32 characters; logout is a browser redirect
to `end_session_endpoint` with `id_token_hint`. JOSE is joserfc's (Authlib's), never ours.

One long-lived `httpx.AsyncClient` (opened on first use), explicit timeouts, `transport=` as
the test seam. The discovery document and the JWKS are cached an hour; a key id not in the
cached set fetches the JWKS again once (the provider rotated its keys).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from app.config import ProConnectSettings

# Only signatures by the provider's published keys: never `none`, never a shared secret.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
CACHE_SECONDS = 3600
LEEWAY_SECONDS = 60  # clock skew between the provider and us
MAX_ANSWER_BYTES = 512 * 1024


class ProConnectError(Exception):
    """The sign-in cannot go on. `code`: unreachable, bad_discovery, token_refused,
    invalid_id_token, invalid_userinfo, missing_claim. The message is for the log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Provider:
    """What the discovery document says (OpenID Connect Discovery 1.0 §3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    id_token_algorithms: list[str]
    userinfo_algorithms: list[str]
    token_auth_methods: list[str]


@dataclass(frozen=True)
class LoginRequest:
    """Where to send the browser, and what must be kept (server-side or sealed) for the return."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """A verified agent: the id_token's and the userinfo's claims."""

    issuer: str
    subject: str
    email: str | None
    given_name: str | None
    usual_name: str | None
    siret: str | None
    idp_id: str | None
    id_token: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        parts = [p for p in (self.given_name, self.usual_name) if p]
        return " ".join(parts) or None


def _strings(value: object, default: list[str]) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return default


class ProConnectClient:
    def __init__(
        self,
        settings: ProConnectSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.enabled:
            raise ValueError("ProConnect needs an issuer, a client id and a client secret")
        assert settings.issuer and settings.client_id and settings.client_secret
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self.client_id = settings.client_id
        self._secret = settings.client_secret
        self._transport = transport
        self._clock = clock
        self._http: httpx.AsyncClient | None = None
        self._provider: tuple[float, Provider] | None = None
        self._keys: tuple[float, KeySet] | None = None

    @property
    def origin(self) -> str:
        """The provider's origin (the pages' CSP lets forms lead there: logout after a POST)."""
        parts = httpx.URL(self.issuer)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.host}{port}"

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            timeout = httpx.Timeout(self.settings.timeout_seconds, connect=5.0)
            self._http = httpx.AsyncClient(
                timeout=timeout, transport=self._transport, follow_redirects=False
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = await self._client().request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ProConnectError("unreachable", f"{method} {url}: {type(exc).__name__}") from None
        if len(answer.content) > MAX_ANSWER_BYTES:
            raise ProConnectError("unreachable", f"{method} {url}: answer too large")
        return answer

    async def _json(self, url: str, code: str) -> dict[str, Any]:
        answer = await self._call("GET", url)
        if answer.status_code != 200:
            raise ProConnectError(code, f"GET {url}: HTTP {answer.status_code}")
        try:
            body = answer.json()
        except ValueError:
            raise ProConnectError(code, f"GET {url}: not JSON") from None
        if not isinstance(body, dict):
            raise ProConnectError(code, f"GET {url}: not a JSON object")
        return body

    # --- discovery and keys ------------------------------------------------------------------

    async def provider(self) -> Provider:
        now = self._clock()
        if self._provider is not None and now - self._provider[0] < CACHE_SECONDS:
            return self._provider[1]
        url = f"{self.issuer}/.well-known/openid-configuration"
        doc = await self._json(url, "bad_discovery")
        # Discovery §4.3: the document's issuer is exactly the one configured.
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProConnectError("bad_discovery", f"issuer {doc.get('issuer')!r} is not ours")
        try:
            provider = Provider(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                userinfo_endpoint=str(doc["userinfo_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                end_session_endpoint=doc.get("end_session_endpoint"),
                id_token_algorithms=_strings(
                    doc.get("id_token_signing_alg_values_supported"), ["RS256"]
                ),
                userinfo_algorithms=_strings(doc.get("userinfo_signing_alg_values_supported"), []),
                token_auth_methods=_strings(
                    doc.get("token_endpoint_auth_methods_supported"), ["client_secret_basic"]
                ),
            )
        except KeyError as exc:
            raise ProConnectError("bad_discovery", f"discovery lacks {exc}") from None
        self._provider = (now, provider)
        return provider

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        now = self._clock()
        if not refresh and self._keys is not None and now - self._keys[0] < CACHE_SECONDS:
            return self._keys[1]
        provider = await self.provider()
        doc = await self._json(provider.jwks_uri, "bad_discovery")
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProConnectError("bad_discovery", f"JWKS unreadable: {exc}") from None
        self._keys = (now, keys)
        return keys

    async def _verify(self, token: str, algorithms: list[str], code: str) -> jwt.Token:
        """The JWT's signature by one of the provider's keys (fetched again once when its key
        id is unknown: a rotation)."""
        allowed = [a for a in algorithms if a in ASYMMETRIC] or ["RS256"]
        for refresh in (False, True):
            keys = await self._key_set(refresh=refresh)
            try:
                return jwt.decode(token, keys, algorithms=allowed)
            except InvalidKeyIdError as exc:  # a key id not in the set: fetch it again once
                if refresh:
                    raise ProConnectError(code, f"signature: {exc.error}") from None
            except (JoseError, ValueError) as exc:
                raise ProConnectError(code, f"signature: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # --- the flow ----------------------------------------------------------------------------

    async def begin(self, redirect_uri: str) -> LoginRequest:
        """The authorization URL, with fresh `state`, `nonce` (≥ 32 characters, ProConnect's
        minimum) and PKCE verifier (RFC 7636, S256)."""
        provider = await self.provider()
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if self.settings.acr_values:
            params["acr_values"] = self.settings.acr_values
        separator = "&" if "?" in provider.authorization_endpoint else "?"
        url = f"{provider.authorization_endpoint}{separator}{urlencode(params)}"
        return LoginRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def complete(
        self, *, code: str, redirect_uri: str, nonce: str, code_verifier: str
    ) -> Identity:
        """Exchange the code, verify the id_token (signature, iss, aud, azp, exp, iat, nonce),
        fetch the userinfo (a signed JWT, or JSON) and check it is the same person."""
        provider = await self.provider()
        tokens = await self._exchange(provider, code, redirect_uri, code_verifier)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise ProConnectError("token_refused", "no id_token or access_token in the answer")
        claims = await self._id_token_claims(provider, id_token, nonce)
        userinfo = await self._userinfo(provider, access_token)
        if userinfo.get("sub") != claims["sub"]:
            # OpenID Connect Core §5.3.2: a userinfo about someone else is a substitution.
            raise ProConnectError("invalid_userinfo", "userinfo sub differs from the id_token's")
        merged = {**claims, **userinfo}

        def text(name: str) -> str | None:
            value = merged.get(name)
            return str(value).strip() if isinstance(value, str | int) and str(value) else None

        return Identity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=(text("email") or "").lower() or None,
            given_name=text("given_name"),
            usual_name=text("usual_name") or text("family_name"),
            siret=text("siret"),
            idp_id=text("idp_id"),
            id_token=id_token,
            claims=merged,
        )

    async def _exchange(
        self, provider: Provider, code: str, redirect_uri: str, code_verifier: str
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        secret = self._secret.get_secret_value()
        auth: tuple[str, str] | None = None
        if "client_secret_post" in provider.token_auth_methods:  # ProConnect's
            form |= {"client_id": self.client_id, "client_secret": secret}
        else:
            auth = (self.client_id, secret)
        answer = await self._call(
            "POST",
            provider.token_endpoint,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
        )
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise ProConnectError(
                "token_refused", f"token endpoint: HTTP {answer.status_code} {error or ''}".strip()
            )
        return body

    async def _id_token_claims(
        self, provider: Provider, id_token: str, nonce: str
    ) -> dict[str, Any]:
        token = await self._verify(id_token, provider.id_token_algorithms, "invalid_id_token")
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(token.claims)
        except JoseError as exc:
            raise ProConnectError("invalid_id_token", f"claims: {exc.error} {exc}") from None
        audience = token.claims["aud"]
        # Core §3.1.3.7: with several audiences, the authorized party must be us.
        several = isinstance(audience, list) and len(audience) > 1
        if several and token.claims.get("azp") != self.client_id:
            raise ProConnectError("invalid_id_token", "several audiences, azp is not ours")
        return dict(token.claims)

    async def _userinfo(self, provider: Provider, access_token: str) -> dict[str, Any]:
        answer = await self._call(
            "GET",
            provider.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/jwt"},
        )
        if answer.status_code != 200:
            raise ProConnectError("invalid_userinfo", f"userinfo: HTTP {answer.status_code}")
        kind = answer.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind == "application/jwt":
            algorithms = provider.userinfo_algorithms or provider.id_token_algorithms
            token = await self._verify(answer.text.strip(), algorithms, "invalid_userinfo")
            checks: dict[str, ClaimsOption] = {"sub": {"essential": True}}
            if "aud" in token.claims:  # Core §5.3.2: SHOULD be there when signed
                checks["aud"] = {"essential": True, "value": self.client_id}
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock()),
                leeway=LEEWAY_SECONDS,
                iss={"value": provider.issuer},
                **checks,
            )
            try:
                registry.validate(token.claims)
            except JoseError as exc:
                raise ProConnectError("invalid_userinfo", f"claims: {exc.error}") from None
            return dict(token.claims)
        if kind == "application/json":
            try:
                body = answer.json()
            except ValueError:
                raise ProConnectError("invalid_userinfo", "userinfo: not JSON") from None
            if isinstance(body, dict) and isinstance(body.get("sub"), str):
                return body
        raise ProConnectError("invalid_userinfo", f"userinfo: unexpected answer ({kind})")

    async def logout_url(
        self, *, id_token: str | None, state: str, post_logout_redirect_uri: str
    ) -> str | None:
        """RP-initiated logout: the URL the browser is sent to (None: the provider has none)."""
        provider = await self.provider()
        if not provider.end_session_endpoint:
            return None
        params = {"state": state, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            params = {"id_token_hint": id_token, **params}
        separator = "&" if "?" in provider.end_session_endpoint else "?"
        return f"{provider.end_session_endpoint}{separator}{urlencode(params)}"
