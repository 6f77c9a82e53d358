"""Annotated dependencies: the request's unit of work, the caller and its scope."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.keys.models import ApiKey, Role
from app.keys.service import authenticate

AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the unit of work has committed (e.g. enqueue a job for the new rows)."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed after the handler, before the response is sent."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        await run_after_commit(session)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

_bearer = HTTPBearer(auto_error=False, description="Clé d'API Vigie : `Authorization: Bearer vg_…`")


async def get_caller(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "Une clé d'API est requise : en-tête `Authorization: Bearer <clé>`.",
            code="missing_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = await authenticate(session, credentials.credentials)
    request.state.key_prefix = key.prefix
    return key


CallerDep = Annotated[ApiKey, Depends(get_caller)]


def require_roles(*roles: Role) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    allowed = {r.value for r in roles}

    async def check(caller: CallerDep) -> ApiKey:
        if caller.role not in allowed:
            raise Forbidden(
                f"Le rôle « {caller.role} » ne permet pas cette opération "
                f"(rôles autorisés : {', '.join(sorted(allowed))}).",
                code="forbidden_role",
            )
        return caller

    return check


BuyerCaller = Annotated[ApiKey, Depends(require_roles(Role.OFFICER, Role.ERP))]
AdminCaller = Annotated[ApiKey, Depends(require_roles(Role.ADMIN))]
