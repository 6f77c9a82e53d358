"""What happens after a gap: Vigie's own failures (`check_failed`), the request to the contractor
(`request_sent` / `request_not_sent`) and the day a gap becomes a non-compliance."""

from datetime import date, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    becomes_non_compliant_on,
    combine_statuses,
    grade_requirement,
    overall_status,
    requirement_status,
)

D = date
R = RequirementType
S = RequirementStatus
OS = OverallStatus
K = EvidenceKind
DUE = D(2026, 3, 2)
POLICY = CompliancePolicy()


def days(n: int) -> timedelta:
    return timedelta(days=n)


def judge(
    evidence: Evidence | None,
    *,
    today: date,
    rtype: RequirementType = R.URSSAF_VIGILANCE,
    **kw: object,
) -> RequirementResult:
    return requirement_status(rtype, evidence, due_on=DUE, today=today, **kw)  # type: ignore[arg-type]


def grade(result: RequirementResult, today: date) -> OverallStatus:
    return grade_requirement(result, today=today, policy=POLICY).status


NOTHING = Evidence(kind=K.NONE, obtained_on=DUE, reference="call-1")
STALE = Evidence(kind=K.DELIVERED, obtained_on=DUE - days(200), document_id="old")
ENDED = Evidence(kind=K.DELIVERED, obtained_on=DUE, valid_until=DUE - days(1))


# --- the grace period runs from the recorded request ---------------------------------------------


@pytest.mark.parametrize("evidence", [NOTHING, STALE, ENDED, None])
def test_without_a_request_a_gap_stays_at_risk_forever(evidence: Evidence | None) -> None:
    later = DUE + days(400)
    result = judge(evidence, today=later)
    assert result.status in (S.MISSING, S.EXPIRED)
    assert result.non_compliant_on is None
    assert grade(result, later) == OS.AT_RISK
    codes = [r.code for r in result.reasons]
    if evidence is None:  # never checked: Vigie checks first, nobody asks yet
        assert codes == [ReasonCode.NOT_CHECKED]
    else:
        assert codes[-1] == ReasonCode.REQUEST_NOT_SENT
        assert "pas encore été sollicité" in result.reasons[-1].message
        assert result.reasons[-1].since == DUE


@pytest.mark.parametrize("evidence", [NOTHING, STALE, ENDED])
@pytest.mark.parametrize(("asked_after", "deadline_after"), [(0, 16), (10, 26), (-20, 16)])
def test_with_a_request_non_compliant_after_the_grace_period(
    evidence: Evidence, asked_after: int, deadline_after: int
) -> None:
    # A request sent before the due date (-20) gives the whole grace period after the due date.
    asked = DUE + days(asked_after)
    deadline = DUE + days(deadline_after)
    result = judge(evidence, today=asked + days(1) if asked > DUE else DUE, requested_on=asked)
    assert result.non_compliant_on == deadline
    request = next(r for r in result.reasons if r.code == ReasonCode.REQUEST_SENT)
    assert request.since == asked
    assert "non conforme à compter du" in request.message
    assert grade(result, deadline - days(1)) == OS.AT_RISK
    assert grade(result, deadline) == OS.NON_COMPLIANT
    assert ReasonCode.REQUEST_NOT_SENT not in {r.code for r in result.reasons}


def test_the_request_may_be_a_datetime() -> None:
    result = judge(NOTHING, today=DUE, requested_on=datetime(2026, 3, 5, 14, 30))
    assert result.non_compliant_on == D(2026, 3, 21)
    assert TypeAdapter(Reason).dump_python(result.reasons[-1], mode="json")["since"] == (
        "2026-03-05"
    )


def test_overall_tells_the_day_an_at_risk_supplier_becomes_non_compliant() -> None:
    today = DUE + days(3)
    results = [
        judge(NOTHING, today=today, rtype=R.DGFIP_FISCAL, requested_on=DUE + days(2)),
        judge(NOTHING, today=today, rtype=R.URSSAF_VIGILANCE, requested_on=DUE),
        judge(Evidence(kind=K.PENDING, obtained_on=DUE), today=today, rtype=R.REGISTRATION),
    ]
    overall = overall_status(results, today=today)
    assert overall.status == OS.AT_RISK
    assert overall.non_compliant_on == DUE + days(16)
    assert overall_status(results, today=DUE + days(16)).status == OS.NON_COMPLIANT


def test_a_contract_is_at_risk_until_its_earliest_holder_deadline() -> None:
    a = overall_status([judge(NOTHING, today=DUE, requested_on=DUE + days(5))], today=DUE)
    b = overall_status([judge(NOTHING, today=DUE, requested_on=DUE)], today=DUE)
    combined = combine_statuses([a, b, (OS.COMPLIANT, [])])
    assert combined.status == OS.AT_RISK
    assert combined.non_compliant_on == DUE + days(16)


