"""RFC 9457 problem+json: the one renderer of `AppError`s, validation errors and HTTP errors.

Every error answer carries `type`, `title`, `status`, `detail`, `instance`, a stable `code` ERPs
branch on, the `request_id` to quote to support and, for bad input, `errors` with a JSON pointer
per field. Titles and details are French: people read them.
"""

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import _get_api_route_for_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, field_error

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://vigie.example/problems/"


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    pages = getattr(request.app.state, "page_errors", None)
    if pages is not None and pages.handles(request):
        # A page answers a page (app/web/errors.py); a bad path parameter there (a SIREN that
        # is not one) is a page that does not exist.
        if status == 422 and any(e.get("pointer", "").startswith("#/path") for e in errors or []):
            status = 404
        return pages(request, status, title, detail, headers)
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "request_id": getattr(request.state, "request_id", None),
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# FastAPI's validation error types → our stable codes and French sentences.
_PYDANTIC_MESSAGES = {
    "missing": ("missing_field", "Ce champ est obligatoire."),
    "json_invalid": ("invalid_json", "Le corps de la requête n'est pas un JSON valide."),
    "extra_forbidden": ("unknown_field", "Ce champ n'est pas reconnu."),
    "date_from_datetime_parsing": ("invalid_date", "Date attendue au format AAAA-MM-JJ."),
    "date_parsing": ("invalid_date", "Date attendue au format AAAA-MM-JJ."),
    "date_type": ("invalid_date", "Date attendue au format AAAA-MM-JJ."),
    "int_parsing": ("invalid_integer", "Nombre entier attendu."),
    "int_type": ("invalid_integer", "Nombre entier attendu."),
    "string_type": ("invalid_string", "Chaîne de caractères attendue."),
    "list_type": ("invalid_list", "Liste attendue."),
    "string_too_long": ("too_long", "Valeur trop longue."),
    "string_too_short": ("too_short", "Valeur trop courte."),
    "uuid_parsing": ("invalid_id", "Identifiant invalide."),
    "uuid_type": ("invalid_id", "Identifiant invalide."),
    "model_type": ("invalid_object", "Objet JSON attendu."),
    "model_attributes_type": ("invalid_object", "Objet JSON attendu."),
    "dict_type": ("invalid_object", "Objet JSON attendu."),
    "too_short": ("too_short", "Trop peu d'éléments."),
    "too_long": ("too_long", "Trop d'éléments."),
    "enum": ("invalid_choice", "Valeur hors des choix possibles."),
    "literal_error": ("invalid_choice", "Valeur hors des choix possibles."),
    "greater_than": ("out_of_range", "Valeur trop petite."),
    "greater_than_equal": ("out_of_range", "Valeur trop petite."),
    "less_than": ("out_of_range", "Valeur trop grande."),
    "less_than_equal": ("out_of_range", "Valeur trop grande."),
    "string_pattern_mismatch": ("invalid_format", "Format invalide."),
    "bool_parsing": ("invalid_boolean", "Booléen attendu (true ou false)."),
}


# Codes raised by our own validators (PydanticCustomError types): their message is already French.
DOMAIN_CODES = frozenset(
    {
        "invalid_identifier",
        "invalid_text",
        "invalid_amount",
        "invalid_cpv",
        "invalid_holder",
        "invalid_requirement",
        "invalid_dates",
        "below_vigilance_threshold",
    }
)


