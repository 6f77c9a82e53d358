"""RFC 9457 problem+json: the one renderer of `AppError`s, validation errors and HTTP errors.

Every error answer carries `type`, `title`, `status`, `detail`, `instance`, a stable `code` ERPs
branch on, the `request_id` to quote to support and, for bad input, `errors` with a JSON pointer
per field. Titles and details are French: people read them.
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
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
