"""Requirement status from evidence: validity edges, tolerance, URSSAF age, company facts.

The duty is periodic (D8222-5 C. trav.): a certificate valid on its due date satisfies the period
until the next one; `expiring` looks at the next due date (`next_due_on`).
"""

from datetime import date, datetime, timedelta

import pytest

from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    requirement_status,
)

D = date
R = RequirementType
S = RequirementStatus
K = EvidenceKind
DUE = D(2026, 3, 2)
POLICY = CompliancePolicy()


def days(n: int) -> timedelta:
    return timedelta(days=n)


def status(rtype: RequirementType, evidence: Evidence | None, today: date = DUE, **kw: object):
    return requirement_status(rtype, evidence, due_on=kw.pop("due_on", DUE), today=today, **kw)  # type: ignore[arg-type]


def delivered(obtained: date = DUE, **kw: object) -> Evidence:
    return Evidence(kind=K.DELIVERED, obtained_on=obtained, **kw)  # type: ignore[arg-type]


# --- no evidence, or evidence that is not a certificate ------------------------------------------


def test_never_checked_is_missing_with_a_not_checked_reason() -> None:
    result = status(R.URSSAF_VIGILANCE, None)
    assert result.status == S.MISSING
    assert [r.code for r in result.reasons] == [ReasonCode.NOT_CHECKED]
    assert result.reasons[0].since == DUE
    assert result.reasons[0].requirement == R.URSSAF_VIGILANCE
    assert not result.checked
    assert result.since == DUE


def test_nothing_found_is_missing_since_the_due_date() -> None:
    result = status(R.DGFIP_FISCAL, Evidence(kind=K.NONE), today=DUE + days(3))
    assert result.status == S.MISSING
    assert [r.code for r in result.reasons] == [
        ReasonCode.DOCUMENT_MISSING,
        ReasonCode.REQUEST_NOT_SENT,
    ]
    assert result.since == DUE
    assert "2 mars 2026" in result.reasons[0].message
    assert result.checked


@pytest.mark.parametrize(
    ("rtype", "code"),
    [
        (R.URSSAF_VIGILANCE, ReasonCode.URSSAF_REFUSED),
        (R.MSA_VIGILANCE, ReasonCode.MSA_REFUSED),
        (R.DGFIP_FISCAL, ReasonCode.DGFIP_REFUSED),
        (R.CIBTP, ReasonCode.CERTIFICATE_REFUSED),
    ],
)
def test_refused(rtype: RequirementType, code: ReasonCode) -> None:
    evidence = Evidence(kind=K.REFUSED, obtained_on=DUE - days(2), reference="req-123")
    result = status(rtype, evidence)
    assert result.status == S.REFUSED
    assert result.reasons[0].code == code
    assert result.reasons[0].since == DUE - days(2)
    assert result.reasons[0].evidence == "req-123"
    assert result.valid_until is None


def test_unavailable_from_the_source_awaits_an_upload() -> None:
    # Absence is not guilt: never refused, never missing.
    result = status(R.URSSAF_VIGILANCE, Evidence(kind="unavailable", obtained_on=DUE))  # type: ignore[arg-type]
    assert result.status == S.AWAITING_UPLOAD
    assert result.reasons[0].code == ReasonCode.AWAITING_UPLOAD
    assert "déposer" in result.reasons[0].message


def test_pending_upstream_gives_the_retry_date() -> None:
    evidence = Evidence(kind=K.PENDING, obtained_on=DUE, retry_on=D(2026, 3, 4))
    result = status(R.URSSAF_VIGILANCE, evidence)
    assert result.status == S.UPSTREAM_PENDING
    assert result.reasons[0].code == ReasonCode.UPSTREAM_PENDING
    assert "4 mars 2026" in result.reasons[0].message
    assert (
        "1er avril 2026"
        in status(
            R.URSSAF_VIGILANCE, Evidence(kind=K.PENDING, retry_on=datetime(2026, 4, 1, 9, 30))
        )
        .reasons[0]
        .message
    )
    assert "prochainement" in status(R.DGFIP_FISCAL, Evidence(kind=K.PENDING)).reasons[0].message


