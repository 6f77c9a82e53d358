"""The application factory: lifespan builds the shared components, then routers and handlers."""

import contextlib
import hmac
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.types import Scope

from app import metrics
from app.buyers.router import router as buyers_router
from app.buyers.tokens import days_left, expires_soon, token_expiry, token_hash
from app.compliance import queries as compliance_queries
from app.compliance.planner import in_flight
from app.compliance.router import router as compliance_router
from app.config import Settings, get_settings
from app.contracts.router import router as contracts_router
from app.deps import get_caller
from app.documents.router import router as documents_router
from app.events.router import router as events_router
from app.guards import ExpectsJson, RequestGuard
from app.idempotency import IdempotencyMiddleware
from app.imports.router import router as imports_router
from app.integrations.api_entreprise import ApiEntrepriseClient
from app.keys.router import router as keys_router
from app.observability import RequestLog, configure_logging
from app.payments.router import router as payments_router
from app.problems import document_problems, install_error_handlers
from app.runtime import build_runtime
from app.suppliers.router import router as suppliers_router
from app.uploads.router import router as uploads_router
from app.web import install_pages

log = logging.getLogger("vigie")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the process's components once (app/runtime.py), the same way the worker does."""
    settings: Settings = app.state.settings
    # Engine, Redis, API Entreprise client (or the in-process sandbox), archive, job queue.
    runtime = await build_runtime(settings, client=app.state.api_entreprise_client)
    app.state.runtime = runtime
    app.state.engine, app.state.sessionmaker = runtime.engine, runtime.sessionmaker
    app.state.redis, app.state.archive = runtime.redis, runtime.archive
    app.state.jobs, app.state.compliance = runtime.jobs, runtime.compliance

    async def failed_checks() -> dict[str, object]:
        async with runtime.sessionmaker() as session:
            return await compliance_queries.failed_checks(session)

    async def platform_token() -> dict[str, object]:
        """The platform token's expiry (18-month JWTs): a warning 30 days before."""
        token = settings.api_entreprise.token
        expires_at = token_expiry(token) if token is not None else None
        if expires_at is None:
            return {"status": "ok"}
        return {
            "status": "warning" if expires_soon(expires_at) else "ok",
            "hash": token_hash(token) if token is not None else None,
            "expires_at": expires_at.isoformat(),
            "days_left": days_left(expires_at),
        }

    # Vigie's own failures (rejected token, missing privilege) and a token about to expire:
    # platform problems, shown here.
    app.state.health_checks = {"checks": failed_checks, "api_entreprise_token": platform_token}
    in_tests = settings.environment == "test"  # tests start the runner when they need it
    autostart = settings.jobs.autostart
    if runtime.runner is not None and (autostart or (autostart is None and not in_tests)):
        runtime.runner.start()  # embedded mode: jobs and the clocks run in this process
    try:
        yield
    finally:
        await runtime.aclose()


# Operation ids are the handlers' names (verb first, snake_case: a generated client's function
# names), except where the name alone would not say what the operation does.
OPERATION_IDS = {"healthz": "get_health", "lookup": "lookup_compliance"}


def operation_id(route: APIRoute) -> str:
    return OPERATION_IDS.get(route.name, route.name)


