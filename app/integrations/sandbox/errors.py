"""Error bodies shaped like the real API's (`{"errors": [{code, title, detail, source, meta}]}`).

Texts are the official ones from the spec examples (research notes §5).
"""

from __future__ import annotations

from typing import Any

from app.integrations.sandbox.endpoints import Endpoint


def error_body(
    code: str,
    title: str,
    detail: str,
    *,
    parameter: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "errors": [
            {
                "code": code,
                "title": title,
                "detail": detail,
                "source": {"parameter": parameter} if parameter else None,
                "meta": meta or {},
            }
        ]
    }


def unprocessable(code: str, detail: str, parameter: str) -> dict[str, Any]:
    return error_body(code, "Entité non traitable", detail, parameter=parameter)


MISSING_PARAM_CODES = {"context": "00201", "object": "00202", "recipient": "00203"}

INVALID_TOKEN = error_body(
    "00101",
    "Interdit",
    "Votre token n'est pas valide ou n'est pas renseigné",
    parameter="token",
)
EXPIRED_TOKEN = error_body(
    "00103",
    "Jeton expiré",
    "Votre token est expiré. Vous devez refaire une demande",
    parameter="token",
)
INSUFFICIENT_PRIVILEGES = error_body(
    "00100",
    "Privilèges insuffisants",
    "Votre token est valide mais vos privilèges sont insuffisants. "
    "Listez vos privilèges sur /v2/privileges",
    parameter="token",
)
TOO_MANY_REQUESTS = error_body("00429", "Trop de requêtes", "Vous avez effectué trop de requêtes")
CONFLICT = error_body(
    "00015",
    "Conflit",
    "Une requête associé à votre jeton est déjà en cours de traitement pour ces paramètres. "
    "Veuillez attendre la fin du traitement avant d'effectuer une nouvelle requête.",
)


def not_found(endpoint: Endpoint) -> dict[str, Any]:
    meta: dict[str, Any] = {"provider": endpoint.provider}
    if endpoint.name == "urssaf_attestation_vigilance":
        meta["provider_errors"] = [
            {
                "code": "FUNC517",
                "message": "Le Siren est inconnu",
                "description": "Le siren est inconnu du SI Attestations, radié ou hors périmètre",
            }
        ]
    return error_body(
        f"{endpoint.code_prefix}003",
        "Entité non trouvée",
        "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent "
        "aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte "
        "par le périmètre de l'API.",
        meta=meta,
    )


def unavailable_for_legal_reasons(endpoint: Endpoint) -> dict[str, Any]:
    """INSEE 451 for an entity never published. The spec gives this status no body: the title is
    the spec's description of the status, the code the sandbox's own (provider prefix + 451)."""
    return error_body(
        f"{endpoint.code_prefix}451",
        "Indisponible pour des raisons légales",
        "Les informations de cette entité ne sont pas diffusables (statut non diffusible).",
        meta={"provider": endpoint.provider},
    )


def manual_review() -> dict[str, Any]:
    return error_body(
        "04501",
        "Analyse manuelle de la situation du compte en cours",
        "Une analyse humaine par un agent des URSSAF est requise. Le temps de traitement est "
        "très variable selon de la complexité de situation, la demande de pièces justificatives "
        "complémentaires ou la charge de travail des agents.",
        meta={"provider": "ACOSS", "retry_in": 172800},
    )


def provider_unknown_error(endpoint: Endpoint) -> dict[str, Any]:
    return error_body(
        f"{endpoint.code_prefix}999",
        "Erreur inconnue du fournisseur de données",
        "La réponse retournée par le fournisseur de données est invalide et inconnue de notre "
        "service. L'équipe technique a été notifiée de cette erreur pour investigation.",
        meta={"provider": endpoint.provider},
    )


def provider_timeout(endpoint: Endpoint) -> dict[str, Any]:
    return error_body(
        f"{endpoint.code_prefix}002",
        "Intermédiaire hors-délai",
        "Temps d’attente d’une réponse du fournisseur de données écoulé.",
        meta={"provider": endpoint.provider},
    )
