"""The duty is periodic (D8222-5 C. trav.): judge each due date, not the document's own calendar.

A certificate obtained for a due date (within the tolerance before it, or late after it) and valid
on that day satisfies the period until the next due date; its own end in between is information.
"""

from datetime import date, timedelta

import pytest

from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    OverallStatus,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    add_months,
    current_due_date,
    next_due_date,
    overall_status,
    requirement_status,
)

D = date
R = RequirementType
S = RequirementStatus
K = EvidenceKind
NOTIFIED = D(2026, 11, 9)
ENDS = D(2028, 11, 9)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def judged_on(today: date, evidence: Evidence | None, rtype: RequirementType = R.URSSAF_VIGILANCE):
    """As the engine calls it: the current due date and the next one of the contract."""
    due = current_due_date(NOTIFIED, ENDS, today) or NOTIFIED
    following = next_due_date(NOTIFIED, ENDS, max(today, due))
    return requirement_status(rtype, evidence, due_on=due, today=today, next_due_on=following)


def test_the_issue_example_stays_in_order_until_the_next_due_date() -> None:
    # Obtained 9 Nov 2026, valid until 31 Jan 2027, seen on 20 Feb 2027: the 9 Nov due date was
    # met, so the supplier is in order until 9 May 2027 (it used to be non_compliant).
    evidence = Evidence(
        kind=K.DELIVERED,
        obtained_on=NOTIFIED,
        issued_on=D(2026, 8, 1),
        valid_until=D(2027, 1, 31),
        document_id="att-nov",
    )
    result = judged_on(D(2027, 2, 20), evidence)
    assert result.status == S.VALID
    assert result.valid_until == D(2027, 1, 31)
    [info] = result.reasons
    assert info.code == ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS
    assert info.since == D(2027, 2, 1)
    assert "1er février 2027" in info.message and "9 novembre 2026" in info.message
    assert "en cours d'obtention" in info.message
    assert info.article == "Code du travail, art. D8222-5, 1°"
    assert overall_status([result], today=D(2027, 2, 20)).status == OverallStatus.COMPLIANT
    # Within 30 days of 9 May 2027 it is `expiring` (it will not serve that due date) …
    assert judged_on(D(2027, 4, 9), evidence).status == S.EXPIRING
    assert judged_on(D(2027, 4, 8), evidence).status == S.VALID
    # … and on 9 May 2027 it no longer counts: nothing was obtained for that due date.
    on_due = judged_on(D(2027, 5, 9), evidence)
    assert on_due.status == S.MISSING
    assert on_due.since == D(2027, 5, 9)


def test_a_fresh_certificate_fetched_ahead_of_the_next_due_date_serves_it() -> None:
    fresh = Evidence(kind=K.DELIVERED, obtained_on=D(2027, 4, 20), issued_on=D(2027, 4, 20))
    assert judged_on(D(2027, 4, 25), fresh).status == S.VALID  # late remise of 9 Nov: fine
    assert judged_on(D(2027, 5, 9), fresh).status == S.VALID  # within the May window
    assert judged_on(D(2027, 10, 9), fresh).status == S.VALID
    # Ended on 19 October, and the 9 November due date is near: expiring, with the information.
    near = judged_on(D(2027, 11, 8), fresh)
    assert near.status == S.EXPIRING
    assert [r.code for r in near.reasons] == [
        ReasonCode.DOCUMENT_EXPIRING,
        ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS,
    ]
    assert judged_on(D(2027, 11, 9), fresh).status == S.MISSING


def test_information_never_degrades_the_overall_status() -> None:
    evidence = Evidence(kind=K.DELIVERED, obtained_on=NOTIFIED, valid_until=D(2026, 12, 1))
    results = [judged_on(D(2027, 3, 1), evidence, rtype) for rtype in (R.URSSAF_VIGILANCE, R.RGE)]
    assert {r.status for r in results} == {S.VALID}
    overall = overall_status(results, today=D(2027, 3, 1))
    assert overall.status == OverallStatus.COMPLIANT
    assert {r.code for r in overall.reasons} == {ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS}
    assert overall.non_compliant_on is None


def test_an_upload_only_document_ending_between_checks_will_be_asked_again() -> None:
    evidence = Evidence(kind=K.DELIVERED, obtained_on=NOTIFIED, valid_until=D(2027, 1, 10))
    result = judged_on(D(2027, 2, 1), evidence, R.FOREIGN_SOCIAL_COVER)
    assert result.status == S.VALID
    assert "sera demandé au titulaire" in result.reasons[0].message


