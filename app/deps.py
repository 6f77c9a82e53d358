"""Annotated dependencies: the request's unit of work, the caller and its scope."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.compliance.context import ComplianceContext
from app.config import Settings
from app.db import unit_of_work
from app.errors import Forbidden, Unauthorized, ValidationFailed, field_error
from app.keys.models import ApiKey, Role
from app.keys.service import REVOCATIONS_KEY, authenticate_cached
from app.ratelimit import Decision, RateLimiter


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed after the handler, before the response is sent;
    the jobs it queued leave after the commit (`app.db.unit_of_work`)."""
    async with unit_of_work(request.app.state.sessionmaker, request.app.state.jobs) as session:
        yield session


_AUTOCOMMIT: dict[int, AsyncEngine] = {}


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for routes that only read: on PostgreSQL its statements run without BEGIN or
    COMMIT (autocommit: each SELECT sees committed data, as a read-committed transaction would),
    two round trips fewer per request. Nothing it adds is ever committed."""
    async with request.app.state.sessionmaker() as session:
        bind = session.bind
        if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
            engine = _AUTOCOMMIT.get(id(bind))
            if engine is None:
                engine = _AUTOCOMMIT[id(bind)] = bind.execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            session.bind = engine
        yield session


# Async, not `def`: a sync dependency runs in the thread pool, a hop per request.
async def get_compliance(request: Request) -> ComplianceContext:
    compliance: ComplianceContext = request.app.state.compliance
    return compliance


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ComplianceDep = Annotated[ComplianceContext, Depends(get_compliance)]

_bearer = HTTPBearer(auto_error=False, description="Clé d'API Vigie : `Authorization: Bearer vg_…`")


async def get_caller(
    request: Request,
    response: Response,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "Une clé d'API est requise : en-tête `Authorization: Bearer <clé>`.",
            code="missing_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Cached per process for a few seconds; a revocation clears every process's cache at once.
    state = request.app.state
    limiter = _limiter(state)
    counted: dict[str, Decision | None] = {}

    async def count_and_read_marker(cached: ApiKey) -> tuple[bytes | None, bool]:
        # A key this process verified: its count and the revocation marker, one round trip.
        decision, value, answered = await limiter.hit_and_get(cached.prefix, REVOCATIONS_KEY)
        counted[cached.prefix] = decision
        return value, answered

    pipelined = limiter.redis is not None and limiter.per_minute > 0

    key = await authenticate_cached(
        state.sessionmaker,
        state.redis,
        credentials.credentials,
        read_marker=count_and_read_marker if pipelined else None,
    )
    request.state.key_prefix = key.prefix
    request.state.buyer_id = key.buyer_id  # for the request log (app/observability.py)
    if key.prefix in counted:
        _apply_limit(response, counted[key.prefix])
    else:
        _apply_limit(response, await limiter.hit(key.prefix))
    return key


def _limiter(state: Any) -> RateLimiter:
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        settings: Settings = state.settings
        limiter = state.rate_limiter = RateLimiter(
            settings.rate_limit.per_key_per_minute, state.redis, settings.jobs.queue_name
        )
    return limiter


def _apply_limit(response: Response, decision: Decision | None) -> None:
    """`RATE_LIMIT__PER_KEY_PER_MINUTE` per key (app/ratelimit.py): 429 beyond it, and the
    `RateLimit-*` headers on every answer to a key."""
    if decision is None:
        return
    if not decision.allowed:
        raise decision.refusal()
    response.headers.update(decision.headers)


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


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route reads: its own and its dependencies' (by alias)."""
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        for field in current.query_params:
            names.add(field.alias)
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):  # a query model
                names |= {f.alias or n for n, f in model.model_fields.items()}
        stack.extend(current.dependencies)
    return names


async def reject_unknown_query(request: Request) -> None:
    """422 `unknown_parameter` for a query parameter the route does not declare.

    `?stauts=x` would otherwise be ignored and answer the unfiltered list, as if it were the
    filtered one. Declare it after the caller's dependency, so a request without a key is a 401.
    """
    if not request.scope.get("query_string"):  # nothing to check (most requests)
        return
    known = _query_names(request.scope["route"].dependant)
    unknown = sorted(set(request.query_params) - known)
    if not unknown:
        return
    named = ", ".join(f"« {name} »" for name in unknown)
    several = len(unknown) > 1
    raise ValidationFailed(
        f"{'Paramètres inconnus' if several else 'Paramètre inconnu'} : {named}. Paramètres "
        f"acceptés ici : {', '.join(sorted(known)) or 'aucun'}.",
        code="unknown_parameter",
        title="Paramètre inconnu",
        errors=[
            field_error(f"#/query/{name}", f"Paramètre « {name} » inconnu.", "unknown_parameter")
            for name in unknown
        ],
    )


KnownQueryOnly = Annotated[None, Depends(reject_unknown_query)]