def test_uploaded_documents_under_review_and_rejected() -> None:
    review = Evidence(kind=K.UPLOADED_PENDING_REVIEW, obtained_on=DUE, document_id="doc-1")
    result = status(R.URSSAF_VIGILANCE, review)
    assert (result.status, result.reasons[0].code) == (S.UNDER_REVIEW, ReasonCode.UNDER_REVIEW)
    assert result.reasons[0].evidence == "doc-1"
    rejected = Evidence(kind=K.UPLOADED_REJECTED, obtained_on=DUE, document_id="doc-2")
    result = status(R.URSSAF_VIGILANCE, rejected)
    assert (result.status, result.reasons[0].code) == (S.REJECTED, ReasonCode.DOCUMENT_REJECTED)


def test_delivered_evidence_needs_its_date() -> None:
    with pytest.raises(ValueError, match="obtained_on"):
        Evidence(kind=K.DELIVERED)
    with pytest.raises(ValueError):
        delivered(valid_from=D(2026, 3, 2), valid_until=D(2026, 3, 1))
    with pytest.raises(ValueError):
        Evidence(kind="stolen")  # type: ignore[arg-type]


# --- URSSAF: less than six months old (D8222-5 1°) -----------------------------------------------


def test_urssaf_fresh_is_valid_until_the_day_before_six_months() -> None:
    result = status(R.URSSAF_VIGILANCE, delivered(issued_on=DUE))
    assert result.status == S.VALID
    assert result.reasons == []
    assert result.valid_until == D(2026, 9, 1)


def test_urssaf_six_months_minus_one_day_is_still_valid() -> None:
    evidence = delivered(obtained=D(2026, 1, 15), issued_on=D(2026, 1, 15))
    due, following = D(2026, 1, 15), D(2026, 7, 15)
    result = status(
        R.URSSAF_VIGILANCE, evidence, today=D(2026, 7, 14), due_on=due, next_due_on=following
    )
    assert result.status == S.EXPIRING  # it will not cover the next due date
    assert result.valid_until == D(2026, 7, 14)
    assert "15 juillet 2026" in result.reasons[0].message


@pytest.mark.parametrize(
    ("issued", "expected"), [(D(2026, 1, 16), S.VALID), (D(2026, 1, 15), S.EXPIRED)]
)
def test_urssaf_exactly_six_months_old_on_its_due_date_is_expired(
    issued: date, expected: RequirementStatus
) -> None:
    # Obtained within the window of the 15 July due date, but issued six months before it:
    # no longer "less than six months old" on the due date (D8222-5 1°).
    due = D(2026, 7, 15)
    evidence = delivered(obtained=D(2026, 7, 10), issued_on=issued)
    result = status(R.URSSAF_VIGILANCE, evidence, today=due, due_on=due)
    assert result.status == expected
    if expected == S.EXPIRED:
        assert result.reasons[0].code == ReasonCode.DOCUMENT_EXPIRED
        assert result.since == due
        assert "plus de 6 mois depuis le 15 juillet 2026" in result.reasons[0].message
        later = status(R.URSSAF_VIGILANCE, evidence, today=due + days(1), due_on=due)
        assert later.status == S.EXPIRED and later.since == due


def test_urssaf_age_from_31_august_ends_before_28_february() -> None:
    evidence = delivered(obtained=D(2026, 8, 31), issued_on=D(2026, 8, 31))
    due, following = D(2026, 8, 31), D(2027, 2, 28)
    kw = {"due_on": due, "next_due_on": following}
    assert status(R.MSA_VIGILANCE, evidence, today=D(2027, 2, 27), **kw).status == S.EXPIRING
    # On the next due date, an attestation of 31 August is six months old: it cannot serve it.
    late = delivered(obtained=D(2027, 2, 20), issued_on=D(2026, 8, 31))
    result = status(R.MSA_VIGILANCE, late, today=following, due_on=following)
    assert result.status == S.EXPIRED
    assert result.valid_until == D(2027, 2, 27)


def test_urssaf_age_counts_from_issue_then_valid_from_then_obtained() -> None:
    base = {"obtained": D(2026, 3, 1)}
    assert status(R.URSSAF_VIGILANCE, delivered(**base, issued_on=D(2026, 2, 20))).valid_until == D(
        2026, 8, 19
    )
    assert status(
        R.URSSAF_VIGILANCE, delivered(**base, valid_from=D(2026, 2, 25))
    ).valid_until == D(2026, 8, 24)
    assert status(R.URSSAF_VIGILANCE, delivered(**base)).valid_until == D(2026, 8, 31)


