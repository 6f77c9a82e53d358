"""The error tree: what services raise, each with its HTTP status and a stable `code`.

Services raise `AppError` subclasses; ERPs branch on `code`; people read `title`/`detail` (French).
No web import here: the domain, the jobs and the CLI use these too; `app.problems` renders them.
"""


class AppError(Exception):
    status_code: int = 400
    code: str = "bad_request"
    title: str = "Requête invalide"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if title:
            self.title = title
        self.errors = errors or []
        self.headers = headers or {}


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    title = "Données invalides"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    title = "Authentification requise"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    title = "Accès refusé"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    title = "Ressource introuvable"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflit"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    title = "Service indisponible"


def field_error(pointer: str, detail: str, code: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": detail, "code": code}