def _pointer(loc: tuple[Any, ...]) -> str:
    """RFC 6901 pointer into the body ("" is the whole document); `#/query/x` for parameters."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        source = parts.pop(0)
        if source != "body":
            return f"#/{source}/" + "/".join(str(p) for p in parts)
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] in DOMAIN_CODES:
            code, message = err["type"], str(err["msg"])
        else:
            code, message = _PYDANTIC_MESSAGES.get(
                err["type"], ("invalid_value", "Valeur invalide.")
            )
        if err["type"] == "json_invalid" and len(loc) > 1:
            # FastAPI puts the character offset in `loc`: not a member of the body.
            message = f"Le corps de la requête n'est pas un JSON valide (caractère {loc[1]})."
            loc = loc[:1]
        out.append(field_error(_pointer(loc), message, code))
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return problem(
            request,
            status=exc.status_code,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc)
        codes = {e["code"] for e in errors}
        # A single domain code (e.g. invalid_identifier) becomes the top-level code ERPs branch on.
        code = codes.pop() if len(codes) == 1 else "validation_error"
        return problem(
            request,
            status=422,
            code=code,
            title="Données invalides",
            detail="La requête contient des erreurs ; voir la liste `errors`.",
            errors=errors,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A bug stays a 500 (Starlette re-raises it for the server's log after this answer),
        # but the client still gets problem+json with the request id to quote.
        return problem(
            request,
            status=500,
            code="internal_error",
            title="Erreur interne",
            detail="Une erreur inattendue s'est produite ; elle a été journalisée. "
            "Indiquez le request_id au support.",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        titles = {
            404: ("not_found", "Ressource introuvable", "Aucune ressource à cette adresse."),
            405: (
                "method_not_allowed",
                "Méthode non autorisée",
                "Méthode HTTP non prise en charge ici.",
            ),
        }
        code, title, detail = titles.get(
            status, ("http_error", HTTPStatus(status).phrase, str(exc.detail))
        )
        return problem(
            request,
            status=status,
            code=code,
            title=title,
            detail=detail,
            headers=getattr(exc, "headers", None),
        )


# --- The contract as documented: every operation's problem answers, derived from the route ------


class ProblemFieldError(BaseModel):
    """Une erreur sur un champ précis : où (pointeur JSON RFC 6901), quoi (code stable), pourquoi."""

    pointer: str = Field(
        description="Pointeur JSON dans le corps, ou `#/query/<nom>`, `#/path/<nom>`."
    )
    detail: str = Field(description="Explication en français.")
    code: str = Field(description="Code stable de l'erreur sur ce champ.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pointer": "/siret", "detail": "SIRET invalide.", "code": "invalid_identifier"}
            ]
        }
    )


class Problem(BaseModel):
    """Réponse d'erreur RFC 9457 (`application/problem+json`) : `code` est stable (les ERP s'y
    fient), `title` et `detail` sont en français, `request_id` est à citer au support."""

    type: str = Field(
        description="URI du type de problème : `https://vigie.example/problems/<code>`."
    )
    title: str = Field(description="Titre court, en français.")
    status: int = Field(description="Statut HTTP de la réponse.")
    detail: str = Field(description="Explication en français de ce cas précis.")
    instance: str = Field(description="Chemin de la requête.")
    code: str = Field(description="Code stable, sur lequel un client peut brancher.")
    request_id: str | None = Field(
        None, description="Identifiant de la requête (en-tête X-Request-ID)."
    )
    errors: list[ProblemFieldError] = Field(
        default_factory=list, description="Erreurs par champ (données invalides seulement)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": TYPE_BASE + "contract_not_found",
                    "title": "Ressource introuvable",
                    "status": 404,
                    "detail": "Aucun contrat de cet acheteur sous cet identifiant.",
                    "instance": "/v1/contracts/0b8f7a52-6f4e-4f55-9f0a-2c1f3b7d9e10",
                    "code": "contract_not_found",
                    "request_id": "3f1c2a9e5b7d4c18",
                }
            ]
        }
    )


# French titles and the stable codes every route of a kind can answer (the route's own are added
# from ROUTE_CODES). Statuses: what the guard, the dependencies and the middleware answer.
STATUS_TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    409: "Conflit",
    410: "Ressource expirée",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    429: "Trop de requêtes",
    503: "Service indisponible",
}
_CALLER_CODES = {
    401: ["missing_api_key", "invalid_api_key", "revoked_api_key"],
    429: ["rate_limited"],
}
_PATH_NOT_FOUND = {
    "contract_id": "contract_not_found",
    "siren": "supplier_not_found",
    "document_id": "document_not_found",
    "webhook_id": "webhook_not_found",
    "import_id": "import_not_found",
    "prefix": "api_key_not_found",
}
_INPUT_CODES = ["validation_error", "invalid_text", "unknown_parameter"]
_JSON_BODY_CODES = ["invalid_json", "missing_field", "unknown_field", "duplicate_key"]
# What a route answers beyond its kind's (operation id → status → codes).
ROUTE_CODES: dict[str, dict[int, list[str]]] = {
    "create_buyer": {409: ["buyer_exists"]},
    "revoke_key": {409: ["last_admin_key"]},
    "create_key": {404: ["buyer_not_found"]},  # the body's buyer_siret names no buyer
    "create_contract": {
        409: ["contract_reference_conflict"],
        422: ["invalid_identifier", "below_vigilance_threshold"],
    },
    "put_contract_by_reference": {
        409: ["contract_reference_conflict"],
        422: ["reference_mismatch", "invalid_identifier"],
    },
    "amend_contract": {
        409: ["contract_reference_conflict"],
        422: ["immutable_field", "invalid_identifier"],
    },
    "recheck_supplier": {503: ["queue_unavailable"]},
    "create_import": {503: ["queue_unavailable"], 413: ["file_too_large"]},
    "upload_document": {
        413: ["file_too_large"],
        422: ["invalid_upload", "missing_file", "invalid_form"],
    },
    "review_document": {409: ["already_reviewed"]},
    "list_events": {410: ["cursor_expired"], 422: ["invalid_cursor", "unknown_event_type"]},
    "lookup_compliance": {422: ["too_many_sirens", "invalid_identifier"]},
    "create_webhook": {422: ["invalid_webhook_url", "unknown_event_type", "too_many_webhooks"]},
}


def _calls(dependant: Any) -> Iterator[Any]:
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is not None:
            yield current.call
        stack.extend(current.dependencies)


def route_problems(route: Any, operation_id: str, caller: Any) -> dict[int, list[str]]:
    """The problem statuses a route can answer, each with its stable codes, read from what the
    route declares: a key (`caller`: the dependency that authenticates), path parameters, a body."""
    out: dict[int, list[str]] = {422: list(_INPUT_CODES)}
    calls = list(_calls(route.dependant))
    if caller in calls:
        out.update({k: list(v) for k, v in _CALLER_CODES.items()})
        if any(getattr(c, "__qualname__", "").startswith("require_roles") for c in calls):
            out[403] = ["forbidden_role"]
    path_params = [p.name for p in route.dependant.path_params]
    if path_params and route.methods != {"PUT"}:
        out[404] = ["not_found"] + [_PATH_NOT_FOUND[p] for p in path_params if p in _PATH_NOT_FOUND]
    body = route.body_field
    if body is not None:
        media = getattr(body.field_info, "media_type", "application/json")
        if media == "application/json":
            out[413] = ["payload_too_large"]
            out[415] = ["unsupported_media_type"]
            out[422] += _JSON_BODY_CODES
        else:
            out[413] = ["file_too_large"]
            out[422] += ["missing_field"]
    if "POST" in (route.methods or ()):
        # app/idempotency.py: the same Idempotency-Key while the first request runs, or reused.
        out.setdefault(409, []).append("idempotency_key_in_use")
        out[422].append("idempotency_key_reused")
    for status, codes in ROUTE_CODES.get(operation_id, {}).items():
        out.setdefault(status, [])
        out[status] += [c for c in codes if c not in out[status]]
    return dict(sorted(out.items()))


def document_problems(document: dict[str, Any], routes: list[Any], caller: Any) -> None:
    """Give every operation of the OpenAPI document its problem answers (`application/problem+json`,
    the shared `Problem` schema, the stable codes listed per status), in place of FastAPI's
    default 422. `caller`: the dependency that authenticates a key (app/deps.py)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ProblemFieldError, Problem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas[model.__name__] = schema
    ref = {"$ref": "#/components/schemas/Problem"}
    for context in iter_route_contexts(routes):
        route = _get_api_route_for_openapi(context)  # the route as the document shows it
        if route is None or not getattr(route, "include_in_schema", False):
            continue
        operations = document["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for answer in responses.values():  # FastAPI's default, in English
                if answer.get("description") == "Successful Response":
                    answer["description"] = "Réponse réussie"
            for status, codes in route_problems(route, operation["operationId"], caller).items():
                title = STATUS_TITLES[status]
                listed = ", ".join(f"`{c}`" for c in codes)
                example = {
                    "type": TYPE_BASE + codes[0],
                    "title": title,
                    "status": status,
                    "detail": f"{title}.",
                    "instance": route.path_format,
                    "code": codes[0],
                    "request_id": "3f1c2a9e5b7d4c18",
                }
                headers = {}
                if status == 429:
                    headers["Retry-After"] = {
                        "description": "Secondes à attendre avant de réessayer.",
                        "schema": {"type": "integer"},
                    }
                if status == 401:
                    headers["WWW-Authenticate"] = {
                        "description": "`Bearer`.",
                        "schema": {"type": "string"},
                    }
                entry: dict[str, Any] = {
                    "description": f"{title} — codes : {listed}.",
                    "content": {PROBLEM_JSON: {"schema": ref, "example": example}},
                }
                if headers:
                    entry["headers"] = headers
                responses[str(status)] = entry
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
