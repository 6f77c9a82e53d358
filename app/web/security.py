"""The pages' defences: security headers (pure ASGI), the CSRF token of every form, the
cookie names and flags.

CSRF: a signed double-submit cookie. A random `csrf` cookie (HttpOnly, SameSite=Lax,
`__Host-` in production) and, in every form, the hidden field `csrf_token` = HMAC(SECRET_KEY,
cookie). A cross-site page can neither read the cookie nor compute the field; on top of that,
an unsafe request whose `Origin` (or `Sec-Fetch-Site`) says it comes from elsewhere is refused.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AppError

CSRF_FIELD = "csrf_token"
API_PREFIXES = ("/v1/", "/healthz", "/metrics", "/openapi.json", "/docs", "/redoc")


class CsrfRefused(AppError):
    status_code, code, title = 403, "csrf_refused", "Formulaire refusé"


def is_page_path(path: str) -> bool:
    """Pages are every path but the REST API, its documentation and the probes."""
    return not path.startswith(API_PREFIXES)


def cookie_name(request: Request, base: str) -> str:
    # `__Host-`: Secure, Path=/ and no Domain, so no sibling sub-domain can plant it.
    return f"__Host-{base}" if request.app.state.settings.is_production else base


def set_cookie(request: Request, response: Response, base: str, value: str, **kwargs: Any) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        path="/",
        httponly=True,
        samesite="lax",  # Strict would drop the cookie on the return from ProConnect
        secure=request.app.state.settings.is_production,
        **kwargs,
    )


def delete_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
    )


def _sign(request: Request, value: str) -> str:
    key = request.app.state.settings.secret_key.get_secret_value().encode()
    digest = hmac.new(key, b"csrf:" + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _csrf_cookie(request: Request) -> str:
    """The request's CSRF cookie, or a new one to be set on the response."""
    pending = getattr(request.state, "new_csrf", None)
    if pending:
        return str(pending)
    value = request.cookies.get(cookie_name(request, "csrf"), "")
    if 20 <= len(value) <= 64:
        return value
    request.state.new_csrf = secrets.token_urlsafe(32)
    return str(request.state.new_csrf)


def csrf_token(request: Request) -> str:
    """The hidden field of every form on this page."""
    return _sign(request, _csrf_cookie(request))


def rotate_csrf(request: Request) -> None:
    """A new CSRF cookie (at sign-in: a token seen before it is worth nothing after)."""
    request.state.new_csrf = secrets.token_urlsafe(32)


def set_pending_cookies(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        set_cookie(request, response, "csrf", str(new))


def _same_origin(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None or (origin == "null" and fetch_site == "same-origin"):
        return True  # old browsers; the signed token still has to match
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    public = request.app.state.settings.public_url
    own.add("{0.scheme}://{0.netloc}".format(urlsplit(public)))
    return origin in own


async def verify_csrf(request: Request) -> None:
    """A dependency of every page that changes something (POST)."""
    if not _same_origin(request):
        raise CsrfRefused(
            "Ce formulaire a été envoyé depuis un autre site : il est refusé.",
            code="cross_origin_form",
        )
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(cookie_name(request, "csrf"), "")
    if (
        not isinstance(sent, str)
        or not cookie
        or not hmac.compare_digest(sent, _sign(request, cookie))
    ):
        raise CsrfRefused(
            "Ce formulaire a expiré ou n'a pas été émis par Vigie. Rechargez la page et "
            "recommencez.",
        )


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    """No inline script or style, nothing from elsewhere. `form_targets`: origins a form may
    lead to (Chrome applies `form-action` to the redirects after a POST: ProConnect's)."""
    targets = " ".join(["'self'", *form_targets])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action {targets}; frame-ancestors 'none'"
    )


_COMMON: tuple[tuple[bytes, bytes], ...] = (  # built once: every answer carries them
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Headers on every answer; the CSP on the pages (the API's own docs are left alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra: tuple[tuple[bytes, bytes], ...] = _COMMON
        if is_page_path(scope["path"]):
            application = scope.get("app")
            state = application.state if application is not None else None
            csp = getattr(state, "content_security_policy", None) or content_security_policy()
            extra = (*_COMMON, (b"content-security-policy", csp.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
