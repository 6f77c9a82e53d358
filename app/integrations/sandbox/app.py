"""The sandbox FastAPI app: same paths, parameters, headers and status codes as API Entreprise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.integrations.sandbox import errors
from app.integrations.sandbox.config import SandboxConfig
from app.integrations.sandbox.endpoints import ENDPOINTS, Endpoint
from app.integrations.sandbox.identifiers import is_valid_siren, is_valid_siret
from app.integrations.sandbox.ratelimit import Decision
from app.integrations.sandbox.responses import Answer, build_answer
from app.integrations.sandbox.staging import StagingCase, find_case
from app.integrations.sandbox.staging_docs import attach_staging_documents
from app.integrations.sandbox.state import TUNABLE, SandboxState


def create_sandbox_app(config: SandboxConfig | None = None) -> FastAPI:
    state = SandboxState(config or SandboxConfig())
    app = FastAPI(title="API Entreprise — bac à sable Vigie", docs_url=None, redoc_url=None)
    app.state.sandbox = state
    for endpoint in ENDPOINTS:
        app.add_api_route(endpoint.path, _handler(state, endpoint), methods=["GET"])

    @app.get("/privileges")
    async def privileges(request: Request) -> Response:
        """The rights attached to the token (the real route has no rate-limit headers)."""
        failure = _check_token(state, request)
        if failure is not None:
            return failure
        return JSONResponse({"privileges": list(state.config.privileges)})

    @app.get("/files/{doc_id}/{filename}")
    async def download(doc_id: str, filename: str) -> Response:
        """A document URL handed out in `document_url`; it stops working once expired."""
        doc = state.documents.get(doc_id)
        if doc is None or doc.filename != filename:
            return Response(status_code=404)
        if state.documents.is_expired(doc):
            return Response(status_code=410)
        return Response(doc.content, media_type="application/pdf")

    @app.get("/__sandbox/stats")
    async def stats() -> dict[str, Any]:
        """Calls per window and family, 429s served, faults injected (for tests and benches)."""
        return state.stats()

    @app.post("/__sandbox/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return state.stats()

    @app.post("/__sandbox/config")
    async def configure(request: Request) -> Response:
        """Change limits or faults at run time (same names as SandboxConfig)."""
        try:
            state.update(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({name: getattr(state.config, name) for name in TUNABLE})

    return app


def document_base_url(base_url: str, document_host: str | None) -> str:
    """`base_url` with its host (and port, if given as `host:port`) replaced by `document_host`."""
    if not document_host:
        return base_url
    url = httpx.URL(base_url)
    host, _, port = (
        document_host.rpartition(":") if ":" in document_host else (document_host, "", "")
    )
    if port and not port.isdigit():
        raise ValueError(f"document_host {document_host!r}: the port must be a number")
    return str(url.copy_with(host=host, port=int(port) if port else url.port)).rstrip("/")


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _check_token(state: SandboxState, request: Request) -> Response | None:
    token = _bearer(request)
    if token is not None and token in state.config.expired_tokens:
        return JSONResponse(errors.EXPIRED_TOKEN, status_code=401)
    if token is None or token not in state.config.tokens:
        return JSONResponse(errors.INVALID_TOKEN, status_code=401)
    return None


def _validate(endpoint: Endpoint, identifier: str, request: Request) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if endpoint.id_kind == "siren" and not is_valid_siren(identifier):
        problems += errors.unprocessable(
            "00301", "Le numéro de siren n'est pas correctement formatté", "siren"
        )["errors"]
    if endpoint.id_kind == "siret" and not is_valid_siret(identifier):
        problems += errors.unprocessable(
            "00302", "Le numéro de siret n'est pas correctement formatté", "siret"
        )["errors"]
    for name, code in errors.MISSING_PARAM_CODES.items():
        if not request.query_params.get(name, "").strip():
            detail = f"Le paramètre {name} est obligatoire"
            problems += errors.unprocessable(code, detail, name)["errors"]
    recipient = request.query_params.get("recipient", "").strip()
    # The real API refuses a recipient that is not a SIRET or that is the queried entity
    # (research notes §2); the spec gives no code for it, so the sandbox reuses 00203.
    if recipient and not is_valid_siret(recipient):
        detail = "Le paramètre recipient doit être un numéro de SIRET valide"
        problems += errors.unprocessable("00203", detail, "recipient")["errors"]
    elif recipient and recipient[: len(identifier)] == identifier:
        detail = "Le paramètre recipient ne peut pas être l'entité faisant l'objet de l'appel"
        problems += errors.unprocessable("00203", detail, "recipient")["errors"]
    limit = request.query_params.get("limit")
    if (
        endpoint.name == "ademe_rge"
        and limit is not None
        and not (limit.isdigit() and 1 <= int(limit) <= 1000)
    ):
        detail = "Le paramètre limit doit être un entier compris entre 1 et 1000"
        problems += errors.unprocessable("00313", detail, "limit")["errors"]
    return problems


def _rate_headers(decision: Decision) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset),
    }


def _handler(state: SandboxState, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        state.requests[endpoint.name] += 1
        response = await _answer(state, endpoint, request)
        response.headers["X-Request-ID"] = str(uuid.uuid4())
        state.statuses[response.status_code] += 1
        return response

    handle.__name__ = endpoint.name
    handle.__doc__ = f"Sandbox of `GET {endpoint.path}` ({endpoint.family} family)."
    return handle


async def _answer(state: SandboxState, endpoint: Endpoint, request: Request) -> Response:
    failure = _check_token(state, request)
    if failure is not None:
        return failure
    token = _bearer(request) or ""
    decision = state.limiter.hit(token, endpoint.family)
    headers = _rate_headers(decision)
    if not decision.allowed:
        state.rate_limited += 1
        headers["Retry-After"] = str(decision.retry_after)
        return JSONResponse(errors.TOO_MANY_REQUESTS, status_code=429, headers=headers)
    if endpoint.privilege not in state.config.privileges:
        return JSONResponse(errors.INSUFFICIENT_PRIVILEGES, status_code=403, headers=headers)
    identifier = request.path_params[endpoint.id_kind]
    problems = _validate(endpoint, identifier, request)
    if problems:
        return JSONResponse({"errors": problems}, status_code=422, headers=headers)
    if endpoint.cached:
        headers.update({"X-Response-Cached": "false", "X-Cache-Expires-in": ""})
    key = (token, request.url.path, str(sorted(request.query_params.multi_items())))
    if state.config.conflict_detection and key in state.in_flight:
        return JSONResponse(errors.CONFLICT, status_code=409, headers=headers)
    state.in_flight.add(key)
    try:
        answer = await _with_faults(state, endpoint, identifier, request)
    finally:
        state.in_flight.discard(key)
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


async def _with_faults(
    state: SandboxState, endpoint: Endpoint, identifier: str, request: Request
) -> Answer:
    config = state.config
    roll = state.rng.random()
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000)
    if roll < config.timeout_rate:
        state.faults["timeout"] += 1
        await asyncio.sleep(config.timeout_seconds)
        return Answer(504, errors.provider_timeout(endpoint))
    if roll < config.timeout_rate + config.error_rate:
        state.faults["error"] += 1
        if state.rng.random() < 0.5:
            return Answer(502, errors.provider_unknown_error(endpoint))
        return Answer(504, errors.provider_timeout(endpoint))
    return _data_answer(state, endpoint, identifier, request)


def _data_answer(
    state: SandboxState, endpoint: Endpoint, identifier: str, request: Request
) -> Answer:
    base_url = str(request.base_url).rstrip("/")
    files_url = document_base_url(base_url, state.config.document_host)
    today: date = state.config.today()
    ttl = state.config.document_ttl_seconds or endpoint.document_ttl

    def attach(
        title: str, company: str, ident: str, valid_from: date | None, valid_until: date | None
    ) -> str:
        doc_id = state.store_pdf(title, company, ident, valid_from, valid_until, ttl)
        filename = state.documents.get(doc_id).filename  # type: ignore[union-attr]
        return f"{files_url}/files/{doc_id}/{filename}"

    case: StagingCase | None = find_case(endpoint.name, identifier)
    if case is not None:
        body = case.body()
        attach_staging_documents(
            endpoint, body, identifier, attach, state.config.document_ttl_seconds
        )
        return Answer(case.status, body)
    return build_answer(endpoint, identifier, today, base_url, attach, ttl)
