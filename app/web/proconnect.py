"""Sign-in with ProConnect: `/connexion/proconnect` (to the provider), `/connexion/proconnect/retour`
(the return: verified identity → account, access request, or a page that says why not), the
provider's logout after `/deconnexion`.

What the return needs (`state`, `nonce`, the PKCE verifier, where to go next) travels in a
short-lived cookie sealed with a key derived from SECRET_KEY (Fernet: AES-CBC + HMAC, with a
timestamp checked on reading): the browser can neither read nor forge it, and nothing in the
return's query is trusted beyond the `state` it must match.
"""

import base64
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import SessionDep
from app.errors import NotFound
from app.integrations.proconnect import Identity, ProConnectClient, ProConnectError
from app.users.access import Agent, admit_agent
from app.web.auth import safe_next
from app.web.security import (
    content_security_policy,
    cookie_name,
    delete_cookie,
    set_cookie,
    set_pending_cookies,
)
from app.web.sessions import Viewer, sign_in
from app.web.templating import render

log = logging.getLogger("vigie.proconnect")
router = APIRouter(include_in_schema=False)
STATE_COOKIE = "proconnect"
STATE_SECONDS = 600  # from the button to the return: ProConnect's own code lives 30 s
SIGNED_OUT = "/connexion?deconnecte=1"

PROBLEMS = {
    "cancelled": (
        400,
        "La connexion avec ProConnect a été annulée ou refusée par votre fournisseur d'identité.",
    ),
    "expired": (
        400,
        "La connexion a expiré, ou elle n'a pas été commencée depuis ce navigateur. "
        "Recommencez depuis la page de connexion.",
    ),
    "state_mismatch": (
        400,
        "La réponse de ProConnect ne correspond pas à la connexion commencée dans ce "
        "navigateur : elle est refusée. Recommencez depuis la page de connexion.",
    ),
    "unreachable": (
        502,
        "ProConnect ne répond pas pour le moment. Réessayez dans quelques minutes, ou "
        "demandez un lien de connexion par courriel.",
    ),
    "bad_discovery": (502, "La configuration de ProConnect n'a pas pu être lue."),
    "token_refused": (
        502,
        "ProConnect a refusé de confirmer votre connexion. Recommencez depuis la page de "
        "connexion.",
    ),
    "invalid_id_token": (
        403,
        "L'identité transmise par ProConnect n'a pas pu être vérifiée (signature, émetteur, "
        "destinataire, validité ou nonce) : la connexion est refusée.",
    ),
    "invalid_userinfo": (
        403,
        "Les informations transmises par ProConnect n'ont pas pu être vérifiées : la "
        "connexion est refusée.",
    ),
    "missing_claim": (
        403,
        "ProConnect n'a pas transmis votre adresse électronique ou le SIRET de votre "
        "organisation : la connexion est impossible.",
    ),
}

ADMISSION_PAGES = {
    "pending": (200, "Demande d'accès en attente"),
    "refused": (403, "Demande d'accès refusée"),
    "disabled": (403, "Compte désactivé"),
    "unknown_organisation": (403, "Organisation inconnue de Vigie"),
}


# --- the sealed state ------------------------------------------------------------------------


def _fernet(request: Request) -> Fernet:
    secret = request.app.state.settings.secret_key.get_secret_value().encode()
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"vigie:proconnect").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(request: Request, purpose: str, data: dict[str, Any]) -> str:
    payload = json.dumps({"purpose": purpose, **data}, separators=(",", ":"))
    return _fernet(request).encrypt(payload.encode()).decode()