def test_urssaf_own_end_date_is_honoured_when_earlier() -> None:
    evidence = delivered(issued_on=DUE, valid_until=D(2026, 5, 31), document_id="att-1")
    result = status(R.URSSAF_VIGILANCE, evidence, today=D(2026, 6, 1))
    # Valid on its due date: the period stays satisfied; its end is information only.
    assert result.status == S.VALID
    assert result.valid_until == D(2026, 5, 31)
    [info] = result.reasons
    assert info.code == ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS
    assert (info.since, info.evidence) == (D(2026, 6, 1), "att-1")
    assert "n'est plus valide depuis le 1er juin 2026" in info.message
    assert "2 mars 2026" in info.message


def test_urssaf_own_end_date_later_than_six_months_is_capped() -> None:
    evidence = delivered(issued_on=DUE, valid_until=D(2026, 12, 31))
    assert status(R.URSSAF_VIGILANCE, evidence).valid_until == D(2026, 9, 1)


def test_age_limit_is_a_setting() -> None:
    policy = CompliancePolicy(urssaf_max_age_months=3)
    result = status(R.URSSAF_VIGILANCE, delivered(issued_on=DUE), policy=policy)
    assert result.valid_until == D(2026, 6, 1)


# --- documents with an end date: expiring before the next due date ------------------------------


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [(31, S.VALID), (30, S.EXPIRING), (1, S.EXPIRING)],
)
def test_expiring_boundary_is_the_next_due_date(ahead: int, expected: RequirementStatus) -> None:
    today = DUE + days(5)
    following = today + days(ahead)
    evidence = delivered(obtained=DUE, valid_until=following - days(1))
    result = status(R.QUALIBAT, evidence, today=today, next_due_on=following)
    assert result.status == expected
    if expected == S.EXPIRING:
        assert result.reasons[0].code == ReasonCode.DOCUMENT_EXPIRING
        assert result.reasons[0].since == max(following - days(30), DUE)


def test_a_document_valid_on_the_next_due_date_is_not_expiring() -> None:
    following = DUE + days(20)
    evidence = delivered(valid_until=following)
    assert status(R.QUALIBAT, evidence, next_due_on=following).status == S.VALID


def test_without_a_next_due_date_nothing_is_expiring() -> None:
    # The contract ends before another due date: the period runs to its end.
    evidence = delivered(valid_until=DUE + days(1))
    assert status(R.QUALIBAT, evidence, today=DUE).status == S.VALID
    assert status(R.QUALIBAT, evidence, today=DUE + days(100)).status == S.VALID


def test_expiring_days_is_a_setting() -> None:
    evidence = delivered(valid_until=DUE + days(10))
    kw = {"next_due_on": DUE + days(11)}
    assert status(R.RGE, evidence, policy=CompliancePolicy(expiring_days=10), **kw).status == (
        S.VALID
    )
    assert status(R.RGE, evidence, policy=CompliancePolicy(expiring_days=11), **kw).status == (
        S.EXPIRING
    )


def test_next_due_date_must_follow_the_due_date() -> None:
    with pytest.raises(ValueError):
        status(R.RGE, delivered(), next_due_on=DUE)


def test_valid_exactly_on_the_due_date() -> None:
    evidence = delivered(obtained=DUE - days(10), valid_until=DUE)
    assert status(R.CIBTP, evidence, today=DUE).status == S.VALID
    after = status(R.CIBTP, evidence, today=DUE + days(1))
    assert after.status == S.VALID
    assert [(r.code, r.since) for r in after.reasons] == [
        (ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS, DUE + days(1))
    ]


def test_expired_before_the_due_date() -> None:
    evidence = delivered(obtained=DUE - days(20), valid_until=DUE - days(1))
    result = status(R.CIBTP, evidence, today=DUE)
    assert result.status == S.EXPIRED
    assert result.since == DUE


def test_checking_ahead_a_document_that_will_not_cover_the_due_date_is_expiring() -> None:
    policy = CompliancePolicy(expiring_days=0)
    evidence = delivered(obtained=DUE - days(10), valid_until=DUE - days(2))
    result = status(R.CIBTP, evidence, today=DUE - days(5), policy=policy)
    assert result.status == S.EXPIRING


def test_documents_without_end_date_stay_valid_for_their_due_date() -> None:
    for rtype in (R.REGISTRATION, R.DGFIP_FISCAL, R.FOREIGN_REGISTRATION):
        result = status(rtype, delivered(), today=DUE + days(170))
        assert (result.status, result.valid_until, result.reasons) == (S.VALID, None, [])


