"""Who is signed in: the session cookie → the server-side session (app/users) → a `Viewer`.

A page that needs someone signed in declares `OfficerPage` or `AdminPage`; without a live
session it answers a redirect to `/connexion` (the error renderer turns `SignInRequired` into it).
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from app.buyers.models import Buyer
from app.deps import SessionDep
from app.documents.service import PageReader
from app.errors import AppError, Forbidden, NotFound
from app.keys.models import Role
from app.users.models import User, UserRole, WebSession
from app.users.service import open_session, resolve_session
from app.web.security import cookie_name, rotate_csrf, set_cookie

SESSION_COOKIE = "session"


class SignInRequired(AppError):
    status_code, code, title = 401, "sign_in_required", "Connexion requise"


@dataclass(frozen=True)
class Viewer:
    user: User
    web_session: WebSession
    buyer: Buyer | None

    @property
    def is_admin(self) -> bool:
        return self.user.role == UserRole.ADMIN

    @property
    def reader(self) -> PageReader:
        """Who reads the archive (documents, dossiers): journaled as `user:<id>`."""
        contractor = self.user.role == UserRole.CONTRACTOR
        return PageReader(
            role=Role.CONTRACTOR.value if contractor else Role.OFFICER.value,
            buyer_id=None if contractor else self.web_session.buyer_id,
            supplier_id=self.web_session.supplier_id if contractor else None,
            prefix=f"user:{self.user.id}",
        )

    @property
    def is_officer(self) -> bool:
        return self.user.role in {UserRole.OFFICER, UserRole.ADMIN} and self.buyer is not None


async def current_viewer(request: Request, session: SessionDep) -> Viewer | None:
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    if not token:
        return None
    settings = request.app.state.settings
    signed = await resolve_session(session, token, idle_minutes=settings.web.session_idle_minutes)
    if signed is None:
        return None
    buyer_id = signed.session.buyer_id
    buyer = await session.get(Buyer, buyer_id) if buyer_id is not None else None
    # Copies, not the session's rows: an error page is rendered after the unit of work has
    # rolled back (which expires its rows), and still shows who is signed in.
    viewer = Viewer(
        User.model_validate(signed.user.model_dump()),
        WebSession.model_validate(signed.session.model_dump()),
        Buyer.model_validate(buyer.model_dump()) if buyer is not None else None,
    )
    request.state.viewer = viewer
    return viewer


MaybeViewer = Annotated[Viewer | None, Depends(current_viewer)]


async def require_officer(viewer: MaybeViewer) -> Viewer:
    if viewer is None:
        raise SignInRequired("Connectez-vous pour voir cette page.")
    if viewer.user.role == UserRole.CONTRACTOR:
        # A contractor learns nothing of the officers' pages, not even that they exist.
        raise NotFound("Cette page n'existe pas.", code="not_found")
    if not viewer.is_officer:
        raise Forbidden("Cette page est réservée aux agents d'un acheteur.", code="forbidden_role")
    return viewer


async def require_admin(viewer: Annotated[Viewer, Depends(require_officer)]) -> Viewer:
    if not viewer.is_admin:
        raise Forbidden(
            "Cette page est réservée aux administrateurs de l'acheteur.", code="forbidden_role"
        )
    return viewer


OfficerPage = Annotated[Viewer, Depends(require_officer)]
AdminPage = Annotated[Viewer, Depends(require_admin)]


async def sign_in(
    request: Request,
    response: Response,
    session: SessionDep,
    user: User,
    *,
    method: str,
    id_token: str | None = None,
    buyer: Buyer | None = None,
) -> None:
    """Open a session for `user` and put its cookie (and a fresh CSRF cookie) on `response`."""
    settings = request.app.state.settings
    token = await open_session(
        session,
        user,
        method=method,
        absolute_hours=settings.web.session_absolute_hours,
        buyer_id=buyer.id if buyer is not None else None,
        id_token=id_token,
    )
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        token,
        max_age=settings.web.session_absolute_hours * 3600,
    )
    rotate_csrf(request)