def unseal(request: Request, purpose: str, value: str | None) -> dict[str, Any] | None:
    """The sealed data if it is ours, for `purpose`, and younger than STATE_SECONDS."""
    if not value or len(value) > 4096:
        return None
    try:
        data = json.loads(_fernet(request).decrypt(value.encode(), ttl=STATE_SECONDS))
    except (InvalidToken, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("purpose") == purpose else None


# --- setup -----------------------------------------------------------------------------------


def client_of(request: Request) -> ProConnectClient:
    client: ProConnectClient | None = getattr(request.app.state, "proconnect", None)
    if client is None:
        raise NotFound("ProConnect n'est pas configuré sur cette instance.")
    return client


def install(app: FastAPI) -> None:
    """With PROCONNECT__ISSUER, __CLIENT_ID and __CLIENT_SECRET: the client (closed with the
    app), the button on /connexion, the logout, and a CSP that lets the sign-out form's redirect
    go to the provider (Chrome applies `form-action` to redirects after a POST)."""
    app.include_router(router)
    settings = app.state.settings.proconnect
    if not settings.enabled:
        return
    if app.state.settings.is_production and not str(settings.issuer).startswith("https://"):
        raise ValueError("PROCONNECT__ISSUER must be an https:// URL in production")
    client = ProConnectClient(settings)
    app.state.proconnect = client
    app.state.proconnect_logout = logout
    app.state.content_security_policy = content_security_policy([client.origin])
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            try:
                yield state
            finally:
                current = getattr(application.state, "proconnect", None)
                if current is not None:
                    await current.aclose()

    app.router.lifespan_context = lifespan


def _redirect_uri(request: Request) -> str:
    return f"{request.app.state.settings.public_url}/connexion/proconnect/retour"


def _problem(request: Request, code: str) -> Response:
    status, message = PROBLEMS.get(code, PROBLEMS["token_refused"])
    response = render(
        request, "connexion/proconnect_erreur.html", {"problem": message}, status_code=status
    )
    delete_cookie(request, response, STATE_COOKIE)
    return response


# --- routes ----------------------------------------------------------------------------------


@router.get("/connexion/proconnect")
async def go_to_proconnect(request: Request, suivant: str | None = None) -> Response:
    client = client_of(request)
    try:
        login = await client.begin(_redirect_uri(request))
    except ProConnectError as exc:
        log.warning("ProConnect sign-in not started: %s (%s)", exc.code, exc)
        return _problem(request, exc.code)
    kept = {
        "state": login.state,
        "nonce": login.nonce,
        "verifier": login.code_verifier,
        "next": safe_next(suivant),
    }
    response = RedirectResponse(login.url, status_code=303)
    set_cookie(request, response, STATE_COOKIE, seal(request, "login", kept), max_age=STATE_SECONDS)
    return response


class Refused(Exception):
    """The return cannot sign anyone in; `code` is a key of PROBLEMS."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def _verified(
    request: Request, code: str | None, state: str | None, error: str | None
) -> tuple[Identity, dict[str, Any]]:
    """The identity behind this return, checked against the sign-in this browser started."""
    kept = unseal(request, "login", request.cookies.get(cookie_name(request, STATE_COOKIE)))
    if error:
        log.info("ProConnect answered error=%s", error[:64])
        raise Refused("cancelled")
    if kept is None:
        raise Refused("expired")
    if not state or not hmac.compare_digest(state.encode(), str(kept["state"]).encode()):
        raise Refused("state_mismatch")
    if not code or len(code) > 2048:
        raise Refused("token_refused")
    try:
        identity = await client_of(request).complete(
            code=code,
            redirect_uri=_redirect_uri(request),
            nonce=str(kept["nonce"]),
            code_verifier=str(kept["verifier"]),
        )
    except ProConnectError as exc:
        log.warning("ProConnect sign-in refused: %s (%s)", exc.code, exc)
        raise Refused(exc.code) from None
    if not identity.email or not identity.siret:
        raise Refused("missing_claim")
    return identity, kept


@router.get("/connexion/proconnect/retour")
async def proconnect_return(
    request: Request,
    session: SessionDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    client_of(request)
    try:
        identity, kept = await _verified(request, code, state, error)
    except Refused as refused:
        return _problem(request, refused.code)
    assert identity.email is not None and identity.siret is not None
    agent = Agent(
        issuer=identity.issuer,
        subject=identity.subject,
        email=identity.email,
        name=identity.name,
        siret=identity.siret,
        idp_id=identity.idp_id,
    )
    auto_approve = request.app.state.settings.proconnect.auto_approve
    admission = await admit_agent(session, agent, auto_approve=auto_approve)
    if admission.kind == "signed_in" and admission.user is not None:
        response: Response = RedirectResponse(safe_next(str(kept["next"])), status_code=303)
        await sign_in(
            request,
            response,
            session,
            admission.user,
            method="proconnect",
            id_token=identity.id_token,
            buyer=admission.buyer,
        )
        set_pending_cookies(request, response)
    else:
        status, heading = ADMISSION_PAGES[admission.kind]
        context = {"kind": admission.kind, "heading": heading, "buyer": admission.buyer}
        response = render(
            request,
            "connexion/proconnect_acces.html",
            {**context, "siret": agent.siret},
            status_code=status,
        )
    delete_cookie(request, response, STATE_COOKIE)
    return response


async def logout(request: Request, viewer: Viewer) -> str:
    """Where `/deconnexion` sends a ProConnect session: the provider's end_session endpoint
    (with `id_token_hint`, a sealed `state` and the way back), so its own session ends too."""
    client = client_of(request)
    back = f"{request.app.state.settings.public_url}/connexion/proconnect/deconnecte"
    try:
        url = await client.logout_url(
            id_token=viewer.web_session.id_token,
            state=seal(request, "logout", {}),
            post_logout_redirect_uri=back,
        )
    except ProConnectError as exc:
        log.warning("ProConnect logout skipped: %s (%s)", exc.code, exc)
        return SIGNED_OUT
    return url or SIGNED_OUT


@router.get("/connexion/proconnect/deconnecte")
async def back_from_logout(request: Request, state: str | None = None) -> Response:
    """The provider's way back: the message only when the `state` is the one we sealed."""
    ours = unseal(request, "logout", state) is not None
    return RedirectResponse(SIGNED_OUT if ours else "/connexion", status_code=303)
