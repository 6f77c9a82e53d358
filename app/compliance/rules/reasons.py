"""Each reason the rules give, with its French sentence and the article of law it applies.

One function per reason code; `status.py` decides which apply. Dates in sentences read the
French way (`format_date_fr`); `since` is the day the situation began.
"""

from datetime import date

from app.compliance.rules.codes import Reason, ReasonCode, RequirementType
from app.compliance.rules.labels import (
    REQUIREMENT_ARTICLES,
    UPLOAD_GUIDANCE_FR,
    format_date_fr,
    requirement_label_fr,
)

_SOCIAL_ARTICLE = "Code du travail, art. D8222-5, 1° ; code de la sécurité sociale, art. L243-15"
_REGISTER_ARTICLE = "Code du travail, art. D8222-5, 2°"
_EXCLUSION_ARTICLE = "Code de la commande publique, art. L2141-3"
# The authenticity of an uploaded attestation is checked by its security code (D243-15 CSS).
_AUTHENTICITY_ARTICLE = "code de la sécurité sociale, art. D243-15"

_REFUSALS = {
    RequirementType.URSSAF_VIGILANCE: (
        ReasonCode.URSSAF_REFUSED,
        "L'URSSAF refuse de délivrer l'attestation de vigilance : l'entreprise n'est pas à jour "
        "de ses déclarations et paiements de cotisations sociales.",
        _SOCIAL_ARTICLE,
    ),
    RequirementType.MSA_VIGILANCE: (
        ReasonCode.MSA_REFUSED,
        "La MSA refuse de délivrer l'attestation de vigilance : l'entreprise n'est pas à jour "
        "de ses déclarations et paiements de cotisations sociales.",
        _SOCIAL_ARTICLE,
    ),
    RequirementType.DGFIP_FISCAL: (
        ReasonCode.DGFIP_REFUSED,
        "La DGFIP refuse de délivrer l'attestation de régularité fiscale : l'entreprise n'est pas "
        "à jour de ses obligations fiscales.",
        "Code de la commande publique, art. L2141-2 et R2143-7",
    ),
}


def _reason(
    code: ReasonCode,
    rtype: RequirementType,
    message: str,
    since: date | None,
    proof: str | None = None,
    article: str | None = None,
) -> Reason:
    return Reason(code, message, since, proof, rtype, article or REQUIREMENT_ARTICLES[rtype])


def _label(rtype: RequirementType) -> str:
    return requirement_label_fr(rtype)


def not_checked(rtype: RequirementType, due_on: date) -> Reason:
    message = f"Aucune vérification n'a encore été faite pour {_label(rtype)}."
    return _reason(ReasonCode.NOT_CHECKED, rtype, message, due_on)


def missing(rtype: RequirementType, due_on: date, proof: str | None) -> Reason:
    message = (
        f"Aucun document n'a été obtenu pour {_label(rtype)} "
        f"à l'échéance du {format_date_fr(due_on)}."
    )
    return _reason(ReasonCode.DOCUMENT_MISSING, rtype, message, due_on, proof)


def _ended(ended_on: date, by_age_months: int | None) -> str:
    when = format_date_fr(ended_on)
    if by_age_months:
        return f"a plus de {by_age_months} mois depuis le {when}"
    return f"n'est plus valide depuis le {when}"


def expired(
    rtype: RequirementType,
    due_on: date,
    ended_on: date,
    by_age_months: int | None,
    proof: str | None,
) -> Reason:
    """The document obtained for this due date did not cover it: the gap began at the due date."""
    message = (
        f"Le document obtenu pour {_label(rtype)} {_ended(ended_on, by_age_months)} : "
        f"il ne peut pas servir pour l'échéance du {format_date_fr(due_on)}."
    )
    return _reason(ReasonCode.DOCUMENT_EXPIRED, rtype, message, due_on, proof)


def expired_between_checks(
    rtype: RequirementType,
    due_on: date,
    ended_on: date,
    by_age_months: int | None,
    proof: str | None,
    *,
    upload_only: bool,
) -> Reason:
    """Information only: the due date was satisfied, the period stays in order (D8222-5)."""
    fresh = (
        "un document à jour sera demandé au titulaire"
        if upload_only
        else "un document à jour est en cours d'obtention"
    )
    message = (
        f"Le document obtenu pour {_label(rtype)} {_ended(ended_on, by_age_months)}. Il était "
        f"valide à l'échéance du {format_date_fr(due_on)}, qui reste remplie jusqu'à la "
        f"prochaine échéance ; {fresh}."
    )
    return _reason(ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS, rtype, message, ended_on, proof)


def expiring(
    rtype: RequirementType, coming: date, valid_until: date, since: date, proof: str | None
) -> Reason:
    message = (
        f"Le document obtenu pour {_label(rtype)} cesse d'être valide après le "
        f"{format_date_fr(valid_until)} : il ne couvrira pas l'échéance du "
        f"{format_date_fr(coming)}, un nouveau document doit être obtenu d'ici là."
    )
    return _reason(ReasonCode.DOCUMENT_EXPIRING, rtype, message, since, proof)


def refused(rtype: RequirementType, since: date, proof: str | None) -> Reason:
    code, message, article = _REFUSALS.get(
        rtype,
        (
            ReasonCode.CERTIFICATE_REFUSED,
            f"L'organisme refuse de délivrer {_label(rtype)}.",
            None,
        ),
    )
    return _reason(code, rtype, message, since, proof, article)


