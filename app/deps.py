"""Annotated dependencies: the request's unit of work, the caller and its scope."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.compliance.context import ComplianceContext
from app.config import Settings
from app.db import unit_of_work
from app.errors import Forbidden, Unauthorized
from app.keys.models import ApiKey, Role
from app.keys.service import authenticate


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed after the handler, before the response is sent;
    the jobs it queued leave after the commit (`app.db.unit_of_work`)."""
    async with unit_of_work(request.app.state.sessionmaker, request.app.state.jobs) as session:
        yield session


def get_compliance(request: Request) -> ComplianceContext:
    compliance: ComplianceContext = request.app.state.compliance
    return compliance


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ComplianceDep = Annotated[ComplianceContext, Depends(get_compliance)]

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
