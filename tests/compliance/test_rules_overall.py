"""Overall status of a supplier under a contract, and of a contract over its holders."""

import itertools
from datetime import date, timedelta

import pytest

from app.compliance.rules import (
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    OverallResult,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    combine_statuses,
    overall_status,
    requirement_status,
)

S = RequirementStatus
OS = OverallStatus
TODAY = date(2026, 6, 15)
POLICY = CompliancePolicy()


def req(
    status: RequirementStatus,
    since_days_ago: int = 0,
    code: str | None = None,
    *,
    requested_days_ago: int | None = None,
    rtype: RequirementType = RequirementType.URSSAF_VIGILANCE,
) -> RequirementResult:
    """A requirement result as `requirement_status` builds them (a gap carries its `since`, and
    the request to the contractor, when one was recorded, its `request_sent` reason)."""
    if status == S.VALID:
        return RequirementResult(status, [], None)
    default_code = {
        S.EXPIRED: ReasonCode.DOCUMENT_EXPIRED,
        S.MISSING: ReasonCode.DOCUMENT_MISSING,
    }.get(status, status.value)
    since = TODAY - timedelta(days=since_days_ago)
    reasons = [Reason(code or default_code, f"{status}", since, None, rtype)]
    if requested_days_ago is not None:
        asked = TODAY - timedelta(days=requested_days_ago)
        reasons.append(Reason(ReasonCode.REQUEST_SENT, "demande", asked, None, rtype))
    return RequirementResult(status, reasons, None)


VALID = req(S.VALID)

# What one requirement makes of an otherwise valid supplier (gaps within their grace period).
SINGLE = {
    S.VALID: OS.COMPLIANT,
    S.EXPIRING: OS.AT_RISK,
    S.EXPIRED: OS.AT_RISK,
    S.MISSING: OS.AT_RISK,
    S.REFUSED: OS.NON_COMPLIANT,
    S.AWAITING_UPLOAD: OS.AT_RISK,
    S.UNDER_REVIEW: OS.AT_RISK,
    S.REJECTED: OS.NON_COMPLIANT,
    S.UPSTREAM_PENDING: OS.AT_RISK,
}
RANK = [OS.COMPLIANT, OS.NOT_CHECKED, OS.AT_RISK, OS.NON_COMPLIANT]


def test_single_table_covers_every_status() -> None:
    assert set(SINGLE) == set(RequirementStatus)


@pytest.mark.parametrize("status", list(RequirementStatus))
def test_each_status_alone(status: RequirementStatus) -> None:
    result = overall_status([VALID, req(status, 3), VALID], today=TODAY, policy=POLICY)
    assert result.status == SINGLE[status]
    assert len(result.reasons) == (0 if status == S.VALID else 1)


@pytest.mark.parametrize(("first", "second"), list(itertools.product(RequirementStatus, repeat=2)))
def test_every_pair_of_statuses_worst_wins(
    first: RequirementStatus, second: RequirementStatus
) -> None:
    result = overall_status([req(first, 5), req(second, 5)], today=TODAY)
    assert result.status == max(SINGLE[first], SINGLE[second], key=RANK.index)


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.product([S.EXPIRED, S.MISSING], repeat=2))
)
def test_pairs_of_gaps_past_grace(first: RequirementStatus, second: RequirementStatus) -> None:
    late = req(first, 16, requested_days_ago=16)
    result = overall_status([late, req(second, 2, requested_days_ago=2)], today=TODAY)
    assert result.status == OS.NON_COMPLIANT
    assert result.non_compliant_on is None  # already is


@pytest.mark.parametrize("status", [S.EXPIRED, S.MISSING])
@pytest.mark.parametrize(
    ("ago", "expected"), [(0, OS.AT_RISK), (15, OS.AT_RISK), (16, OS.NON_COMPLIANT)]
)
def test_grace_boundary_counts_from_the_request(
    status: RequirementStatus, ago: int, expected: OverallStatus
) -> None:
    # Issue 10: the grace period runs from the recorded request, not from the gap itself.
    gap = req(status, 40, requested_days_ago=ago)
    result = overall_status([VALID, gap], today=TODAY)
    assert result.status == expected
    deadline = TODAY - timedelta(days=ago) + timedelta(days=16)
    assert result.non_compliant_on == (deadline if expected == OS.AT_RISK else None)