def create_app(
    settings: Settings | None = None, *, client: ApiEntrepriseClient | None = None
) -> FastAPI:
    """`client`: an API Entreprise client made by the caller (tests: over `httpx.MockTransport`),
    so no in-process sandbox starts; the runtime closes it with the app."""
    settings = settings or get_settings()
    if settings.environment != "test":
        configure_logging(settings)
    app = FastAPI(
        title="Vigie",
        version="0.1.0",
        summary="Obligation de vigilance des acheteurs publics (Code du travail L8222-1).",
        description=(
            "API REST de Vigie : les contrats au-dessus du seuil de vigilance, leurs titulaires et "
            "la conformité de chacun. Authentification : `Authorization: Bearer <clé>`. Les "
            "erreurs sont en RFC 9457 `application/problem+json`, avec un `code` stable (listé "
            "par statut pour chaque opération). Les noms des champs restent en anglais."
        ),
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # /docs is served by app/web/apidocs.py from vendored files (no CDN); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings, app.state.api_entreprise_client = settings, client
    install_error_handlers(app)
    # Innermost: a POST repeated with its Idempotency-Key gets the first answer again.
    app.add_middleware(IdempotencyMiddleware)

    # Inside out: the guard refuses oversized or malformed JSON and control characters before
    # any route, query or the database sees them; the request log (outermost) gives every
    # answer, the guard's included, its request id, its metrics and its log line.
    app.add_middleware(
        RequestGuard,
        max_json_bytes=settings.limits.max_json_bytes,
        expects_json=json_body_routes(app),
    )
    app.add_middleware(RequestLog)
    install_metrics(app, settings)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        """Liveness and readiness: each component with its state; 503 when one is down, and
        `warning` when checks fail on Vigie's side (token, privileges: see `components.checks`)."""
        components: dict[str, Any] = {}
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            components["db"] = {"status": "ok"}
        except Exception as exc:  # a health check reports, it does not raise
            components["db"] = {"status": "down", "error": type(exc).__name__}
        if request.app.state.redis is not None:
            try:
                await request.app.state.redis.ping()
                components["redis"] = {"status": "ok"}
            except Exception as exc:
                components["redis"] = {"status": "down", "error": type(exc).__name__}
        for name, check in getattr(request.app.state, "health_checks", {}).items():
            try:
                components[name] = await check()
            except Exception as exc:
                components[name] = {"status": "down", "error": type(exc).__name__}
        # A component down makes the instance unready (503); a warning (checks failing on
        # Vigie's side) is shown without taking the API out of service.
        states = {c.get("status") for c in components.values()}
        down = bool(states - {"ok", "warning"})
        body = {
            "status": "degraded" if down else ("warning" if "warning" in states else "ok"),
            "mode": "embedded" if settings.embedded else "distributed",
            "components": components,
        }
        return JSONResponse(body, status_code=503 if down else 200)

    app.include_router(buyers_router)
    app.include_router(keys_router)
    app.include_router(contracts_router)
    app.include_router(suppliers_router)
    app.include_router(compliance_router)
    app.include_router(documents_router)
    app.include_router(events_router)
    app.include_router(payments_router)
    app.include_router(imports_router)
    app.include_router(uploads_router)
    install_pages(app)  # the pages in French (app/web/)
    install_openapi(app)
    return app


def install_openapi(app: FastAPI) -> None:
    """The document FastAPI builds, with every operation's problem answers added from its route
    (app/problems.py). Committed as docs/openapi.json: `make openapi` after a change on purpose."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_problems(build(), app.routes, get_caller)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def json_body_routes(app: FastAPI) -> ExpectsJson:
    """Does the route this request will reach take a JSON body? Read from the OpenAPI document
    (the routes' public description: forms, uploads and pages are not JSON), once."""
    table: list[tuple[str, re.Pattern[str]]] | None = None

    def expects_json(scope: Scope) -> bool:
        nonlocal table
        if table is None:
            table = [
                (method.upper(), re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path))))
                for path, operations in app.openapi().get("paths", {}).items()
                for method, operation in operations.items()
                if "application/json" in operation.get("requestBody", {}).get("content", {})
            ]
        method, path = scope.get("method", ""), scope.get("path", "")
        return any(m == method and rx.fullmatch(path) for m, rx in table)

    return expects_json


def install_metrics(app: FastAPI, settings: Settings) -> None:
    """`GET /metrics`: Prometheus' text format. Behind a bearer token when one is set; without
    one, open in development and absent (404) in production."""
    token = settings.metrics.token
    if not settings.metrics.enabled or (token is None and settings.is_production):
        return

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(request: Request) -> Response:
        if token is not None:
            sent = request.headers.get("Authorization", "")
            expected = f"Bearer {token.get_secret_value()}"
            if not hmac.compare_digest(sent.encode(), expected.encode()):
                # A scraper, not a person: problem+json even though /metrics is no /v1 path.
                body = {
                    "type": "https://vigie.example/problems/invalid_metrics_token",
                    "title": "Non authentifié",
                    "status": 401,
                    "detail": "Jeton de métriques manquant ou incorrect.",
                    "instance": request.url.path,
                    "code": "invalid_metrics_token",
                    "request_id": getattr(request.state, "request_id", None),
                }
                return JSONResponse(
                    body,
                    status_code=401,
                    media_type="application/problem+json",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        await refresh_gauges(request.app)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


async def refresh_gauges(app: FastAPI) -> None:
    """The queue's depth and the checks in flight, read at scrape time (a failure leaves the
    last value: a scrape never fails because Redis or the database does)."""
    runtime = app.state.runtime
    depth = getattr(runtime.jobs, "depth", None)  # the arq queue and the in-process runner
    with contextlib.suppress(Exception):
        if depth is not None:
            metrics.QUEUE_DEPTH.set(await depth())
    with contextlib.suppress(Exception):
        async with runtime.sessionmaker() as session:
            metrics.CHECKS_IN_FLIGHT.set(await in_flight(session))
