"""From evidence to a requirement status, and from requirement statuses to an overall status."""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from app.compliance.rules.codes import (
    BLOCKING_REASONS,
    WARNING_REASONS,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    format_date_fr,
    requirement_label_fr,
)
from app.compliance.rules.evidence import Evidence, EvidenceKind, effective_valid_until
from app.compliance.rules.requirements import CompliancePolicy

__all__ = [
    "OverallResult",
    "RequirementResult",
    "combine_statuses",
    "overall_status",
    "requirement_status",
]

_DATED_GAPS = frozenset(
    {ReasonCode.DOCUMENT_EXPIRED, ReasonCode.DOCUMENT_MISSING, ReasonCode.NOT_CHECKED}
)


class RequirementResult(NamedTuple):
    status: RequirementStatus
    reasons: list[Reason]
    valid_until: date | None

    @property
    def since(self) -> date | None:
        """When an `expired`/`missing` gap began (the grace period counts from it)."""
        return next((r.since for r in self.reasons if r.code in _DATED_GAPS), None)

    @property
    def checked(self) -> bool:
        return not any(r.code == ReasonCode.NOT_CHECKED for r in self.reasons)


class OverallResult(NamedTuple):
    status: OverallStatus
    reasons: list[Reason]


_REFUSAL_CODES = {
    RequirementType.URSSAF_VIGILANCE: (
        ReasonCode.URSSAF_REFUSED,
        "L'URSSAF refuse de délivrer l'attestation de vigilance : l'entreprise n'est pas à jour "
        "de ses déclarations et paiements de cotisations sociales.",
    ),
    RequirementType.MSA_VIGILANCE: (
        ReasonCode.MSA_REFUSED,
        "La MSA refuse de délivrer l'attestation de vigilance : l'entreprise n'est pas à jour "
        "de ses déclarations et paiements de cotisations sociales.",
    ),
    RequirementType.DGFIP_FISCAL: (
        ReasonCode.DGFIP_REFUSED,
        "La DGFIP refuse de délivrer l'attestation de régularité fiscale : l'entreprise n'est pas "
        "à jour de ses obligations fiscales.",
    ),
}


def _result(
    status: RequirementStatus, valid_until: date | None = None, *reasons: Reason
) -> RequirementResult:
    return RequirementResult(status, list(reasons), valid_until)


def _company_reasons(rtype: RequirementType, evidence: Evidence) -> list[Reason]:
    """Facts about the company carried by the registration evidence (INSEE + RCS)."""
    reasons = []
    if evidence.ceased:
        reasons.append(
            Reason(
                ReasonCode.COMPANY_CEASED,
                "L'entreprise est cessée au répertoire Sirene de l'INSEE.",
                evidence.ceased_on or evidence.obtained_on,
                evidence.proof,
                rtype,
            )
        )
    if evidence.struck_off:
        reasons.append(
            Reason(
                ReasonCode.STRUCK_OFF,
                "L'entreprise est radiée du registre du commerce et des sociétés.",
                evidence.struck_off_on or evidence.obtained_on,
                evidence.proof,
                rtype,
            )
        )
    return reasons


def _collective_proceedings(rtype: RequirementType, evidence: Evidence) -> Reason:
    # A warning, not a non-compliance: a company in safeguard or reorganisation (sauvegarde,
    # redressement judiciaire) authorised to continue its activity may keep performing public
    # contracts (L2141-3 C. commande publique excludes only liquidation, or reorganisation without
    # that authorisation). The buyer has to look at the judgment, which the register does not say.
    return Reason(
        ReasonCode.COLLECTIVE_PROCEEDINGS,
        "L'entreprise fait l'objet d'une procédure collective : vérifier le jugement et "
        "l'autorisation de poursuivre l'activité (L2141-3 du code de la commande publique).",
        evidence.obtained_on,
        evidence.proof,
        rtype,
    )


def requirement_status(
    rtype: RequirementType,
    evidence: Evidence | None,
    *,
    due_on: date,
    today: date,
    policy: CompliancePolicy | None = None,
) -> RequirementResult:
    """The status of one requirement for the due date `due_on`, seen on `today`.

    `due_on` is the due date the evidence must satisfy: `current_due_date(...)`, or the first due
    date when checking ahead of notification. A delivered certificate satisfies it when obtained
    no earlier than `policy.tolerance_days` before it (D8222-5: "lors de la conclusion puis tous les
    six mois") and valid on it — or obtained after it (a late remise still counts from then on).
    A certificate obtained before that window belonged to an earlier due date: once `due_on` is
    reached it no longer counts (`missing`); before that it is judged as it stands today.
    `evidence=None` means never checked: `missing` with a `not_checked` reason.
    Returns `(status, reasons, valid_until)`; `valid_until` is the last day the document counts.
    """
    policy = policy or CompliancePolicy()
    label = requirement_label_fr(rtype)
    if evidence is None:
        message = f"Aucune vérification n'a encore été faite pour {label}."
        reason = Reason(ReasonCode.NOT_CHECKED, message, due_on, None, rtype)
        return _result(RequirementStatus.MISSING, None, reason)
    reasons_for = {
        EvidenceKind.NONE: _missing,
        EvidenceKind.REFUSED: _refused,
        EvidenceKind.UNAVAILABLE: _unavailable,
        EvidenceKind.PENDING: _pending,
        EvidenceKind.UPLOADED_PENDING_REVIEW: _under_review,
        EvidenceKind.UPLOADED_REJECTED: _rejected,
    }
    if evidence.kind in reasons_for:
        return reasons_for[evidence.kind](rtype, evidence, due_on)
    return _delivered(rtype, evidence, due_on=due_on, today=today, policy=policy)


