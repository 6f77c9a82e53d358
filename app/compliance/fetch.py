"""From a requirement to API Entreprise calls, and from their outcomes to the rules' Evidence.

No database here: `fetch_requirement` returns what was fetched (documents still to archive, the
evidence fields, a retry date or an alert); `checks` archives and persists it.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app.compliance.rules import EvidenceKind, RequirementType
from app.integrations.api_entreprise import ApiEntrepriseClient, Outcome, OutcomeKind
from app.integrations.api_entreprise import schemas as s

log = logging.getLogger("vigie.compliance")

# requirement -> the operations that prove it (registration: INSEE, then the RCS extract).
OPERATIONS: dict[RequirementType, tuple[str, ...]] = {
    RequirementType.REGISTRATION: ("insee_unite_legale", "infogreffe_extrait_rcs"),
    RequirementType.URSSAF_VIGILANCE: ("urssaf_attestation_vigilance",),
    RequirementType.MSA_VIGILANCE: ("msa_conformite_cotisations",),
    RequirementType.DGFIP_FISCAL: ("dgfip_attestation_fiscale",),
    RequirementType.FNTP_CARD: ("fntp_carte_professionnelle",),
    RequirementType.QUALIBAT: ("qualibat_certification",),
    RequirementType.RGE: ("ademe_rge",),
    RequirementType.CNETP: ("cnetp_attestation",),
    RequirementType.CIBTP: ("cibtp_attestation",),
    RequirementType.OPQIBI: ("opqibi_certification",),
    RequirementType.PROBTP: ("probtp_attestation",),
}
_BY_SIRET = {
    "insee_etablissement",
    "msa_conformite_cotisations",
    "qualibat_certification",
    "ademe_rge",
    "cibtp_attestation",
    "probtp_attestation",
    "probtp_conformite",
}
_PROCEEDINGS = re.compile(r"sauvegarde|redressement|liquidation|proc[ée]dure collective", re.I)


@dataclass
class Subject:
    """Who is checked, for whom: the buyer's SIRET is the legal `recipient` of every call."""

    recipient: str
    object: str
    siren: str | None
    siret: str | None = None


@dataclass
class ToArchive:
    content: bytes
    media_type: str
    outcome: Outcome


@dataclass
class Fetched:
    requirement: RequirementType
    kind: EvidenceKind | None  # None: nothing learnt (config error, bug): keep what we had
    outcome: str  # the decisive outcome kind, for the check row
    evidence: dict[str, Any] = field(default_factory=dict)
    documents: list[ToArchive] = field(default_factory=list)
    retry_at: datetime | None = None
    message: str | None = None
    alert: str | None = None
    request_ids: list[str] = field(default_factory=list)
    company_name: str | None = None  # from Sirene, to name a supplier known only by its SIREN


def _day(ts: int | None) -> date | None:
    return datetime.fromtimestamp(ts, UTC).date() if ts else None


def _archivable(outcome: Outcome) -> ToArchive | None:
    if outcome.document is not None:
        return ToArchive(outcome.document.content, outcome.document.media_type, outcome)
    if outcome.kind is OutcomeKind.DELIVERED and outcome.raw is not None:
        from app.documents.archive import JSON_MEDIA_TYPE, canonical_json_document

        return ToArchive(canonical_json_document(outcome.raw), JSON_MEDIA_TYPE, outcome)
    return None


async def _call(client: ApiEntrepriseClient, name: str, subject: Subject) -> Outcome:
    identifier = subject.siret if name in _BY_SIRET else subject.siren
    assert identifier is not None
    return await client.call(name, identifier, recipient=subject.recipient, object=subject.object)


async def fetch_requirement(
    client: ApiEntrepriseClient, rtype: RequirementType, subject: Subject, today: date
) -> Fetched:
    if subject.siren is None or rtype not in OPERATIONS:
        # Foreign holders (D8222-7) and uploads: nothing to fetch, the contractor must upload.
        return Fetched(rtype, EvidenceKind.NONE, "not_fetchable")
    names = OPERATIONS[rtype]
    if any(n in _BY_SIRET for n in names) and subject.siret is None:
        head = await client.insee_unite_legale(
            subject.siren, recipient=subject.recipient, object=subject.object
        )
        if head.kind is OutcomeKind.DELIVERED and isinstance(head.data, s.InseeUniteLegale):
            subject.siret = head.data.head_office_siret
        else:
            return _from_outcomes(rtype, [head], today)
    outcomes = [await _call(client, name, subject) for name in names]
    return _from_outcomes(rtype, outcomes, today)


