"""From a requirement to API Entreprise calls, and from their outcomes to the rules' Evidence.

No database here: `fetch_requirement` returns what was fetched (documents still to archive, the
evidence fields, a retry date or an alert); `checks` archives and persists it.

Vigie's own failures (a rejected token, a missing privilege, an answer that does not parse) are
never evidence: they come back with `kind=None` and an alert, and the engine keeps what it had.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app.compliance.rules import EvidenceKind, RequirementType
from app.integrations.api_entreprise import ApiEntrepriseClient, Outcome, OutcomeKind
from app.integrations.api_entreprise import schemas as s
from app.integrations.api_entreprise.proceedings import Proceedings, read_proceedings

log = logging.getLogger("vigie.compliance")

# The registers that prove a registration (D8222-5 2° C. trav.), asked in this order until one
# knows the company: the RCS extract, the répertoire des métiers, the national register (RNE).
REGISTERS = ("infogreffe_extrait_rcs", "rnm_entreprise_artisanale", "inpi_extrait_rne")

# requirement -> the operations that prove it (registration: INSEE, then the first register).
OPERATIONS: dict[RequirementType, tuple[str, ...]] = {
    RequirementType.REGISTRATION: ("insee_unite_legale", *REGISTERS),
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
_BROKEN = (OutcomeKind.CONFIG_ERROR, OutcomeKind.BUG)
_NOT_KNOWN = (OutcomeKind.UNAVAILABLE, OutcomeKind.UNKNOWN_ENTITY)
# INSEE legal-form categories whose registration at a register is not compulsory, so Sirene alone
# proves existence (D8222-5 2° asks for an extract only "lorsque l'immatriculation … est
# obligatoire"): 2 groupements without legal personality, 7 public-law bodies, 8 specialised
# private bodies (mutuals, works councils…), 9 associations and foundations, 32 foreign entities
# not registered at the RCS.
_UNREGISTERED_FORMS = ("2", "7", "8", "9", "32")


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
    company_address: str | None = None  # the head office's, on one line (identity, not evidence)


def _day(ts: int | None) -> date | None:
    return datetime.fromtimestamp(ts, UTC).date() if ts else None


def _archivable(outcome: Outcome) -> ToArchive | None:
    """The document that proves an outcome: its PDF, else the upstream's JSON answer. A refusal
    is archived like a delivery, so a `refused` status always has its proof in the dossier."""
    if outcome.document is not None:
        return ToArchive(outcome.document.content, outcome.document.media_type, outcome)
    if outcome.kind in (OutcomeKind.DELIVERED, OutcomeKind.REFUSED) and outcome.raw is not None:
        from app.documents.archive import JSON_MEDIA_TYPE, canonical_json_document

        return ToArchive(canonical_json_document(outcome.raw), JSON_MEDIA_TYPE, outcome)
    return None


def _request_ids(outcomes: list[Outcome]) -> list[str]:
    return [o.request_id for o in outcomes if o.request_id]


async def _call(client: ApiEntrepriseClient, name: str, subject: Subject) -> Outcome:
    identifier = subject.siret if name in _BY_SIRET else subject.siren
    assert identifier is not None
    return await client.call(name, identifier, recipient=subject.recipient, object=subject.object)


async def fetch_requirement(
    client: ApiEntrepriseClient, rtype: RequirementType, subject: Subject, today: date
) -> Fetched:
    if subject.siren is None or rtype not in OPERATIONS:
        # Foreign holders (D8222-7) and upload-only documents: no source can deliver them, the
        # contractor uploads them. Awaiting upload, never "missing".
        message = "Document à déposer par le titulaire (aucune source officielle ne le délivre)"
        return Fetched(
            rtype,
            EvidenceKind.UNAVAILABLE,
            "not_fetchable",
            {"obtained_on": today},
            message=message,
        )
    if rtype is RequirementType.REGISTRATION:
        return await _fetch_registration(client, subject, today)
    names = OPERATIONS[rtype]
    looked_up: list[Outcome] = []
    if any(n in _BY_SIRET for n in names) and subject.siret is None:
        # The holder's SIRET is unknown: its head office answers for it (INSEE unité légale).
        head = await client.insee_unite_legale(
            subject.siren, recipient=subject.recipient, object=subject.object
        )
        if head.kind is OutcomeKind.DELIVERED and isinstance(head.data, s.InseeUniteLegale):
            subject.siret = head.data.head_office_siret
            looked_up.append(head)
        elif head.kind in _NOT_KNOWN:
            return Fetched(
                rtype,
                EvidenceKind.UNAVAILABLE,
                head.kind.value,
                {"obtained_on": today, "reference": head.request_id},
                message="SIRET du siège introuvable au répertoire Sirene : document à déposer",
                request_ids=_request_ids([head]),
            )
        else:
            return _from_outcomes(rtype, [head], today)
    outcomes = [await _call(client, name, subject) for name in names]
    got = _from_outcomes(rtype, outcomes, today)
    got.request_ids = _request_ids(looked_up) + got.request_ids
    return got


def _broken(rtype: RequirementType, outcomes: list[Outcome]) -> Fetched | None:
    """A Vigie-side failure among the outcomes: no evidence, an alert for the platform."""
    broken = [o for o in outcomes if o.kind in _BROKEN]
    if not broken:
        return None
    o = broken[0]
    if o.kind is OutcomeKind.BUG:
        log.error("api_entreprise %s answered something unusable: %s", o.endpoint, o.message)
        alert = "Réponse inexploitable de la source : l'équipe technique est alertée."
    else:
        log.error("api_entreprise %s refused Vigie's credentials: %s", o.endpoint, o.message)
        alert = (
            "Vigie n'a pas pu interroger la source (jeton API Entreprise expiré ou droits "
            "manquants) : l'administrateur doit corriger la configuration."
        )
    return Fetched(
        rtype,
        None,
        o.kind.value,
        alert=alert,
        message=o.message,
        request_ids=_request_ids(outcomes),
    )


def _pending(rtype: RequirementType, outcomes: list[Outcome], today: date) -> Fetched | None:
    pending = [o for o in outcomes if o.kind is OutcomeKind.PENDING]
    if not pending:
        return None
    retry = max((o.retry_at for o in pending if o.retry_at), default=None)
    return Fetched(
        rtype,
        EvidenceKind.PENDING,
        "pending",
        evidence={"obtained_on": today, "retry_on": retry.date() if retry else None},
        retry_at=retry,
        message=pending[0].message,
        request_ids=_request_ids(outcomes),
    )


def _from_outcomes(rtype: RequirementType, outcomes: list[Outcome], today: date) -> Fetched:
    settled = _broken(rtype, outcomes) or _pending(rtype, outcomes, today)
    if settled is not None:
        return settled
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
        rtype, kind, o.kind.value, found, docs, message=o.message, request_ids=_request_ids([o])
    )


# --- registration (D8222-5 2° C. trav.) ----------------------------------------------------------


async def _fetch_registration(
    client: ApiEntrepriseClient, subject: Subject, today: date
) -> Fetched:
    """INSEE (existence, active), then the first register that knows the company."""
    rtype = RequirementType.REGISTRATION
    insee = await _call(client, "insee_unite_legale", subject)
    outcomes = [insee]
    if (first := _broken(rtype, outcomes) or _pending(rtype, outcomes, today)) is not None:
        return first  # spend no register call on a check that cannot conclude now
    register: Outcome | None = None
    for name in REGISTERS:
        outcome = await _call(client, name, subject)
        outcomes.append(outcome)
        if outcome.kind not in _NOT_KNOWN:
            register = outcome
            break
    settled = _broken(rtype, outcomes) or _pending(rtype, outcomes, today)
    if settled is not None:
        return settled
    got = _registration(insee, register, today, _request_ids(outcomes))
    if got.company_name is not None and isinstance(insee.data, s.InseeUniteLegale):
        # A diffusible unit: one more JSON call for its head office's address (the page's identity).
        got.company_address = await _head_office_address(client, subject, insee.data)
    return got


async def _head_office_address(
    client: ApiEntrepriseClient, subject: Subject, unit: s.InseeUniteLegale
) -> str | None:
    """The head office's address on one line, or None. Identity, never evidence: whatever goes
    wrong here leaves the registration check as it was (and the supplier's previous address)."""
    siret = unit.head_office_siret
    if not (len(siret) == 14 and siret.isdigit() and siret.startswith(unit.siren)):
        return None
    try:
        outcome = await client.call(
            "insee_etablissement", siret, recipient=subject.recipient, object=subject.object
        )
    except Exception as exc:  # identity only: a bug here must not fail the check
        log.info("head office %s: address not fetched (%s)", siret, type(exc).__name__)
        return None
    office = outcome.data
    if outcome.kind is not OutcomeKind.DELIVERED or not isinstance(office, s.InseeEtablissement):
        log.debug("head office %s: no address (%s)", siret, outcome.kind.value)
        return None
    if office.diffusion_status != "diffusible":
        return None
    return postal_line(office.address)


def postal_line(address: s.Address) -> str | None:
    """`22 RUE DE LA PAIX, 75016 PARIS 16`: Sirene's fields on one line, ≤ 300 characters."""
    street = " ".join(
        part.strip()
        for part in (address.street_number, address.street_type, address.street_name)
        if part and part.strip()
    )
    city = " ".join(p.strip() for p in (address.postcode, address.city) if p and p.strip())
    line = ", ".join(part for part in (street, city) if part)
    return line[:300] or None


def _register_facts(data: Any) -> tuple[bool, date | None, Proceedings]:
    """(struck off, struck off on, collective proceedings) read from a register's answer."""
    if isinstance(data, s.InfogreffeExtraitRcs):
        notes = [(o.label, o.date) for o in data.observations]
        return data.struck_off_on is not None, data.struck_off_on, read_proceedings(notes)
    if isinstance(data, s.InpiExtraitRne):
        # The RNE extract has no striking-off date; its notes copy the RCS's and the RNM's.
        return False, None, read_proceedings((o.text, o.date) for o in data.observations)
    return False, None, Proceedings()  # RNM: being on the répertoire is all it says


def _registration_optional(unit: s.InseeUniteLegale) -> bool:
    return unit.legal_form.code.startswith(_UNREGISTERED_FORMS)


def _registration(
    insee: Outcome, register: Outcome | None, today: date, request_ids: list[str]
) -> Fetched:
    rtype = RequirementType.REGISTRATION
    unit = insee.data if isinstance(insee.data, s.InseeUniteLegale) else None
    found = register if register is not None and register.kind is OutcomeKind.DELIVERED else None
    # Only a diffusible company's name: a natural person may have opted out of publication.
    name = unit.name if unit is not None and unit.diffusion_status == "diffusible" else None
    evidence: dict[str, Any] = {
        "obtained_on": today,
        "reference": (found or insee).request_id or insee.request_id,
    }
    if unit is not None:
        evidence |= {"ceased": not unit.active, "ceased_on": _day(unit.ceased_on_ts)}
    if found is None and (unit is None or (unit.active and not _registration_optional(unit))):
        # Absence is not guilt: neither Sirene nor a register can show it (non-diffusible, not
        # on the RCS, RNM or RNE); the contractor uploads its extract.
        message = (
            "Entreprise inconnue du RCS, du répertoire des métiers et du RNE : "
            "extrait d'immatriculation à déposer par le titulaire"
            if unit is not None
            else "Ni le répertoire Sirene ni un registre ne délivrent l'immatriculation : "
            "justificatif à déposer par le titulaire"
        )
        return Fetched(
            rtype,
            EvidenceKind.UNAVAILABLE,
            "unavailable",
            evidence,
            message=message,
            request_ids=request_ids,
            company_name=name,
        )
    if found is not None:
        struck_off, struck_off_on, proceedings = _register_facts(found.data)
        # As Evidence defines them: `liquidation` for a liquidation judiciaire (excluded, L2141-3
        # CCP), `collective_proceedings` for the others (sauvegarde, redressement), never both.
        evidence |= {
            "struck_off": struck_off,
            "struck_off_on": struck_off_on,
            "collective_proceedings": proceedings.collective and not proceedings.liquidation,
            "liquidation": proceedings.liquidation,
            "proceedings_on": proceedings.judged_on,
        }
    # Sirene alone (a ceased company, or one no register is compulsory for) or a register.
    docs = [d for d in (_archivable(found) if found else None, _archivable(insee)) if d]
    return Fetched(
        rtype,
        EvidenceKind.DELIVERED,
        "delivered",
        evidence,
        docs,
        request_ids=request_ids,
        company_name=name,
    )