# --- tolerance: how long before a due date a certificate counts --------------------------------


def test_obtained_exactly_tolerance_days_before_satisfies_the_due_date() -> None:
    evidence = delivered(obtained=DUE - days(30), issued_on=DUE - days(30))
    assert status(R.URSSAF_VIGILANCE, evidence, today=DUE).status == S.VALID


def test_obtained_one_day_more_does_not() -> None:
    evidence = delivered(obtained=DUE - days(31), issued_on=DUE - days(31), document_id="d-9")
    result = status(R.URSSAF_VIGILANCE, evidence, today=DUE)
    assert result.status == S.MISSING
    assert result.reasons[0].code == ReasonCode.DOCUMENT_MISSING
    assert result.since == DUE
    assert result.reasons[0].evidence == "d-9"


def test_stale_evidence_still_counts_until_the_due_date_is_reached() -> None:
    evidence = delivered(obtained=DUE - days(150), issued_on=DUE - days(150))
    assert status(R.URSSAF_VIGILANCE, evidence, today=DUE - days(1)).status == S.VALID


def test_stale_registration_is_missing_once_due() -> None:
    evidence = delivered(obtained=D(2025, 9, 2))
    assert status(R.REGISTRATION, evidence, today=DUE).status == S.MISSING


def test_tolerance_is_a_setting() -> None:
    evidence = delivered(obtained=DUE - days(10))
    assert status(R.REGISTRATION, evidence, policy=CompliancePolicy(tolerance_days=9)).status == (
        S.MISSING
    )
    assert status(R.REGISTRATION, evidence, policy=CompliancePolicy(tolerance_days=10)).status == (
        S.VALID
    )


def test_late_remise_counts_from_when_it_was_obtained() -> None:
    evidence = delivered(obtained=DUE + days(10), issued_on=DUE + days(10))
    result = status(R.URSSAF_VIGILANCE, evidence, today=DUE + days(10))
    assert result.status == S.VALID
    assert result.valid_until == D(2026, 9, 11)


# --- registration: ceased, struck off, collective proceedings -----------------------------------


def test_ceased_company() -> None:
    evidence = delivered(ceased=True, ceased_on=D(2025, 12, 31), reference="insee-1")
    result = status(R.REGISTRATION, evidence)
    assert result.status == S.REFUSED
    assert [(r.code, r.since, r.evidence) for r in result.reasons] == [
        (ReasonCode.COMPANY_CEASED, D(2025, 12, 31), "insee-1")
    ]


def test_struck_off_company_dates_from_the_check_when_no_date() -> None:
    result = status(R.REGISTRATION, delivered(struck_off=True))
    assert result.status == S.REFUSED
    assert [(r.code, r.since) for r in result.reasons] == [(ReasonCode.STRUCK_OFF, DUE)]


def test_ceased_and_struck_off() -> None:
    result = status(R.REGISTRATION, delivered(ceased=True, struck_off=True))
    assert [r.code for r in result.reasons] == [ReasonCode.COMPANY_CEASED, ReasonCode.STRUCK_OFF]


def test_collective_proceedings_is_a_warning_on_a_valid_requirement() -> None:
    result = status(R.REGISTRATION, delivered(collective_proceedings=True, document_id="kbis"))
    assert result.status == S.VALID
    assert [(r.code, r.evidence) for r in result.reasons] == [
        (ReasonCode.COLLECTIVE_PROCEEDINGS, "kbis")
    ]
    assert "L2141-3" in result.reasons[0].message


def test_collective_proceedings_kept_when_the_extract_is_stale() -> None:
    evidence = delivered(obtained=DUE - days(100), collective_proceedings=True)
    result = status(R.REGISTRATION, evidence)
    assert result.status == S.MISSING
    assert [r.code for r in result.reasons] == [
        ReasonCode.DOCUMENT_MISSING,
        ReasonCode.COLLECTIVE_PROCEEDINGS,
        ReasonCode.REQUEST_NOT_SENT,
    ]


def test_document_id_is_preferred_to_the_call_reference() -> None:
    evidence = delivered(valid_until=DUE + days(3), document_id="doc", reference="call")
    assert status(R.RGE, evidence, next_due_on=DUE + days(10)).reasons[0].evidence == "doc"
