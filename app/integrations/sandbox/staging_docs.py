"""Point the staging payloads' document URLs at PDFs the sandbox generates and serves."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.integrations.sandbox.endpoints import Endpoint
from app.integrations.sandbox.responses import AttachDocument, company_name
from app.integrations.sandbox.staging import find_case


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def staging_company(siren: str) -> str:
    case = find_case("insee_unite_legale", siren)
    if case is not None and case.status == 200:
        attributes = case.body()["data"].get("personne_morale_attributs") or {}
        if attributes.get("raison_sociale"):
            return str(attributes["raison_sociale"])
    return company_name(siren)


def attach_staging_documents(
    endpoint: Endpoint,
    body: dict[str, Any],
    identifier: str,
    attach: AttachDocument,
    ttl_override: int | None,
) -> None:
    """Replace the upstream (GitHub) document links by sandbox URLs, in place."""
    data = body.get("data")
    title = endpoint.document_title or ""
    company = staging_company(identifier[:9])
    if endpoint.name == "ademe_rge" and isinstance(data, list):
        for item in data:
            cert = item.get("data", {})
            if cert.get("url"):
                start, end = _day(cert.get("date_attribution")), _day(cert.get("date_expiration"))
                cert["url"] = attach(title, company, identifier, start, end)
        return
    if not isinstance(data, dict) or not data.get("document_url"):
        return
    start = _day(
        data.get("date_debut_validite")
        or data.get("date_emission")
        or data.get("date_delivrance_attestation")
    )
    end = _day(data.get("date_fin_validite"))
    data["document_url"] = attach(title, company, identifier, start, end)
    if ttl_override is not None:
        for key in ("document_url_expires_in", "expires_in"):
            if key in data:
                data[key] = ttl_override
