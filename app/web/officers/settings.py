"""`/parametres` (the buyer's admins only): the buyer's accounts (invite, disable), its API keys
(create, shown once; revoke) and the pending ProConnect access requests (approve, refuse).
Everything is scoped to the viewer's buyer: another buyer's account, key or request is a 404."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import SessionDep
from app.errors import ValidationFailed
from app.integrations.mail import Mailer
from app.keys.models import Role
from app.users.access import (
    approve_request,
    buyer_keys,
    buyer_users,
    create_buyer_key,
    disable_user,
    enable_user,
    get_buyer_user,
    get_request,
    pending_requests,
    refuse_request,
    revoke_buyer_key,
)
from app.users.models import LOCAL_ISSUER, UserRole
from app.users.service import invite_user, issue_link, link_url, sign_in_mail
from app.web.security import verify_csrf
from app.web.sessions import AdminPage, Viewer
from app.web.templating import render

router = APIRouter(include_in_schema=False)
CsrfChecked = [Depends(verify_csrf)]
PAGE = "parametres/parametres.html"
DONE = {
    "desactive": "Le compte est désactivé ; ses sessions ouvertes sont terminées.",
    "reactive": "Le compte est réactivé : la personne peut de nouveau se connecter.",
    "accepte": "La demande d'accès est acceptée : l'agent peut se connecter avec ProConnect.",
    "refuse": "La demande d'accès est refusée.",
    "revoquee": "La clé d'API est révoquée : elle ne donne plus accès à l'API.",
}
ROLE_LABELS = {"officer": "Agent", "admin": "Administrateur", "erp": "ERP"}


async def _page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    assert viewer.buyer is not None
    buyer_id = viewer.buyer.id
    done = request.query_params.get("fait", "")
    return render(
        request,
        PAGE,
        {
            "users": await buyer_users(session, buyer_id),
            "keys": await buyer_keys(session, buyer_id),
            "requests": await pending_requests(session, buyer_id),
            "done": DONE.get(done),
            "role_labels": ROLE_LABELS,
            "local_issuer": LOCAL_ISSUER,
            "invite": {"email": "", "role": "officer", "error": None},
            "key_form": {"role": "officer", "label": "", "error": None},
            **context,
        },
        status_code=status_code,
    )


def _done(code: str) -> Response:
    return RedirectResponse(f"/parametres?fait={code}", status_code=303)


@router.get("/parametres")
async def settings_page(request: Request, session: SessionDep, viewer: AdminPage) -> Response:
    return await _page(request, session, viewer)


@router.post("/parametres/utilisateurs", dependencies=CsrfChecked)
async def invite(
    request: Request,
    session: SessionDep,
    viewer: AdminPage,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "officer",
) -> Response:
    """Create the account and e-mail it a sign-in link; never show someone else's link."""
    assert viewer.buyer is not None
    form = {"email": email, "role": role, "error": None}
    try:
        if role not in {UserRole.OFFICER, UserRole.ADMIN}:
            raise ValidationFailed("Choisissez le rôle « Agent » ou « Administrateur ».")
        user, created = await invite_user(
            session, email=email, buyer=viewer.buyer, role=UserRole(role)
        )
    except ValidationFailed as exc:
        form["error"] = exc.detail
        return await _page(request, session, viewer, status_code=422, invite=form)
    settings = request.app.state.settings
    mailer = Mailer(settings.smtp)
    sent = False
    if mailer.enabled:
        token = await issue_link(session, user, minutes=settings.web.link_minutes)
        url = link_url(settings.public_url, token)
        mail = sign_in_mail(
            user.email, url, buyer_name=viewer.buyer.name, minutes=settings.web.link_minutes
        )
        sent = await mailer.send(mail)
    return render(
        request,
        "parametres/invitation.html",
        {
            "user": user,
            "created": created,
            "mail_enabled": mailer.enabled,
            "sent": sent,
            "role_labels": ROLE_LABELS,
            "buyer_siret": viewer.buyer.siret,
        },
    )


@router.post("/parametres/utilisateurs/{user_id}/desactiver", dependencies=CsrfChecked)
async def disable(user_id: uuid.UUID, session: SessionDep, viewer: AdminPage) -> Response:
    assert viewer.buyer is not None
    user = await get_buyer_user(session, viewer.buyer.id, user_id)
    await disable_user(session, user, by=viewer.user)
    return _done("desactive")


@router.post("/parametres/utilisateurs/{user_id}/reactiver", dependencies=CsrfChecked)
async def enable(user_id: uuid.UUID, session: SessionDep, viewer: AdminPage) -> Response:
    assert viewer.buyer is not None
    user = await get_buyer_user(session, viewer.buyer.id, user_id)
    await enable_user(session, user, by=viewer.user)
    return _done("reactive")


@router.post("/parametres/cles", dependencies=CsrfChecked)
async def create_key(
    request: Request,
    session: SessionDep,
    viewer: AdminPage,
    role: Annotated[str, Form(max_length=16)] = "",
    label: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The new key is on this page only: it is never stored nor shown again."""
    assert viewer.buyer is not None
    form = {"role": role, "label": label, "error": None}
    try:
        if role not in {Role.OFFICER, Role.ERP}:
            raise ValidationFailed("Choisissez le rôle de la clé : « Agent » ou « ERP ».")
        issued = await create_buyer_key(
            session, viewer.buyer, role=Role(role), label=label, by=viewer.user
        )
    except ValidationFailed as exc:
        form["error"] = exc.detail
        return await _page(request, session, viewer, status_code=422, key_form=form)
    return render(
        request,
        "parametres/cle_creee.html",
        {"key": issued.key, "record": issued.record, "role_labels": ROLE_LABELS},
        headers={"Referrer-Policy": "no-referrer"},
    )


@router.post("/parametres/cles/{prefix}/revoquer", dependencies=CsrfChecked)
async def revoke(prefix: str, session: SessionDep, viewer: AdminPage) -> Response:
    assert viewer.buyer is not None
    await revoke_buyer_key(session, viewer.buyer.id, prefix[:32], by=viewer.user)
    return _done("revoquee")


@router.post("/parametres/demandes/{request_id}/accepter", dependencies=CsrfChecked)
async def approve(
    request_id: uuid.UUID,
    session: SessionDep,
    viewer: AdminPage,
    role: Annotated[str, Form(max_length=16)] = "officer",
) -> Response:
    assert viewer.buyer is not None
    access = await get_request(session, viewer.buyer.id, request_id)
    if role not in {UserRole.OFFICER, UserRole.ADMIN}:
        raise ValidationFailed("Choisissez le rôle « Agent » ou « Administrateur ».")
    await approve_request(session, access, by=viewer.user, role=UserRole(role))
    return _done("accepte")


@router.post("/parametres/demandes/{request_id}/refuser", dependencies=CsrfChecked)
async def refuse(request_id: uuid.UUID, session: SessionDep, viewer: AdminPage) -> Response:
    assert viewer.buyer is not None
    access = await get_request(session, viewer.buyer.id, request_id)
    await refuse_request(session, access, by=viewer.user)
    return _done("refuse")