def _from_outcomes(rtype: RequirementType, outcomes: list[Outcome], today: date) -> Fetched:
    request_ids = [o.request_id for o in outcomes if o.request_id]
    broken = [o for o in outcomes if o.kind in (OutcomeKind.CONFIG_ERROR, OutcomeKind.BUG)]
    if broken:
        o = broken[0]
        if o.kind is OutcomeKind.BUG:
            log.error("api_entreprise %s answered something unusable: %s", o.endpoint, o.message)
            alert = "Réponse inexploitable de la source : l'équipe technique est alertée."
        else:
            alert = (
                "Vigie n'a pas pu interroger la source (jeton API Entreprise expiré ou droits "
                "manquants) : l'administrateur doit corriger la configuration."
            )
        return Fetched(rtype, None, o.kind.value, alert=alert, message=o.message)
    pending = [o for o in outcomes if o.kind is OutcomeKind.PENDING]
    if pending:
        retry = max((o.retry_at for o in pending if o.retry_at), default=None)
        evidence = {"obtained_on": today, "retry_on": retry.date() if retry else None}
        return Fetched(
            rtype,
            EvidenceKind.PENDING,
            "pending",
            evidence=evidence,
            retry_at=retry,
            message=pending[0].message,
            request_ids=request_ids,
        )
    if rtype is RequirementType.REGISTRATION:
        return _registration(outcomes, today, request_ids)
    (o,) = outcomes
    kind = {
        OutcomeKind.DELIVERED: EvidenceKind.DELIVERED,
        OutcomeKind.REFUSED: EvidenceKind.REFUSED,
        OutcomeKind.UNAVAILABLE: EvidenceKind.UNAVAILABLE,
        OutcomeKind.UNKNOWN_ENTITY: EvidenceKind.UNAVAILABLE,
    }[o.kind]
    found: dict[str, Any] = {"obtained_on": today, "reference": o.request_id}
    if kind is EvidenceKind.DELIVERED:
        found |= {"issued_on": o.valid_from, "valid_from": o.valid_from}
        found["valid_until"] = o.valid_until
    docs = [d for d in [_archivable(o)] if d is not None]
    return Fetched(
        rtype, kind, o.kind.value, found, docs, message=o.message, request_ids=request_ids
    )


def _registration(outcomes: list[Outcome], today: date, request_ids: list[str]) -> Fetched:
    insee, rcs = outcomes
    rtype = RequirementType.REGISTRATION
    if insee.kind is not OutcomeKind.DELIVERED or not isinstance(insee.data, s.InseeUniteLegale):
        # Unknown to the Sirene register: nothing proves the company exists.
        message = insee.message or "Entreprise inconnue du répertoire Sirene"
        return Fetched(rtype, EvidenceKind.NONE, insee.kind.value, message=message)
    unit = insee.data
    evidence: dict[str, Any] = {
        "obtained_on": today,
        "reference": rcs.request_id or insee.request_id,
        "ceased": not unit.active,
        "ceased_on": _day(unit.ceased_on_ts),
    }
    if rcs.kind is OutcomeKind.DELIVERED and isinstance(rcs.data, s.InfogreffeExtraitRcs):
        extract = rcs.data
        evidence["struck_off"] = extract.struck_off_on is not None
        evidence["struck_off_on"] = extract.struck_off_on
        evidence["collective_proceedings"] = any(
            _PROCEEDINGS.search(f"{obs.label or ''}") for obs in extract.observations
        )
    # An RCS 404 is normal for a company outside the register (artisan, association): Sirene
    # alone then proves the registration.
    docs = [d for d in (_archivable(rcs), _archivable(insee)) if d is not None]
    # Only a diffusible company's name: a natural person may have opted out of publication.
    name = unit.name if unit.diffusion_status == "diffusible" else None
    return Fetched(
        rtype,
        EvidenceKind.DELIVERED,
        "delivered",
        evidence,
        docs,
        request_ids=request_ids,
        company_name=name,
    )
