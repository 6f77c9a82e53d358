"""From the evidence of one requirement to its status, judged against the law's periodic duty.

L8222-1 C. trav. asks for the check "lors de la conclusion" and "périodiquement jusqu'à la fin de
son exécution"; D8222-5 (D8222-7 for a foreign holder) makes it every six months, each time with
an attestation "datant de moins de six mois". So a requirement is judged due date by due date: a
certificate obtained for a due date (within `policy.tolerance_days` before it, or late, after it)
and valid on that day satisfies the whole period until the next due date, even when its own
validity ends in between (then an information, `document_expired_between_checks`, never a gap).
"""

from datetime import date, datetime, timedelta

from app.compliance.rules import reasons as why
from app.compliance.rules.codes import Reason, ReasonCode, RequirementStatus, RequirementType
from app.compliance.rules.evidence import Evidence, EvidenceKind, effective_valid_until
from app.compliance.rules.requirements import UPLOAD_ONLY_TYPES, CompliancePolicy
from app.compliance.rules.results import GAP_STATUSES, RequirementResult, becomes_non_compliant_on

__all__ = ["requirement_status"]

S = RequirementStatus


def _day(value: date | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def requirement_status(
    rtype: RequirementType | str,
    evidence: Evidence | None,
    *,
    due_on: date,
    today: date,
    policy: CompliancePolicy | None = None,
    next_due_on: date | None = None,
    check_failed: bool = False,
    requested_on: date | None = None,
) -> RequirementResult:
    """The status of one requirement for the due date `due_on`, seen on `today`.

    - `due_on`: the due date the evidence must satisfy (`current_due_date(...)`, or the first due
      date when checking ahead of notification, R2143-7 C. commande publique).
    - `next_due_on`: the following due date (`next_due_date(...)`), None when the contract ends
      before another one. `expiring` means: the next due date is at most `policy.expiring_days`
      away and the document will not be valid on it. Ahead of `due_on`, `due_on` is that date.
    - `check_failed`: Vigie's last attempt failed on its own side (401/403 from the source, a
      missing privilege, an unusable answer). The status stays what the evidence gives, with a
      `check_failed` reason; such a requirement never makes the supplier non-compliant by itself.
    - `requested_on`: the first recorded request to the contractor for the current gap (e-mail,
      printed link, officer's note). A gap (`missing`, `expired`) becomes a non-compliance
      `policy.grace_days` after it (see `becomes_non_compliant_on`); without it, the result
      carries `request_not_sent` and stays a risk.

    Evidence: `None` means never checked: `missing` with `not_checked`, except for the documents
    only the contractor can provide (foreign holder, D8222-7; foreign employees, D8254-2), which
    start `awaiting_upload`. A delivered certificate satisfies `due_on` when obtained no earlier
    than `tolerance_days` before it and valid on it, or obtained after it and valid on that day
    (a late remise counts from then on). The URSSAF/MSA age limit (D8222-5 1°: less than six
    months old) applies on that same day (`effective_valid_until`). A certificate obtained before
    the window belongs to an earlier due date: once `due_on` is reached it no longer counts; ahead
    of `due_on` it is judged as it stands today. `valid_until` is the last day the document counts.
    """
    policy = policy or CompliancePolicy()
    if evidence is not None and evidence.sandbox and not policy.sandbox_counts:
        evidence = None  # invented by the sandbox: no proof outside development
    rtype = RequirementType(rtype)
    if next_due_on is not None and next_due_on <= due_on:
        raise ValueError(f"next_due_on {next_due_on} is not after due_on {due_on}")
    judged = _judge(
        rtype, evidence, due_on=due_on, today=today, policy=policy, next_due_on=next_due_on
    )
    return _with_follow_up(
        rtype, judged, requested_on=_day(requested_on), check_failed=check_failed, policy=policy
    )


def _judge(
    rtype: RequirementType,
    evidence: Evidence | None,
    *,
    due_on: date,
    today: date,
    policy: CompliancePolicy,
    next_due_on: date | None,
) -> RequirementResult:
    upload_only = rtype in UPLOAD_ONLY_TYPES
    if evidence is None or (evidence.kind is EvidenceKind.NONE and upload_only):
        if upload_only:
            proof = evidence.proof if evidence else None
            reason = why.awaiting_upload(rtype, due_on, proof, due_on=due_on)
            return RequirementResult(S.AWAITING_UPLOAD, [reason], None)
        return RequirementResult(S.MISSING, [why.not_checked(rtype, due_on)], None)
    proof = evidence.proof
    since = evidence.obtained_on or due_on
    match evidence.kind:
        case EvidenceKind.NONE:
            return RequirementResult(S.MISSING, [why.missing(rtype, due_on, proof)], None)
        case EvidenceKind.REFUSED:
            return RequirementResult(S.REFUSED, [why.refused(rtype, since, proof)], None)
        case EvidenceKind.UNAVAILABLE:
            # Absence is not guilt: the source cannot deliver it for this company
            # (micro-entrepreneur, outside corporate tax, outside the provider's perimeter).
            reason = why.awaiting_upload(rtype, since, proof)
            return RequirementResult(S.AWAITING_UPLOAD, [reason], None)
        case EvidenceKind.PENDING:
            reason = why.pending(rtype, since, _day(evidence.retry_on), proof)
            return RequirementResult(S.UPSTREAM_PENDING, [reason], None)
        case EvidenceKind.UPLOADED_PENDING_REVIEW:
            reason = why.under_review(rtype, since, proof)
            return RequirementResult(S.UNDER_REVIEW, [reason], evidence.valid_until)
        case EvidenceKind.UPLOADED_REJECTED:
            return RequirementResult(S.REJECTED, [why.rejected(rtype, since, proof)], None)
    return _delivered(
        rtype, evidence, due_on=due_on, today=today, policy=policy, next_due_on=next_due_on
    )


def _company_facts(rtype: RequirementType, evidence: Evidence) -> tuple[list[Reason], list[Reason]]:
    """Facts about the company carried by the registration evidence (INSEE + register): those
    that contradict the requirement (ceased, struck off), and the collective proceedings."""
    proof, obtained = evidence.proof, evidence.obtained_on
    facts = []
    if evidence.ceased:
        facts.append(why.company_ceased(rtype, evidence.ceased_on or obtained, proof))
    if evidence.struck_off:
        facts.append(why.struck_off(rtype, evidence.struck_off_on or obtained, proof))
    judged_on = evidence.proceedings_on or obtained
    if evidence.liquidation:
        proceedings = [why.liquidation(rtype, judged_on, proof)]
    elif evidence.collective_proceedings:
        proceedings = [why.collective_proceedings(rtype, judged_on, proof)]
    else:
        proceedings = []
    return facts, proceedings


def _delivered(
    rtype: RequirementType,
    evidence: Evidence,
    *,
    due_on: date,
    today: date,
    policy: CompliancePolicy,
    next_due_on: date | None,
) -> RequirementResult:
    obtained = evidence.obtained_on
    assert obtained is not None  # checked by Evidence
    proof = evidence.proof
    facts, proceedings = _company_facts(rtype, evidence)
    if facts:
        # The register itself contradicts the requirement: as final as an issuer's refusal.
        return RequirementResult(S.REFUSED, [*facts, *proceedings], None)
    valid_until, by_age = effective_valid_until(rtype, evidence, policy)
    age = policy.urssaf_max_age_months if by_age else None
    in_window = obtained >= due_on - timedelta(days=policy.tolerance_days)
    ahead = today < due_on

    if not in_window and not ahead:
        # It served an earlier due date; nothing was obtained for this one.
        if rtype in UPLOAD_ONLY_TYPES:
            gap = why.awaiting_upload(rtype, due_on, proof, due_on=due_on)
            return RequirementResult(S.AWAITING_UPLOAD, [gap, *proceedings], None)
        return RequirementResult(S.MISSING, [why.missing(rtype, due_on, proof), *proceedings], None)

    # The day it must be valid: the due date, or the day of a late remise. Ahead of the due date,
    # a certificate from before the window is only judged as it stands today.
    must_cover = max(due_on, obtained) if in_window else today
    if valid_until is not None and valid_until < min(must_cover, today):
        # It did not cover its due date: the gap began at the due date, never earlier.
        gap = why.expired(rtype, due_on, valid_until + timedelta(days=1), age, proof)
        return RequirementResult(S.EXPIRED, [gap, *proceedings], valid_until)

    reasons: list[Reason] = []
    coming = due_on if ahead else next_due_on
    if (
        coming is not None
        and valid_until is not None
        and valid_until < coming
        and ((ahead and in_window) or (coming - today).days <= policy.expiring_days)
    ):
        since = max(coming - timedelta(days=policy.expiring_days), obtained)
        reasons.append(why.expiring(rtype, coming, valid_until, since, proof))
    if not ahead and valid_until is not None and valid_until < today:
        ended_on = valid_until + timedelta(days=1)
        reasons.append(
            why.expired_between_checks(
                rtype, due_on, ended_on, age, proof, upload_only=rtype in UPLOAD_ONLY_TYPES
            )
        )
    status = S.EXPIRING if reasons and reasons[0].code == ReasonCode.DOCUMENT_EXPIRING else S.VALID
    return RequirementResult(status, [*reasons, *proceedings], valid_until)


def _with_follow_up(
    rtype: RequirementType,
    judged: RequirementResult,
    *,
    requested_on: date | None,
    check_failed: bool,
    policy: CompliancePolicy,
) -> RequirementResult:
    """Add what the buyer did (the request to the contractor) and what Vigie could not do (a
    failed check), then the day waiting makes the gap a non-compliance."""
    reasons = list(judged.reasons)
    codes = {r.code for r in reasons}
    asked = judged.status in GAP_STATUSES or judged.status is S.AWAITING_UPLOAD
    if asked and requested_on is not None:
        reasons.append(why.request_sent(rtype, requested_on, None, policy.grace_days))
    elif asked and ReasonCode.NOT_CHECKED not in codes:
        # Never checked: the next step is Vigie's check, not a request to the contractor.
        reasons.append(why.request_not_sent(rtype, reasons[0].since))
    if check_failed:
        reasons.append(why.check_failed(rtype))
    result = judged._replace(reasons=reasons)
    deadline = becomes_non_compliant_on(result, policy=policy)
    if deadline is not None and requested_on is not None:
        request = why.request_sent(rtype, requested_on, deadline, policy.grace_days)
        reasons = [request if r.code == ReasonCode.REQUEST_SENT else r for r in reasons]
    return result._replace(reasons=reasons, non_compliant_on=deadline)
