"""Status codes and reason codes: the stable machine vocabulary of the rules.

Machine codes are stable (they appear in the API, in events and in exports). The requirement
labels and the French date live here because every sentence uses them; the status and reason
labels and the articles of law are in `labels.py`, the sentences in `reasons.py`.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final


class HolderKind(StrEnum):
    FRENCH = "french"  # has a SIREN: D8222-5 C. trav.
    FOREIGN = "foreign"  # established abroad: D8222-7 and D8222-8 C. trav.


class RequirementType(StrEnum):
    REGISTRATION = "registration"
    URSSAF_VIGILANCE = "urssaf_vigilance"
    MSA_VIGILANCE = "msa_vigilance"
    DGFIP_FISCAL = "dgfip_fiscal"
    FNTP_CARD = "fntp_card"
    QUALIBAT = "qualibat"
    RGE = "rge"
    CNETP = "cnetp"
    CIBTP = "cibtp"
    OPQIBI = "opqibi"
    PROBTP = "probtp"
    FOREIGN_VAT = "foreign_vat"
    FOREIGN_SOCIAL_COVER = "foreign_social_cover"
    FOREIGN_REGISTRATION = "foreign_registration"
    FOREIGN_WORKERS_LIST = "foreign_workers_list"  # LNTE: D8254-2 to D8254-5 C. trav.


class RequirementStatus(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    MISSING = "missing"
    REFUSED = "refused"
    AWAITING_UPLOAD = "awaiting_upload"
    UNDER_REVIEW = "under_review"
    REJECTED = "rejected"
    UPSTREAM_PENDING = "upstream_pending"


class OverallStatus(StrEnum):
    COMPLIANT = "compliant"
    AT_RISK = "at_risk"
    NON_COMPLIANT = "non_compliant"
    NOT_CHECKED = "not_checked"


class ReasonCode(StrEnum):
    """Stable reason codes. A reason explains a status; it never changes the code it explains."""

    NOT_CHECKED = "not_checked"
    DOCUMENT_MISSING = "document_missing"
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_EXPIRING = "document_expiring"
    DOCUMENT_EXPIRED_BETWEEN_CHECKS = "document_expired_between_checks"
    URSSAF_REFUSED = "urssaf_refused"
    MSA_REFUSED = "msa_refused"
    DGFIP_REFUSED = "dgfip_refused"
    CERTIFICATE_REFUSED = "certificate_refused"
    AWAITING_UPLOAD = "awaiting_upload"
    UPSTREAM_PENDING = "upstream_pending"
    UNDER_REVIEW = "under_review"
    DOCUMENT_REJECTED = "document_rejected"
    COMPANY_CEASED = "company_ceased"
    STRUCK_OFF = "struck_off"
    LIQUIDATION = "liquidation"
    COLLECTIVE_PROCEEDINGS = "collective_proceedings"
    CHECK_FAILED = "check_failed"
    REQUEST_NOT_SENT = "request_not_sent"
    REQUEST_SENT = "request_sent"


# Reasons that make the supplier non-compliant whatever the status of the requirement carrying them:
# a ceased or struck-off company cannot perform the contract (L8221-3, D8222-5 2° C. trav.), and a
# company in liquidation judiciaire is excluded from public contracts (L2141-3 C. commande publique).
BLOCKING_REASONS: Final = frozenset(
    {ReasonCode.COMPANY_CEASED, ReasonCode.STRUCK_OFF, ReasonCode.LIQUIDATION}
)
# Reasons that put the supplier at risk even when every document is valid.
WARNING_REASONS: Final = frozenset({ReasonCode.COLLECTIVE_PROCEEDINGS})
# Reasons that only inform: they never make a status worse than the evidence makes it.
INFO_REASONS: Final = frozenset(
    {
        ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS,
        ReasonCode.CHECK_FAILED,
        ReasonCode.REQUEST_NOT_SENT,
        ReasonCode.REQUEST_SENT,
    }
)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a status is what it is: `{code, message, since, evidence, requirement, article}`.

    `since` is the day the situation began (first day a due date went unmet, day refused, day of
    the request); `evidence` is the document id or the upstream call reference behind it;
    `requirement` says which requirement the reason belongs to, so reasons stay readable once
    aggregated; `article` is the text of law the reason applies ("Code du travail, art. D8222-5,
    1°"). Standard types only, defaults last: the engine serialises it with pydantic.
    """

    code: str
    message: str
    since: date | None = None
    evidence: str | None = None
    requirement: RequirementType | None = None
    article: str | None = None


REQUIREMENT_LABELS_FR: Final[dict[RequirementType, str]] = {
    RequirementType.REGISTRATION: "l'immatriculation de l'entreprise",
    RequirementType.URSSAF_VIGILANCE: "l'attestation de vigilance URSSAF",
    RequirementType.MSA_VIGILANCE: "l'attestation de vigilance MSA",
    RequirementType.DGFIP_FISCAL: "l'attestation de régularité fiscale",
    RequirementType.FNTP_CARD: "la carte professionnelle FNTP",
    RequirementType.QUALIBAT: "le certificat Qualibat",
    RequirementType.RGE: "la certification RGE",
    RequirementType.CNETP: "l'attestation CNETP (congés payés, travaux publics)",
    RequirementType.CIBTP: "l'attestation CIBTP (congés payés, bâtiment)",
    RequirementType.OPQIBI: "le certificat OPQIBI",
    RequirementType.PROBTP: "l'attestation PRO BTP",
    RequirementType.FOREIGN_VAT: "le justificatif de numéro de TVA ou de représentant fiscal",
    RequirementType.FOREIGN_SOCIAL_COVER: (
        "le justificatif de couverture sociale (A1 ou équivalent)"
    ),
    RequirementType.FOREIGN_REGISTRATION: "l'extrait du registre du pays d'établissement",
    RequirementType.FOREIGN_WORKERS_LIST: "la liste nominative des salariés étrangers",
}

_MONTHS_FR: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def format_date_fr(day: date) -> str:
    """`1er mars 2026`, `28 février 2027`: the way dates read in a French sentence."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {_MONTHS_FR[day.month - 1]} {day.year}"


def requirement_label_fr(rtype: RequirementType, *, capitalize: bool = False) -> str:
    label = REQUIREMENT_LABELS_FR[rtype]
    return label[0].upper() + label[1:] if capitalize else label
