"""French words of the rules: labels of statuses, reasons and requirements, the article of law
behind each requirement, and what a contractor must upload when only it can provide a document."""

from typing import Final

from app.compliance.rules.codes import (
    REQUIREMENT_LABELS_FR,
    OverallStatus,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    format_date_fr,
    requirement_label_fr,
)

__all__ = [
    "OVERALL_STATUS_LABELS_FR",
    "REASON_LABELS_FR",
    "REQUIREMENT_ARTICLES",
    "REQUIREMENT_LABELS_FR",
    "REQUIREMENT_STATUS_LABELS_FR",
    "STATUS_LABELS_FR",
    "UPLOAD_GUIDANCE_FR",
    "format_date_fr",
    "requirement_label_fr",
    "status_label_fr",
]

_SECTOR_ARTICLE: Final = "Exigence du contrat (hors liste de l'art. D8222-5 du code du travail)"

# The text each requirement comes from (cited by every reason about it).
REQUIREMENT_ARTICLES: Final[dict[RequirementType, str]] = {
    RequirementType.REGISTRATION: "Code du travail, art. D8222-5, 2°",
    RequirementType.URSSAF_VIGILANCE: "Code du travail, art. D8222-5, 1°",
    RequirementType.MSA_VIGILANCE: (
        "Code du travail, art. D8222-5, 1° ; code de la sécurité sociale, art. L243-15"
    ),
    RequirementType.DGFIP_FISCAL: "Code de la commande publique, art. R2143-7",
    RequirementType.FNTP_CARD: _SECTOR_ARTICLE,
    RequirementType.QUALIBAT: _SECTOR_ARTICLE,
    RequirementType.RGE: _SECTOR_ARTICLE,
    RequirementType.CNETP: _SECTOR_ARTICLE,
    RequirementType.CIBTP: _SECTOR_ARTICLE,
    RequirementType.OPQIBI: _SECTOR_ARTICLE,
    RequirementType.PROBTP: _SECTOR_ARTICLE,
    RequirementType.FOREIGN_VAT: "Code du travail, art. D8222-7, 1° a) et D8222-8",
    RequirementType.FOREIGN_SOCIAL_COVER: "Code du travail, art. D8222-7, 1° b) et D8222-8",
    RequirementType.FOREIGN_REGISTRATION: "Code du travail, art. D8222-7, 2° et D8222-8",
    RequirementType.FOREIGN_WORKERS_LIST: (
        "Code du travail, art. D8254-2 à D8254-5 ; code de la commande publique, art. R2143-8"
    ),
}

_IN_FRENCH: Final = (
    "rédigé en français ou accompagné d'une traduction en français "
    "(art. D8222-8 du code du travail)"
)

# What the contractor has to upload for the documents only it can provide (the sentence that
# follows "à déposer par le titulaire : "): D8222-7 1° a), 1° b), 2° and D8222-8; D8254-2.
UPLOAD_GUIDANCE_FR: Final[dict[RequirementType, str]] = {
    RequirementType.FOREIGN_VAT: (
        "un document mentionnant son numéro individuel d'identification à la TVA (art. 286 ter "
        "du code général des impôts) ou, s'il n'est pas tenu d'en avoir un, son identité et son "
        f"adresse ou les coordonnées de son représentant fiscal en France, {_IN_FRENCH}"
    ),
    RequirementType.FOREIGN_SOCIAL_COVER: (
        "un document attestant la régularité de sa situation sociale au regard du règlement (CE) "
        "n° 883/2004 ou d'une convention internationale de sécurité sociale (certificat A1 ou "
        f"équivalent), {_IN_FRENCH}"
    ),
    RequirementType.FOREIGN_REGISTRATION: (
        "un document du registre professionnel de son pays d'établissement certifiant son "
        "inscription (ou un devis, un document publicitaire ou une correspondance professionnelle "
        "portant son nom, son adresse complète et la nature de l'inscription ; pour une "
        "entreprise en cours de création, la demande d'immatriculation datant de moins de six "
        f"mois), {_IN_FRENCH}"
    ),
    RequirementType.FOREIGN_WORKERS_LIST: (
        "la liste nominative des salariés étrangers soumis à autorisation de travail, avec pour "
        "chacun la date d'embauche, la nationalité, le type et le numéro d'ordre du titre valant "
        "autorisation de travail"
    ),
}

REQUIREMENT_STATUS_LABELS_FR: Final[dict[RequirementStatus, str]] = {
    RequirementStatus.VALID: "Valide",
    RequirementStatus.EXPIRING: "Expire bientôt",
    RequirementStatus.EXPIRED: "Expirée",
    RequirementStatus.MISSING: "Manquante",
    RequirementStatus.REFUSED: "Refusée",
    RequirementStatus.AWAITING_UPLOAD: "En attente de dépôt",
    RequirementStatus.UNDER_REVIEW: "En cours de vérification",
    RequirementStatus.REJECTED: "Rejetée",
    RequirementStatus.UPSTREAM_PENDING: "En attente de la source",
}

OVERALL_STATUS_LABELS_FR: Final[dict[OverallStatus, str]] = {
    OverallStatus.COMPLIANT: "Conforme",
    OverallStatus.AT_RISK: "À risque",
    OverallStatus.NON_COMPLIANT: "Non conforme",
    OverallStatus.NOT_CHECKED: "Non vérifié",
}

# Both tables in one, by code (the two enums share no code).
STATUS_LABELS_FR: Final[dict[str, str]] = {
    **{str(k): v for k, v in REQUIREMENT_STATUS_LABELS_FR.items()},
    **{str(k): v for k, v in OVERALL_STATUS_LABELS_FR.items()},
}

REASON_LABELS_FR: Final[dict[ReasonCode, str]] = {
    ReasonCode.NOT_CHECKED: "Pas encore vérifié",
    ReasonCode.DOCUMENT_MISSING: "Document manquant",
    ReasonCode.DOCUMENT_EXPIRED: "Document expiré",
    ReasonCode.DOCUMENT_EXPIRING: "Document à renouveler avant la prochaine échéance",
    ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS: "Document expiré depuis l'échéance (information)",
    ReasonCode.URSSAF_REFUSED: "Attestation refusée par l'URSSAF",
    ReasonCode.MSA_REFUSED: "Attestation refusée par la MSA",
    ReasonCode.DGFIP_REFUSED: "Attestation refusée par la DGFIP",
    ReasonCode.CERTIFICATE_REFUSED: "Certificat refusé par l'organisme",
    ReasonCode.AWAITING_UPLOAD: "Document à déposer par le titulaire",
    ReasonCode.UPSTREAM_PENDING: "Réponse de la source en attente",
    ReasonCode.UNDER_REVIEW: "Document déposé en cours de vérification",
    ReasonCode.DOCUMENT_REJECTED: "Document déposé rejeté",
    ReasonCode.COMPANY_CEASED: "Entreprise cessée",
    ReasonCode.STRUCK_OFF: "Entreprise radiée",
    ReasonCode.LIQUIDATION: "Liquidation judiciaire",
    ReasonCode.COLLECTIVE_PROCEEDINGS: "Procédure collective (sauvegarde ou redressement)",
    ReasonCode.CHECK_FAILED: "Vérification impossible (problème technique de Vigie)",
    ReasonCode.REQUEST_NOT_SENT: "Titulaire pas encore sollicité",
    ReasonCode.REQUEST_SENT: "Titulaire sollicité",
}


def status_label_fr(status: RequirementStatus | OverallStatus | str) -> str:
    """The French label of a requirement or overall status code."""
    return STATUS_LABELS_FR[str(status)]