def _missing(rtype: RequirementType, evidence: Evidence, due_on: date) -> RequirementResult:
    message = (
        f"Aucun document n'a été obtenu pour {requirement_label_fr(rtype)} "
        f"à l'échéance du {format_date_fr(due_on)}."
    )
    reason = Reason(ReasonCode.DOCUMENT_MISSING, message, due_on, evidence.proof, rtype)
    return _result(RequirementStatus.MISSING, None, reason)


def _refused(rtype: RequirementType, evidence: Evidence, due_on: date) -> RequirementResult:
    code, message = _REFUSAL_CODES.get(
        rtype,
        (
            ReasonCode.CERTIFICATE_REFUSED,
            f"L'organisme refuse de délivrer {requirement_label_fr(rtype)}.",
        ),
    )
    reason = Reason(code, message, evidence.obtained_on or due_on, evidence.proof, rtype)
    return _result(RequirementStatus.REFUSED, None, reason)


def _unavailable(rtype: RequirementType, evidence: Evidence, due_on: date) -> RequirementResult:
    # "Absence is not guilt": the source cannot deliver it for this company (micro-entrepreneur,
    # outside corporate tax, outside the provider's perimeter). The contractor uploads it instead.
    message = (
        f"La source officielle ne délivre pas {requirement_label_fr(rtype)} pour cette "
        "entreprise : le titulaire est invité à déposer le document."
    )
    since = evidence.obtained_on or due_on
    reason = Reason(ReasonCode.AWAITING_UPLOAD, message, since, evidence.proof, rtype)
    return _result(RequirementStatus.AWAITING_UPLOAD, None, reason)


def _pending(rtype: RequirementType, evidence: Evidence, due_on: date) -> RequirementResult:
    retry = evidence.retry_on
    when = f"le {format_date_fr(retry)}" if retry else "prochainement"
    message = (
        f"La source n'a pas encore répondu pour {requirement_label_fr(rtype)} "
        f"(instruction en cours ou service indisponible) : nouvel essai {when}."
    )
    since = evidence.obtained_on or due_on
    reason = Reason(ReasonCode.UPSTREAM_PENDING, message, since, evidence.proof, rtype)
    return _result(RequirementStatus.UPSTREAM_PENDING, None, reason)


def _under_review(rtype: RequirementType, evidence: Evidence, due_on: date) -> RequirementResult:
    # An uploaded URSSAF attestation counts only once its authenticity is verified (D8222-5 1°).
    message = f"Le document déposé pour {requirement_label_fr(rtype)} est en cours de vérification."
    since = evidence.obtained_on or due_on
    reason = Reason(ReasonCode.UNDER_REVIEW, message, since, evidence.proof, rtype)
    return _result(RequirementStatus.UNDER_REVIEW, evidence.valid_until, reason)


def _rejected(rtype: RequirementType, evidence: Evidence, due_on: date) -> RequirementResult:
    message = (
        f"Le document déposé pour {requirement_label_fr(rtype)} a été rejeté : "
        "le titulaire doit en déposer un nouveau."
    )
    since = evidence.obtained_on or due_on
    reason = Reason(ReasonCode.DOCUMENT_REJECTED, message, since, evidence.proof, rtype)
    return _result(RequirementStatus.REJECTED, None, reason)