def awaiting_upload(
    rtype: RequirementType, since: date, proof: str | None, *, due_on: date | None = None
) -> Reason:
    """The document can only come from the contractor: the source cannot deliver it for this
    company (absence is not guilt), or no French source ever does (`UPLOAD_GUIDANCE_FR`)."""
    guidance = UPLOAD_GUIDANCE_FR.get(rtype)
    if guidance is None:
        message = (
            f"La source officielle ne délivre pas {_label(rtype)} pour cette entreprise : "
            "le titulaire est invité à déposer le document."
        )
    else:
        when = f" pour l'échéance du {format_date_fr(due_on)}" if due_on else ""
        message = f"Document à déposer par le titulaire{when} : {guidance}."
    return _reason(ReasonCode.AWAITING_UPLOAD, rtype, message, since, proof)


def pending(
    rtype: RequirementType, since: date, retry_on: date | None, proof: str | None
) -> Reason:
    when = f"le {format_date_fr(retry_on)}" if retry_on else "prochainement"
    message = (
        f"La source n'a pas encore répondu pour {_label(rtype)} "
        f"(instruction en cours ou service indisponible) : nouvel essai {when}."
    )
    return _reason(ReasonCode.UPSTREAM_PENDING, rtype, message, since, proof)


def under_review(rtype: RequirementType, since: date, proof: str | None) -> Reason:
    # An uploaded URSSAF (or MSA) attestation counts only once its authenticity is verified.
    article = None
    if rtype in (RequirementType.URSSAF_VIGILANCE, RequirementType.MSA_VIGILANCE):
        article = f"{REQUIREMENT_ARTICLES[rtype]} ; {_AUTHENTICITY_ARTICLE}"
    message = f"Le document déposé pour {_label(rtype)} est en cours de vérification."
    return _reason(ReasonCode.UNDER_REVIEW, rtype, message, since, proof, article)


def rejected(rtype: RequirementType, since: date, proof: str | None) -> Reason:
    message = (
        f"Le document déposé pour {_label(rtype)} a été rejeté : "
        "le titulaire doit en déposer un nouveau."
    )
    return _reason(ReasonCode.DOCUMENT_REJECTED, rtype, message, since, proof)


def company_ceased(rtype: RequirementType, since: date | None, proof: str | None) -> Reason:
    message = "L'entreprise est cessée au répertoire Sirene de l'INSEE."
    return _reason(ReasonCode.COMPANY_CEASED, rtype, message, since, proof, _REGISTER_ARTICLE)


def struck_off(rtype: RequirementType, since: date | None, proof: str | None) -> Reason:
    message = "L'entreprise est radiée du registre du commerce et des sociétés."
    return _reason(ReasonCode.STRUCK_OFF, rtype, message, since, proof, _REGISTER_ARTICLE)


def _judgment(since: date | None) -> str:
    return f" (jugement du {format_date_fr(since)})" if since else ""


def liquidation(rtype: RequirementType, since: date | None, proof: str | None) -> Reason:
    # L2141-3 1° C. commande publique: a company in liquidation judiciaire is excluded.
    message = (
        f"L'entreprise est en liquidation judiciaire{_judgment(since)} : elle est exclue des "
        "marchés publics (article L2141-3 du code de la commande publique)."
    )
    return _reason(ReasonCode.LIQUIDATION, rtype, message, since, proof, _EXCLUSION_ARTICLE)


def collective_proceedings(rtype: RequirementType, since: date | None, proof: str | None) -> Reason:
    # A warning, not a non-compliance: a company in safeguard or reorganisation (sauvegarde,
    # redressement judiciaire) authorised to continue its activity may keep performing public
    # contracts (L2141-3 C. commande publique excludes only liquidation, or reorganisation without
    # that authorisation). The buyer has to look at the judgment, which the register does not say.
    message = (
        f"L'entreprise fait l'objet d'une procédure collective{_judgment(since)} : vérifier le "
        "jugement et l'autorisation de poursuivre l'activité (L2141-3 du code de la commande "
        "publique)."
    )
    return _reason(
        ReasonCode.COLLECTIVE_PROCEEDINGS, rtype, message, since, proof, _EXCLUSION_ARTICLE
    )


def check_failed(rtype: RequirementType) -> Reason:
    message = (
        f"La dernière vérification de {_label(rtype)} n'a pas pu être faite à cause d'un "
        "problème technique chez Vigie : ce n'est pas du fait du fournisseur, et le statut "
        "affiché est celui des dernières pièces obtenues."
    )
    return _reason(ReasonCode.CHECK_FAILED, rtype, message, None)


def request_not_sent(rtype: RequirementType, since: date | None) -> Reason:
    message = (
        f"Le titulaire n'a pas encore été sollicité pour {_label(rtype)} : "
        "aucune demande ne lui a été envoyée."
    )
    return _reason(ReasonCode.REQUEST_NOT_SENT, rtype, message, since)


def request_sent(
    rtype: RequirementType, requested_on: date, non_compliant_on: date | None, grace_days: int
) -> Reason:
    message = (
        f"Le titulaire a été sollicité le {format_date_fr(requested_on)} pour {_label(rtype)}."
    )
    if non_compliant_on is not None:
        message += (
            f" Sans document valide, le fournisseur est non conforme à compter du "
            f"{format_date_fr(non_compliant_on)} (délai de {grace_days} jours)."
        )
    return _reason(ReasonCode.REQUEST_SENT, rtype, message, requested_on)