@pytest.mark.parametrize("status", [S.EXPIRED, S.MISSING])
def test_a_gap_nobody_asked_for_stays_at_risk(status: RequirementStatus) -> None:
    # Without a recorded request the contractor cannot be late (DOMAIN.md: request_not_sent).
    result = overall_status([VALID, req(status, 400)], today=TODAY)
    assert result.status == OS.AT_RISK
    assert result.non_compliant_on is None


def test_a_request_sent_before_the_gap_gives_the_whole_grace_after_it() -> None:
    # Asked 30 days ago (a reminder ahead of the due date), gap since 10 days: 5 days left.
    result = overall_status([req(S.MISSING, 10, requested_days_ago=30)], today=TODAY)
    assert result.status == OS.AT_RISK
    assert result.non_compliant_on == TODAY + timedelta(days=6)
    late = overall_status([req(S.MISSING, 16, requested_days_ago=30)], today=TODAY)
    assert late.status == OS.NON_COMPLIANT


def test_grace_is_a_setting() -> None:
    gap = [req(S.EXPIRED, 5, requested_days_ago=5)]
    assert overall_status(gap, today=TODAY, policy=CompliancePolicy(grace_days=4)).status == (
        OS.NON_COMPLIANT
    )
    assert overall_status(gap, today=TODAY, policy=CompliancePolicy(grace_days=5)).status == (
        OS.AT_RISK
    )


def test_an_undated_gap_counts_from_its_request() -> None:
    asked = Reason(ReasonCode.REQUEST_SENT, "x", TODAY - timedelta(days=16))
    undated = RequirementResult(S.EXPIRED, [Reason(ReasonCode.DOCUMENT_EXPIRED, "x"), asked], None)
    assert overall_status([undated], today=TODAY).status == OS.NON_COMPLIANT
    alone = RequirementResult(S.EXPIRED, [Reason(ReasonCode.DOCUMENT_EXPIRED, "x")], None)
    assert overall_status([alone], today=TODAY).status == OS.AT_RISK


def test_all_valid_is_compliant_without_reasons() -> None:
    assert overall_status([VALID, VALID, VALID], today=TODAY) == OverallResult(OS.COMPLIANT, [])


def test_nothing_to_check_or_never_checked_is_not_checked() -> None:
    assert overall_status([], today=TODAY) == OverallResult(OS.NOT_CHECKED, [])
    never = [
        requirement_status(t, None, due_on=TODAY - timedelta(days=40), today=TODAY)
        for t in (RequirementType.REGISTRATION, RequirementType.URSSAF_VIGILANCE)
    ]
    result = overall_status(never, today=TODAY)
    assert result.status == OS.NOT_CHECKED
    assert [r.code for r in result.reasons] == [ReasonCode.NOT_CHECKED] * 2


@pytest.mark.parametrize(("ago", "expected"), [(15, OS.AT_RISK), (16, OS.NON_COMPLIANT)])
def test_once_one_requirement_is_checked_the_unchecked_ones_are_gaps(
    ago: int, expected: OverallStatus
) -> None:
    due = TODAY - timedelta(days=ago)
    never = requirement_status(RequirementType.DGFIP_FISCAL, None, due_on=due, today=TODAY)
    assert overall_status([VALID, never], today=TODAY).status == OS.AT_RISK  # nobody asked
    asked = requirement_status(
        RequirementType.DGFIP_FISCAL, None, due_on=due, today=TODAY, requested_on=due
    )
    assert overall_status([VALID, asked], today=TODAY).status == expected


@pytest.mark.parametrize(
    "code", [ReasonCode.COMPANY_CEASED, ReasonCode.STRUCK_OFF, ReasonCode.LIQUIDATION]
)
@pytest.mark.parametrize("status", list(RequirementStatus))
def test_ceased_struck_off_or_in_liquidation_is_non_compliant_whatever_the_status(
    code: ReasonCode, status: RequirementStatus
) -> None:
    flagged = RequirementResult(status, [Reason(code, "x", TODAY)], None)
    assert overall_status([VALID, flagged], today=TODAY).status == OS.NON_COMPLIANT


