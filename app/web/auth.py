"""Sign-in by e-mailed link: `/connexion` (ask for a link), `/connexion/lien/{token}` (a page
with one button: mail scanners open links, only the POST spends it), `/deconnexion`."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.buyers.models import Buyer
from app.deps import SessionDep
from app.errors import ValidationFailed
from app.integrations.mail import Mailer
from app.users.service import (
    LINK_PROBLEMS,
    close_session,
    inspect_link,
    issue_link,
    link_url,
    local_accounts,
    normalize_email,
    sign_in_mail,
    use_link,
)
from app.web.ratelimit import AttemptLimiter
from app.web.security import cookie_name, delete_cookie, verify_csrf
from app.web.sessions import SESSION_COOKIE, MaybeViewer, sign_in
from app.web.templating import render

router = APIRouter(include_in_schema=False)
CsrfChecked = Depends(verify_csrf)
# Links carry a secret in their path: no Referer may leak it, no cache may keep it.
LINK_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
SENT = (
    "Si cette adresse correspond à un compte, un lien de connexion vient de lui être envoyé. "
    "Il est valable {minutes} minutes et ne sert qu'une fois."
)


def safe_next(target: str | None) -> str:
    """Only a path of this site (never `//elsewhere` nor a full URL) may follow a sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def limiter(request: Request) -> AttemptLimiter:
    if getattr(request.app.state, "attempts", None) is None:
        # Under the queue's name, like the upstream limiter's keys: two instances (or two test
        # runs) sharing a Redis never count each other's attempts.
        prefix = f"{request.app.state.settings.jobs.queue_name}:attempts"
        request.app.state.attempts = AttemptLimiter(request.app.state.redis, prefix=prefix)
    return request.app.state.attempts


async def admit_link_request(
    request: Request, email: str, template: str, context: dict[str, object]
) -> tuple[str, Response | None]:
    """A request for a sign-in link (officers' or the portal's): the normalised address, or the
    page that refuses it — a bad address (422, next to its field) or too many requests for this
    address or from this IP (429). The same whether or not the address has an account."""
    web = request.app.state.settings.web
    try:
        address = normalize_email(email)
    except ValidationFailed as exc:
        context["error"] = exc.detail
        return "", render(request, template, context, status_code=422)
    ip = request.client.host if request.client else "?"
    attempts = limiter(request)
    window = web.attempt_window_seconds
    allowed = await attempts.hit(
        "ip", ip, limit=web.attempts_per_ip, window=window
    ) and await attempts.hit("email", address, limit=web.attempts_per_address, window=window)
    if allowed:
        return address, None
    context["error"] = (
        "Trop de demandes de lien pour cette adresse ou depuis ce réseau. Réessayez dans "
        f"{max(1, window // 60)} minutes."
    )
    return address, render(
        request, template, context, status_code=429, headers={"Retry-After": str(window)}
    )


@router.get("/connexion")
async def sign_in_page(
    request: Request, viewer: MaybeViewer, suivant: str | None = None
) -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(suivant), status_code=303)
    return render(
        request, "connexion/connexion.html", {"suivant": safe_next(suivant), "sent": None}
    )


@router.post("/connexion", dependencies=[CsrfChecked])
async def ask_for_link(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    suivant: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = request.app.state.settings
    web = settings.web
    context: dict[str, object] = {"suivant": safe_next(suivant), "sent": None, "email": email}
    address, refused = await admit_link_request(request, email, "connexion/connexion.html", context)
    if refused is not None:
        return refused
    mailer = Mailer(settings.smtp)
    # The same answer whether or not the address is known (nobody learns who has an account).
    for user in await local_accounts(session, address):
        token = await issue_link(session, user, minutes=web.link_minutes)
        buyer = await session.get(Buyer, user.buyer_id) if user.buyer_id else None
        url = link_url(settings.public_url, token)
        await mailer.send(
            sign_in_mail(
                address, url, buyer_name=buyer.name if buyer else None, minutes=web.link_minutes
            )
        )
    context["sent"] = SENT.format(minutes=web.link_minutes)
    context["mail_enabled"] = mailer.enabled
    return render(request, "connexion/connexion.html", context)


@router.api_route("/connexion/lien/{token}", methods=["GET", "HEAD"])
async def confirm_page(request: Request, token: str, session: SessionDep) -> Response:
    """Spends nothing: shows who the link signs in and one button."""
    check = await inspect_link(session, token)
    if not check.valid:
        return render(
            request,
            "connexion/lien_invalide.html",
            {"problem": LINK_PROBLEMS[check.problem or "unknown"]},
            status_code=410 if check.problem in {"used", "expired"} else 404,
            headers=LINK_HEADERS,
        )
    assert check.user is not None
    buyer = await session.get(Buyer, check.user.buyer_id) if check.user.buyer_id else None
    return render(
        request,
        "connexion/confirmer.html",
        {"email": check.user.email, "buyer": buyer, "token": token},
        headers=LINK_HEADERS,
    )


@router.post("/connexion/lien/{token}", dependencies=[CsrfChecked])
async def use_sign_in_link(request: Request, token: str, session: SessionDep) -> Response:
    check = await inspect_link(session, token)
    if not check.valid:
        return render(
            request,
            "connexion/lien_invalide.html",
            {"problem": LINK_PROBLEMS[check.problem or "unknown"]},
            status_code=410 if check.problem in {"used", "expired"} else 404,
            headers=LINK_HEADERS,
        )
    user = await use_link(session, token)
    response = RedirectResponse("/", status_code=303, headers=LINK_HEADERS)
    await sign_in(request, response, session, user, method="link")
    from app.web.security import set_pending_cookies

    set_pending_cookies(request, response)
    return response


@router.post("/deconnexion", dependencies=[CsrfChecked])
async def sign_out(request: Request, session: SessionDep, viewer: MaybeViewer) -> Response:
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    if token:
        await close_session(session, token)
    logout = getattr(request.app.state, "proconnect_logout", None)
    target = "/connexion?deconnecte=1"
    if logout is not None and viewer is not None and viewer.web_session.method == "proconnect":
        target = await logout(request, viewer)  # the identity provider's logout, then back
    response = RedirectResponse(target, status_code=303)
    delete_cookie(request, response, SESSION_COOKIE)
    return response