# --- a late remise, a remise too early, a remise that does not cover its due date -----------------


def test_a_late_remise_satisfies_the_period_from_when_it_was_obtained() -> None:
    due = NOTIFIED
    evidence = Evidence(kind=K.DELIVERED, obtained_on=due + days(40), issued_on=due + days(35))
    result = requirement_status(
        R.URSSAF_VIGILANCE, evidence, due_on=due, today=due + days(100), next_due_on=None
    )
    assert result.status == S.VALID
    assert result.valid_until == add_months(due + days(35), 6) - days(1)


def test_a_late_remise_of_a_document_already_ended_is_expired_since_the_due_date() -> None:
    due = NOTIFIED
    evidence = Evidence(kind=K.DELIVERED, obtained_on=due + days(20), valid_until=due + days(10))
    result = requirement_status(R.QUALIBAT, evidence, due_on=due, today=due + days(25))
    assert result.status == S.EXPIRED
    assert result.since == due  # nothing valid was held since the due date
    assert "20 novembre 2026" in result.reasons[0].message  # its first day out of validity


@pytest.mark.parametrize(("before", "expected"), [(30, S.VALID), (31, S.MISSING), (200, S.MISSING)])
def test_a_certificate_obtained_before_the_window_belongs_to_an_earlier_due_date(
    before: int, expected: RequirementStatus
) -> None:
    evidence = Evidence(kind=K.DELIVERED, obtained_on=NOTIFIED - days(before), valid_until=ENDS)
    result = requirement_status(R.CIBTP, evidence, due_on=NOTIFIED, today=NOTIFIED + days(3))
    assert result.status == expected


def test_ahead_of_the_first_due_date_a_certificate_is_judged_as_it_stands() -> None:
    # A contract registered before its notification is checked at once (R2143-7 CCP).
    today = NOTIFIED - days(60)
    fresh = Evidence(kind=K.DELIVERED, obtained_on=today, issued_on=today)
    assert (
        requirement_status(R.URSSAF_VIGILANCE, fresh, due_on=NOTIFIED, today=today).status
        == S.VALID
    )
    ended = Evidence(kind=K.DELIVERED, obtained_on=today, valid_until=today - days(1))
    result = requirement_status(R.QUALIBAT, ended, due_on=NOTIFIED, today=today)
    assert result.status == S.EXPIRED
    # The gap cannot start before the due date: the grace period never runs ahead of it.
    assert result.since == NOTIFIED
    asked = requirement_status(R.QUALIBAT, ended, due_on=NOTIFIED, today=today, requested_on=today)
    assert asked.non_compliant_on is None  # a sector certificate never becomes one
    asked = requirement_status(
        R.DGFIP_FISCAL, Evidence(kind=K.NONE), due_on=NOTIFIED, today=today, requested_on=today
    )
    assert asked.non_compliant_on == NOTIFIED + days(16)


def test_ahead_a_certificate_of_the_window_that_will_not_cover_its_due_date_is_expiring() -> None:
    policy = CompliancePolicy(expiring_days=0)
    evidence = Evidence(
        kind=K.DELIVERED, obtained_on=NOTIFIED - days(10), valid_until=NOTIFIED - days(1)
    )
    result = requirement_status(
        R.URSSAF_VIGILANCE, evidence, due_on=NOTIFIED, today=NOTIFIED - days(5), policy=policy
    )
    assert result.status == S.EXPIRING
    assert "9 novembre 2026" in result.reasons[0].message


def test_urssaf_age_is_judged_on_the_due_date_not_at_each_glance() -> None:
    # Issued 5 months before the due date: less than six months old on it, so the period is
    # satisfied even though the attestation turns six months old a month later.
    issued = add_months(NOTIFIED, -5)
    evidence = Evidence(kind=K.DELIVERED, obtained_on=NOTIFIED - days(5), issued_on=issued)
    result = judged_on(NOTIFIED + days(45), evidence)
    assert result.status == S.VALID
    assert result.valid_until == add_months(issued, 6) - days(1)
    [info] = result.reasons
    assert info.code == ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS
    assert "a plus de 6 mois" in info.message


def test_a_document_without_end_date_is_never_expiring() -> None:
    evidence = Evidence(kind=K.DELIVERED, obtained_on=NOTIFIED)
    result = requirement_status(
        R.DGFIP_FISCAL,
        evidence,
        due_on=NOTIFIED,
        today=NOTIFIED + days(170),
        next_due_on=NOTIFIED + days(180),
    )
    assert (result.status, result.reasons) == (S.VALID, [])