def test_a_result_read_back_from_storage_grades_the_same() -> None:
    # The engine stores status, reasons (JSON) and valid_until, then rebuilds the result.
    adapter = TypeAdapter(Reason)
    result = judge(NOTHING, today=DUE, requested_on=DUE + days(1))
    stored = [adapter.dump_python(r, mode="json") for r in result.reasons]
    rebuilt = RequirementResult(
        result.status, [adapter.validate_python(r) for r in stored], result.valid_until
    )
    assert rebuilt.non_compliant_on is None  # not stored …
    assert becomes_non_compliant_on(rebuilt, policy=POLICY) == result.non_compliant_on  # … derived
    for today in (DUE, DUE + days(17), DUE + days(18)):
        assert overall_status([rebuilt], today=today) == overall_status([result], today=today)


# --- Vigie's failures are Vigie's -----------------------------------------------------------------


@pytest.mark.parametrize("evidence", [NOTHING, STALE, ENDED, None])
def test_a_failed_check_never_makes_a_gap_non_compliant(evidence: Evidence | None) -> None:
    later = DUE + days(300)
    result = judge(evidence, today=later, check_failed=True, requested_on=DUE)
    assert result.status in (S.MISSING, S.EXPIRED)  # the status the evidence gives
    failed = [r for r in result.reasons if r.code == ReasonCode.CHECK_FAILED]
    assert len(failed) == 1
    assert "problème technique chez Vigie" in failed[0].message
    assert "pas du fait du fournisseur" in failed[0].message
    assert failed[0].article == "Code du travail, art. D8222-5, 1°"
    assert result.non_compliant_on is None
    assert grade(result, later) == OS.AT_RISK


def test_a_failed_check_on_a_never_checked_supplier_keeps_it_not_checked() -> None:
    results = [
        judge(None, today=DUE, rtype=t, check_failed=True)
        for t in (R.REGISTRATION, R.URSSAF_VIGILANCE)
    ]
    overall = overall_status(results, today=DUE + days(100))
    assert overall.status == OS.NOT_CHECKED
    assert ReasonCode.CHECK_FAILED in {r.code for r in overall.reasons}


def test_a_failed_check_keeps_a_valid_requirement_valid_and_the_supplier_compliant() -> None:
    valid = Evidence(kind=K.DELIVERED, obtained_on=DUE, issued_on=DUE)
    result = judge(valid, today=DUE + days(10), check_failed=True)
    assert result.status == S.VALID
    assert [r.code for r in result.reasons] == [ReasonCode.CHECK_FAILED]
    overall = overall_status([result], today=DUE + days(10))
    assert overall.status == OS.COMPLIANT
    assert [r.code for r in overall.reasons] == [ReasonCode.CHECK_FAILED]


@pytest.mark.parametrize(
    "evidence",
    [
        Evidence(kind=K.REFUSED, obtained_on=DUE),
        Evidence(kind=K.UPLOADED_REJECTED, obtained_on=DUE),
        Evidence(kind=K.DELIVERED, obtained_on=DUE, ceased=True),
        Evidence(kind=K.DELIVERED, obtained_on=DUE, liquidation=True),
    ],
)
def test_a_refusal_evidenced_earlier_stays_non_compliant_after_a_failed_check(
    evidence: Evidence,
) -> None:
    result = judge(evidence, today=DUE + days(1), rtype=R.REGISTRATION, check_failed=True)
    assert ReasonCode.CHECK_FAILED in {r.code for r in result.reasons}
    assert grade(result, DUE + days(1)) == OS.NON_COMPLIANT


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (Evidence(kind=K.PENDING, obtained_on=DUE), S.UPSTREAM_PENDING),
        (Evidence(kind=K.UNAVAILABLE, obtained_on=DUE), S.AWAITING_UPLOAD),
        (Evidence(kind=K.UPLOADED_PENDING_REVIEW, obtained_on=DUE), S.UNDER_REVIEW),
    ],
)
def test_other_statuses_keep_their_meaning_with_a_failed_check(
    evidence: Evidence, expected: RequirementStatus
) -> None:
    result = judge(evidence, today=DUE + days(90), check_failed=True, requested_on=DUE)
    assert result.status == expected
    assert grade(result, DUE + days(90)) == OS.AT_RISK


# --- absence is not guilt: awaiting an upload never becomes a non-compliance ----------------------


def test_awaiting_upload_mentions_the_request_and_stays_at_risk() -> None:
    unavailable = Evidence(kind=K.UNAVAILABLE, obtained_on=DUE)
    silent = judge(unavailable, today=DUE + days(100))
    assert [r.code for r in silent.reasons] == [
        ReasonCode.AWAITING_UPLOAD,
        ReasonCode.REQUEST_NOT_SENT,
    ]
    asked = judge(unavailable, today=DUE + days(100), requested_on=DUE)
    assert [r.code for r in asked.reasons] == [ReasonCode.AWAITING_UPLOAD, ReasonCode.REQUEST_SENT]
    assert "non conforme" not in asked.reasons[-1].message
    assert asked.non_compliant_on is None
    assert grade(asked, DUE + days(100)) == OS.AT_RISK


def test_statuses_that_are_not_gaps_ignore_the_request() -> None:
    valid = Evidence(kind=K.DELIVERED, obtained_on=DUE, issued_on=DUE)
    assert judge(valid, today=DUE, requested_on=DUE).reasons == []
    refused = judge(Evidence(kind=K.REFUSED, obtained_on=DUE), today=DUE, requested_on=DUE)
    assert [r.code for r in refused.reasons] == [ReasonCode.URSSAF_REFUSED]