def test_collective_proceedings_is_at_risk_not_non_compliant() -> None:
    warned = RequirementResult(S.VALID, [Reason(ReasonCode.COLLECTIVE_PROCEEDINGS, "x")], None)
    result = overall_status([VALID, warned], today=TODAY)
    assert result.status == OS.AT_RISK
    assert [r.code for r in result.reasons] == [ReasonCode.COLLECTIVE_PROCEEDINGS]


def test_reasons_worst_first_and_deduplicated() -> None:
    expiring = req(S.EXPIRING, 1)
    refused = req(S.REFUSED, 1)
    result = overall_status([expiring, refused, expiring], today=TODAY)
    assert result.status == OS.NON_COMPLIANT
    assert [r.code for r in result.reasons] == [S.REFUSED.value, S.EXPIRING.value]


def test_plain_tuples_are_accepted() -> None:
    result = overall_status([(S.VALID, [], None), (S.UNDER_REVIEW, [], None)], today=TODAY)
    assert result.status == OS.AT_RISK


def test_from_evidence_to_overall() -> None:
    """The path the engine takes: evidence → requirement statuses → supplier status."""
    due = date(2026, 6, 1)
    R, K = RequirementType, EvidenceKind
    evidence = {
        R.REGISTRATION: Evidence(kind=K.DELIVERED, obtained_on=due),
        R.URSSAF_VIGILANCE: Evidence(kind=K.UNAVAILABLE, obtained_on=due),  # micro-entrepreneur
        R.DGFIP_FISCAL: Evidence(kind=K.DELIVERED, obtained_on=due),
    }
    results = [requirement_status(t, e, due_on=due, today=TODAY) for t, e in evidence.items()]
    assert [r.status for r in results] == [S.VALID, S.AWAITING_UPLOAD, S.VALID]
    # Absence is not guilt: still only at risk, long after the grace period.
    later = TODAY + timedelta(days=120)
    assert overall_status(results, today=later).status == OS.AT_RISK
    refused = requirement_status(
        R.URSSAF_VIGILANCE, Evidence(kind=K.REFUSED, obtained_on=due), due_on=due, today=TODAY
    )
    result = overall_status([results[0], refused, results[2]], today=TODAY)
    assert result.status == OS.NON_COMPLIANT
    assert result.reasons[0].code == ReasonCode.URSSAF_REFUSED
    assert result.reasons[0].requirement == R.URSSAF_VIGILANCE


# --- combine_statuses: a contract over its holders -----------------------------------------------


def overall(status: OverallStatus, code: str | None = None) -> OverallResult:
    return OverallResult(
        status, [Reason(code or status.value, "x")] if status != OS.COMPLIANT else []
    )


@pytest.mark.parametrize(("a", "b"), list(itertools.product(OverallStatus, repeat=2)))
def test_combine_every_pair_worst_wins(a: OverallStatus, b: OverallStatus) -> None:
    result = combine_statuses([overall(a), overall(b)])
    assert result.status == max(a, b, key=RANK.index)


@pytest.mark.parametrize("combo", list(itertools.product(OverallStatus, repeat=3)))
def test_combine_triples_keeps_every_reason(combo: tuple[OverallStatus, ...]) -> None:
    results = [overall(status, f"{status}-{i}") for i, status in enumerate(combo)]
    combined = combine_statuses(results)
    expected = [r for item in results for r in item.reasons]
    assert sorted(r.code for r in combined.reasons) == sorted(r.code for r in expected)
    ranks = [RANK.index(OverallStatus(r.code.split("-")[0])) for r in combined.reasons]
    assert ranks == sorted(ranks, reverse=True)  # worst first


def test_combine_nothing_is_not_checked() -> None:
    assert combine_statuses([]) == OverallResult(OS.NOT_CHECKED, [])


def test_combine_one_unchecked_holder_keeps_the_contract_not_checked() -> None:
    assert (
        combine_statuses([overall(OS.COMPLIANT), overall(OS.NOT_CHECKED)]).status == OS.NOT_CHECKED
    )


def test_combine_deduplicates_reasons_shared_by_holders() -> None:
    shared = Reason(ReasonCode.AWAITING_UPLOAD, "x", TODAY)
    result = combine_statuses([(OS.AT_RISK, [shared]), (OS.AT_RISK, [shared])])
    assert result == OverallResult(OS.AT_RISK, [shared])