def _delivered(
    rtype: RequirementType,
    evidence: Evidence,
    *,
    due_on: date,
    today: date,
    policy: CompliancePolicy,
) -> RequirementResult:
    assert evidence.obtained_on is not None  # checked by Evidence
    company = _company_reasons(rtype, evidence)
    if company:
        # The register itself contradicts the requirement: as final as an issuer's refusal.
        return RequirementResult(RequirementStatus.REFUSED, company, None)
    warnings = [_collective_proceedings(rtype, evidence)] if evidence.collective_proceedings else []
    label = requirement_label_fr(rtype)
    valid_until, by_age = effective_valid_until(rtype, evidence, policy)
    obtained = evidence.obtained_on
    in_window = obtained >= due_on - timedelta(days=policy.tolerance_days)
    if not in_window and today >= due_on:
        return RequirementResult(
            RequirementStatus.MISSING, [*_missing(rtype, evidence, due_on).reasons, *warnings], None
        )
    # The day the document must still be valid: the due date (or the late remise), and today.
    must_cover = max(due_on, obtained) if in_window else today
    if valid_until is None:
        return RequirementResult(RequirementStatus.VALID, warnings, None)
    if valid_until < today:
        since = valid_until + timedelta(days=1)
        why = f"a plus de {policy.urssaf_max_age_months} mois" if by_age else "n'est plus valide"
        message = f"Le document obtenu pour {label} {why} depuis le {format_date_fr(since)}."
        reason = Reason(ReasonCode.DOCUMENT_EXPIRED, message, since, evidence.proof, rtype)
        return RequirementResult(RequirementStatus.EXPIRED, [reason, *warnings], valid_until)
    if valid_until < must_cover or (valid_until - today).days <= policy.expiring_days:
        message = (
            f"Le document obtenu pour {label} cesse d'être valide "
            f"après le {format_date_fr(valid_until)}."
        )
        since = max(valid_until - timedelta(days=policy.expiring_days), obtained)
        reason = Reason(ReasonCode.DOCUMENT_EXPIRING, message, since, evidence.proof, rtype)
        return RequirementResult(RequirementStatus.EXPIRING, [reason, *warnings], valid_until)
    return RequirementResult(RequirementStatus.VALID, warnings, valid_until)


_AT_RISK_STATUSES = frozenset(
    {
        RequirementStatus.EXPIRING,
        RequirementStatus.AWAITING_UPLOAD,
        RequirementStatus.UNDER_REVIEW,
        RequirementStatus.UPSTREAM_PENDING,
    }
)
_RANK = {
    OverallStatus.COMPLIANT: 0,
    OverallStatus.NOT_CHECKED: 1,
    OverallStatus.AT_RISK: 2,
    OverallStatus.NON_COMPLIANT: 3,
}


def _grade(result: RequirementResult, today: date, policy: CompliancePolicy) -> OverallStatus:
    codes = {r.code for r in result.reasons}
    status = result.status
    if codes & BLOCKING_REASONS or status in (
        RequirementStatus.REFUSED,
        RequirementStatus.REJECTED,
    ):
        return OverallStatus.NON_COMPLIANT
    if status in (RequirementStatus.EXPIRED, RequirementStatus.MISSING):
        since = result.since
        # An undated gap cannot be shown to be within its grace period: treat it as past it.
        if since is None or (today - since).days > policy.grace_days:
            return OverallStatus.NON_COMPLIANT
        return OverallStatus.AT_RISK
    if status in _AT_RISK_STATUSES or codes & WARNING_REASONS:
        return OverallStatus.AT_RISK
    return OverallStatus.COMPLIANT


def overall_status(
    requirements: Iterable[RequirementResult | tuple[RequirementStatus, list[Reason], date | None]],
    *,
    today: date,
    policy: CompliancePolicy | None = None,
) -> OverallResult:
    """The status of a supplier under a contract, from the statuses of its requirements.

    - `non_compliant`: a requirement is `refused` or `rejected`, or `expired`/`missing` for more
      than `grace_days` days (counted from its reason's `since`), or the company is ceased or
      struck off (DOMAIN.md red flags; L8222-2 C. trav. makes the buyer jointly liable);
    - `at_risk`: a requirement is `expiring`, `awaiting_upload`, `under_review`,
      `upstream_pending`, or `expired`/`missing` within the grace period, or carries a warning
      (collective proceedings);
    - `compliant`: every requirement is `valid` without warning;
    - `not_checked`: no requirement has been checked yet (or there is none). Once one has, a
      requirement still never checked counts as `missing` since its due date.
    Reasons: those of every requirement that is not plainly valid, the worst first.
    """
    policy = policy or CompliancePolicy()
    results = [RequirementResult(*item) for item in requirements]
    if not any(result.checked for result in results):
        reasons = [reason for result in results for reason in result.reasons]
        return OverallResult(OverallStatus.NOT_CHECKED, _unique(reasons))
    graded = [OverallResult(_grade(result, today, policy), result.reasons) for result in results]
    return combine_statuses(graded)


def combine_statuses(
    results: Iterable[OverallResult | tuple[OverallStatus, list[Reason]]],
) -> OverallResult:
    """Worst wins: a contract over its holders (non_compliant > at_risk > not_checked > compliant).

    Reasons are concatenated, the worst results' first, without duplicates. No result at all is
    `not_checked`.
    """
    items = sorted(
        (OverallResult(OverallStatus(status), list(reasons)) for status, reasons in results),
        key=lambda item: -_RANK[item.status],
    )
    if not items:
        return OverallResult(OverallStatus.NOT_CHECKED, [])
    reasons = [
        reason
        for item in items
        if item.status is not OverallStatus.COMPLIANT
        for reason in item.reasons
    ]
    return OverallResult(items[0].status, _unique(reasons))


def _unique(reasons: Iterable[Reason]) -> list[Reason]:
    return list(dict.fromkeys(reasons))
