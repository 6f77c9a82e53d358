"""Signing in to the portal: `/portail/lien/{token}` (a confirmation page; only its POST spends
the link) and `/portail/connexion` (ask for a new link: the same answer whether the address is
known or not, rate-limited per address and per network like the officers' sign-in)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import SessionDep
from app.errors import NotFound
from app.integrations.mail import Mailer
from app.suppliers.models import Supplier
from app.uploads.reminders import opt_out, user_of_token
from app.users.contractors import contractor_accounts, portal_sign_in_mail
from app.users.models import UserRole
from app.users.service import LINK_PROBLEMS, inspect_link, issue_link, link_url
from app.users.service import use_link as spend_link
from app.web.auth import LINK_HEADERS, SENT, admit_link_request
from app.web.security import set_pending_cookies, verify_csrf
from app.web.sessions import MaybeViewer, sign_in
from app.web.templating import render

router = APIRouter(include_in_schema=False)
CsrfChecked = Depends(verify_csrf)


def _invalid(request: Request, problem: str | None) -> Response:
    return render(
        request,
        "portail/lien_invalide.html",
        {"problem": LINK_PROBLEMS[problem or "unknown"]},
        status_code=410 if problem in {"used", "expired"} else 404,
        headers=LINK_HEADERS,
    )


@router.get("/portail/connexion")
async def portal_sign_in_page(request: Request, viewer: MaybeViewer) -> Response:
    if viewer is not None and viewer.user.role == UserRole.CONTRACTOR:
        return RedirectResponse("/portail", status_code=303)
    return render(request, "portail/connexion.html", {"sent": None})


@router.post("/portail/connexion", dependencies=[CsrfChecked])
async def portal_ask_for_link(
    request: Request, session: SessionDep, email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    settings = request.app.state.settings
    web = settings.web
    context: dict[str, object] = {"sent": None, "email": email}
    address, refused = await admit_link_request(request, email, "portail/connexion.html", context)
    if refused is not None:
        return refused
    mailer = Mailer(settings.smtp)
    # The same answer whether or not the address is known (nobody learns who is a contact).
    for user in await contractor_accounts(session, address):
        token = await issue_link(session, user, minutes=web.link_minutes)
        url = link_url(settings.public_url, token, portal=True)
        await mailer.send(portal_sign_in_mail(address, url, minutes=web.link_minutes))
    context["sent"] = SENT.format(minutes=web.link_minutes)
    context["mail_enabled"] = mailer.enabled
    return render(request, "portail/connexion.html", context)


@router.api_route("/portail/lien/{token}", methods=["GET", "HEAD"])
async def portal_confirm_page(request: Request, token: str, session: SessionDep) -> Response:
    """Spends nothing (mail scanners open links): shows whom the link signs in, and one button."""
    check = await inspect_link(session, token)
    if check.valid and (check.user is None or check.user.role != UserRole.CONTRACTOR):
        return _invalid(request, "unknown")  # an officer's link opens the officers' pages only
    if not check.valid or check.user is None:
        return _invalid(request, check.problem)
    supplier = (
        await session.get(Supplier, check.user.supplier_id) if check.user.supplier_id else None
    )
    return render(
        request,
        "portail/confirmer.html",
        {"email": check.user.email, "supplier": supplier, "token": token},
        headers=LINK_HEADERS,
    )


@router.post("/portail/lien/{token}", dependencies=[CsrfChecked])
async def portal_use_link(request: Request, token: str, session: SessionDep) -> Response:
    check = await inspect_link(session, token)
    if check.valid and (check.user is None or check.user.role != UserRole.CONTRACTOR):
        return _invalid(request, "unknown")
    if not check.valid:
        return _invalid(request, check.problem)
    user = await spend_link(session, token)
    response = RedirectResponse("/portail", status_code=303, headers=LINK_HEADERS)
    # The session carries the user's supplier (open_session): the portal's one company.
    await sign_in(request, response, session, user, method="link")
    set_pending_cookies(request, response)
    return response


@router.api_route("/portail/desabonnement/{token}", methods=["GET", "HEAD"])
async def unsubscribe_page(request: Request, token: str) -> Response:
    """The link of a reminder's `List-Unsubscribe`: a page with one button."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    if user_of_token(secret, token) is None:
        raise NotFound("Ce lien de désabonnement n'existe pas.")
    return render(
        request, "portail/desabonnement.html", {"token": token, "done": False}, headers=LINK_HEADERS
    )


@router.post("/portail/desabonnement/{token}")
async def unsubscribe(request: Request, token: str, session: SessionDep) -> Response:
    """One click (RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`, without cookies):
    the signed token is the authority, and the only effect is fewer courtesy e-mails."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    user_id = user_of_token(secret, token)
    if user_id is None:
        raise NotFound("Ce lien de désabonnement n'existe pas.")
    await opt_out(session, user_id)
    return render(
        request, "portail/desabonnement.html", {"token": token, "done": True}, headers=LINK_HEADERS
    )
