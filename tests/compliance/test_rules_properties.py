"""Proof by property (issue 10): no input makes a supplier `non_compliant` unless one of the red
flags of DOMAIN.md — a refusal, a ceased or struck-off company, a liquidation, a rejected upload,
or a requirement unanswered past the grace period after a recorded request — and each of those
does, whatever else the supplier's requirements say.

Two generators: arbitrary snapshots (one evidence per requirement, any dates), and timelines of a
contract where, at each due date, the upstream answers something (a certificate of random
validity, pending, unavailable, nothing, a refusal, a failed check on Vigie's side) and the
contractor may be asked after a gap.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.compliance.rules import (
    SECTOR_TYPES,
    UPLOAD_ONLY_TYPES,
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    OverallStatus,
    RequirementStatus,
    RequirementType,
    add_months,
    current_due_date,
    effective_valid_until,
    next_due_date,
    overall_status,
    requirement_status,
)

K = EvidenceKind
R = RequirementType
OS = OverallStatus
BASE = date(2026, 1, 1)
POLICY = CompliancePolicy()
GRACE = POLICY.grace_days
# Enough to find a counter-example to a broken rule (each property was seen failing on purpose
# with these numbers), small enough to keep the rules suite quick.
FAST = settings(max_examples=50, deadline=None)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def rarely(p_true: int = 8) -> st.SearchStrategy[bool]:
    """True about once in `p_true` draws: red flags must not drown the other inputs."""
    return st.integers(1, p_true).map(lambda n: n == 1)


@dataclass(frozen=True)
class Input:
    rtype: RequirementType
    evidence: Evidence | None
    check_failed: bool
    requested_on: date | None


def satisfies(item: Input, due_on: date) -> bool:
    """D8222-5 read plainly: a certificate obtained for the due date (at most `tolerance_days`
    before it, or late, after it) and valid on that day (URSSAF/MSA: less than six months old)."""
    evidence = item.evidence
    if evidence is None or evidence.kind is not K.DELIVERED or evidence.obtained_on is None:
        return False
    remise = max(due_on, evidence.obtained_on)
    last_day, _ = effective_valid_until(item.rtype, evidence, POLICY)
    in_time = evidence.obtained_on >= due_on - days(POLICY.tolerance_days)
    return in_time and (last_day is None or last_day >= remise)


def red_flag(item: Input, due_on: date, today: date) -> bool:
    """An independent statement of DOMAIN.md's red flags. The last one is read generously (a
    document the contractor can still upload counts), never narrower than the rules."""
    sector = item.rtype in SECTOR_TYPES
    evidence = item.evidence
    kind = evidence.kind if evidence else None
    facts = evidence is not None and (
        evidence.ceased or evidence.struck_off or evidence.liquidation
    )
    if kind is K.DELIVERED and facts:
        return True
    if kind in (K.REFUSED, K.UPLOADED_REJECTED) and not sector:
        return True
    unanswered = kind in (None, K.NONE) or (kind is K.DELIVERED and not satisfies(item, due_on))
    asked = item.requested_on
    return (
        unanswered
        and not sector
        and not item.check_failed
        and asked is not None
        and (today - max(asked, due_on)).days > GRACE
    )


def judge(items: list[Input], due_on: date, today: date, next_due_on: date | None) -> OS:
    results = [
        requirement_status(
            item.rtype,
            item.evidence,
            due_on=due_on,
            today=today,
            next_due_on=next_due_on,
            check_failed=item.check_failed,
            requested_on=item.requested_on,
        )
        for item in items
    ]
    return overall_status(results, today=today, policy=POLICY).status


# --- snapshots ------------------------------------------------------------------------------

DUE = BASE + days(200)


def around_due(low: int, high: int, *edges: int) -> st.SearchStrategy[date]:
    """A day between DUE+low and DUE+high, often one of the edges where rules change."""
    interesting = st.sampled_from(
        [n for n in [0, -1, 1, -30, -31, GRACE, GRACE + 1, *edges] if low <= n <= high]
    )
    return st.one_of(interesting, interesting, st.integers(low, high)).map(lambda n: DUE + days(n))


offsets = around_due(-260, 400, -200, 180)


# What the register may say of the company: mostly nothing, sometimes one fact.
company_facts: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [{}] * 6
    + [
        {"ceased": True},
        {"struck_off": True},
        {"liquidation": True, "proceedings_on": DUE - days(10)},
        {"collective_proceedings": True, "proceedings_on": DUE - days(40)},
        {"collective_proceedings": True},
    ]
)


@st.composite
def evidences(draw: st.DrawFn) -> Evidence | None:
    kind = draw(st.sampled_from([None, *K]))
    if kind is None:
        return None
    obtained = draw(st.one_of(st.none(), offsets)) if kind is not K.DELIVERED else draw(offsets)
    valid_until = draw(st.one_of(st.none(), offsets))
    if valid_until is not None and obtained is not None and valid_until < obtained:
        valid_until = obtained + days(draw(st.integers(0, 30)))
    return Evidence(
        kind=kind,
        obtained_on=obtained,
        issued_on=draw(st.one_of(st.none(), st.just(obtained))) if obtained else None,
        valid_until=valid_until,
        **draw(company_facts),
    )


inputs = st.builds(
    Input,
    rtype=st.sampled_from(list(R)),
    evidence=evidences(),
    check_failed=rarely(3),
    requested_on=st.one_of(st.none(), offsets),
)
todays = around_due(-40, 400, 2 * GRACE + 1, 181)
next_dues = st.one_of(st.none(), st.integers(120, 200).map(lambda n: DUE + days(n)))


@FAST
@given(items=st.lists(inputs, min_size=1, max_size=5), today=todays, following=next_dues)
def test_non_compliant_only_for_a_red_flag(
    items: list[Input], today: date, following: date | None
) -> None:
    status = judge(items, DUE, today, following)
    if status is OS.NON_COMPLIANT:
        assert any(red_flag(item, DUE, today) for item in items)


FLAGS = ["refused", "rejected", "ceased", "struck_off", "liquidation"]


@st.composite
def red_flags(draw: st.DrawFn, flag: str) -> Input:
    """A red flag of the kind `flag`, with whatever around it (failed check, request, dates)."""
    fetchable = [t for t in R if t not in SECTOR_TYPES]
    check_failed = draw(st.booleans())
    requested = draw(st.one_of(st.none(), offsets))
    if flag in ("refused", "rejected"):
        kind = K.REFUSED if flag == "refused" else K.UPLOADED_REJECTED
        evidence = Evidence(kind=kind, obtained_on=draw(st.one_of(st.none(), offsets)))
        rtype = draw(st.sampled_from(fetchable))
    else:
        evidence = Evidence(
            kind=K.DELIVERED,
            obtained_on=draw(offsets),
            valid_until=draw(st.one_of(st.none(), offsets)),
            ceased=flag == "ceased",
            struck_off=flag == "struck_off",
            liquidation=flag == "liquidation",
        )
        rtype = draw(st.sampled_from([R.REGISTRATION, R.URSSAF_VIGILANCE, R.DGFIP_FISCAL]))
    return Input(rtype, evidence, check_failed, requested)


@st.composite
def unanswered(draw: st.DrawFn, today: date) -> Input:
    """A document the contractor was asked for, still absent past the grace period."""
    fetchable = [t for t in R if t not in SECTOR_TYPES and t not in UPLOAD_ONLY_TYPES]
    rtype = draw(st.sampled_from(fetchable))
    latest = today - days(GRACE + 1)
    asked = latest - days(draw(st.integers(0, 100)))
    evidence = draw(
        st.sampled_from(
            [
                Evidence(kind=K.NONE, obtained_on=DUE),
                Evidence(kind=K.DELIVERED, obtained_on=DUE - days(200)),  # an earlier due date
                Evidence(kind=K.DELIVERED, obtained_on=DUE, valid_until=DUE - days(1)),
            ]
        )
    )
    return Input(rtype, evidence, False, asked)


past_grace = around_due(GRACE + 1, 400)


@pytest.mark.parametrize("kind", FLAGS)
@settings(max_examples=20, deadline=None)
@given(data=st.data(), items=st.lists(inputs, max_size=4), today=todays, following=next_dues)
def test_each_refusal_or_company_fact_makes_the_supplier_non_compliant(
    kind: str, data: st.DataObject, items: list[Input], today: date, following: date | None
) -> None:
    assume(not any(red_flag(item, DUE, today) for item in items))
    flag = data.draw(red_flags(kind))
    position = data.draw(st.integers(0, len(items)))
    items.insert(position, flag)
    assert judge(items, DUE, today, following) is OS.NON_COMPLIANT


@FAST
@given(data=st.data(), items=st.lists(inputs, max_size=4), today=past_grace, following=next_dues)
def test_a_document_unanswered_past_the_grace_period_makes_the_supplier_non_compliant(
    data: st.DataObject, items: list[Input], today: date, following: date | None
) -> None:
    assume(not any(red_flag(item, DUE, today) for item in items))
    items.insert(data.draw(st.integers(0, len(items))), data.draw(unanswered(today)))
    assert judge(items, DUE, today, following) is OS.NON_COMPLIANT


@FAST
@given(data=st.data(), items=st.lists(inputs, max_size=4), today=past_grace, following=next_dues)
def test_vigie_failing_every_check_never_makes_a_supplier_non_compliant(
    data: st.DataObject, items: list[Input], today: date, following: date | None
) -> None:
    # A document asked for long ago is still absent, and so may others be: without a refusal, a
    # company fact or a rejected upload in the evidence held, a platform that fails every check
    # still cannot turn anyone non-compliant.
    items.insert(data.draw(st.integers(0, len(items))), data.draw(unanswered(today)))
    failing = [replace(item, check_failed=True) for item in items]
    assume(not any(red_flag(item, DUE, today) for item in failing))
    assert judge(failing, DUE, today, following) is not OS.NON_COMPLIANT


@FAST
@given(
    data=st.data(),
    items=st.lists(inputs, max_size=4),
    today=around_due(-40, GRACE),
    asked=around_due(-260, GRACE),
    following=next_dues,
)
def test_no_gap_is_a_non_compliance_within_the_grace_period_after_its_due_date(
    data: st.DataObject, items: list[Input], today: date, asked: date, following: date | None
) -> None:
    # However early the contractor was asked (a reminder ahead of the due date), a gap becomes a
    # non-compliance no sooner than `grace_days` after the due date.
    items.insert(data.draw(st.integers(0, len(items))), data.draw(unanswered(today)))
    asked_early = [replace(item, requested_on=min(asked, today)) for item in items]
    assume(not any(red_flag(replace(i, requested_on=None), DUE, today) for i in asked_early))
    assert judge(asked_early, DUE, today, following) is not OS.NON_COMPLIANT


@FAST
@given(
    rtype=st.sampled_from(list(R)),
    obtained=around_due(-POLICY.tolerance_days, 60),
    lasts=st.integers(0, 400),
    issued_before=st.integers(0, 170),
    seen=st.integers(0, 181),
    asked=st.one_of(st.none(), offsets),
    check_failed=st.booleans(),
)
def test_a_certificate_that_served_its_due_date_keeps_the_period(
    rtype: RequirementType,
    obtained: date,
    lasts: int,
    issued_before: int,
    seen: int,
    asked: date | None,
    check_failed: bool,
) -> None:
    # The mid-period expiry: whatever happens to the document after it served its due
    # date (it ends, the contractor is asked, a check fails), the period stays in order.
    following = add_months(DUE, 6)
    today = min(max(DUE, obtained) + days(seen), following - days(1))
    remise = max(DUE, obtained)
    evidence = Evidence(
        kind=K.DELIVERED,
        obtained_on=obtained,
        issued_on=obtained - days(issued_before),
        valid_until=remise + days(lasts),
    )
    item = Input(rtype, evidence, check_failed, asked)
    assume(satisfies(item, DUE))
    result = requirement_status(
        rtype,
        evidence,
        due_on=DUE,
        today=today,
        next_due_on=following,
        check_failed=check_failed,
        requested_on=asked,
    )
    assert result.status in (RequirementStatus.VALID, RequirementStatus.EXPIRING)
    expected = OS.COMPLIANT if result.status is RequirementStatus.VALID else OS.AT_RISK
    assert overall_status([result], today=today).status is expected


# --- timelines: what the upstream answers at each due date ------------------------------------

ANSWERS = ["delivered", "pending", "unavailable", "none", "refused", "check_failed"]


@dataclass(frozen=True)
class Answer:
    what: str
    fetch_delay: int  # days after the due date when the answer came
    validity: int | None  # days of validity of a delivered certificate (None: no end date)
    issued_before: int  # days between its issue and its fetch
    request_delay: int | None  # days after the answer when the contractor was asked, if ever
    ceased: bool


answers = st.builds(
    Answer,
    what=st.sampled_from(ANSWERS),
    fetch_delay=st.integers(-30, 40),
    validity=st.one_of(st.none(), st.integers(1, 400)),
    issued_before=st.integers(0, 200),
    request_delay=st.one_of(st.none(), st.integers(0, 60)),
    ceased=rarely(10),
)


def as_evidence(answer: Answer, fetched: date) -> Evidence | None:
    match answer.what:
        case "delivered":
            valid_until = fetched + days(answer.validity) if answer.validity else None
            return Evidence(
                kind=K.DELIVERED,
                obtained_on=fetched,
                issued_on=fetched - days(answer.issued_before),
                valid_until=valid_until,
                ceased=answer.ceased,
            )
        case "pending":
            return Evidence(kind=K.PENDING, obtained_on=fetched, retry_on=fetched + days(2))
        case "unavailable":
            return Evidence(kind=K.UNAVAILABLE, obtained_on=fetched)
        case "none":
            return Evidence(kind=K.NONE, obtained_on=fetched)
        case "refused":
            return Evidence(kind=K.REFUSED, obtained_on=fetched)
    return None


@st.composite
def timelines(draw: st.DrawFn) -> tuple[date, date, dict[RequirementType, list[Answer]], int]:
    notified = BASE + days(draw(st.integers(0, 365)))
    periods = draw(st.integers(1, 4))
    ends = add_months(notified, 6 * periods)
    types = draw(st.lists(st.sampled_from(list(R)), min_size=1, max_size=4, unique=True))
    story = {rtype: draw(st.lists(answers, min_size=periods, max_size=periods)) for rtype in types}
    seen = draw(st.integers(0, (ends - notified).days + 60))
    return notified, ends, story, seen


def state_on(
    notified: date, ends: date, answers: list[Answer], today: date
) -> tuple[Input, date, date | None]:
    """What the engine holds on `today` for one requirement: the latest answer received (a failed
    check keeps the evidence it had), and the request of the current gap."""
    due = current_due_date(notified, ends, today) or notified
    dues = [add_months(notified, 6 * k) for k in range(len(answers))]
    evidence: Evidence | None = None
    check_failed = False
    requested: date | None = None
    for due_k, answer in zip(dues, answers, strict=True):
        fetched = due_k + days(answer.fetch_delay)
        if fetched > today:
            break
        check_failed = answer.what == "check_failed"
        if not check_failed:
            evidence = as_evidence(answer, fetched)
        requested = None  # a request belongs to the gap of its own due date
        if answer.request_delay is not None:
            asked = fetched + days(answer.request_delay)
            requested = asked if asked <= today else None
    following = next_due_date(notified, ends, max(today, due))
    return Input(R.REGISTRATION, evidence, check_failed, requested), due, following


@settings(max_examples=80, deadline=None)
@given(timeline=timelines())
def test_no_sequence_of_upstream_answers_makes_a_false_non_compliant(
    timeline: tuple[date, date, dict[RequirementType, list[Answer]], int],
) -> None:
    notified, ends, story, seen = timeline
    today = notified + days(seen)
    items, due, following = [], notified, None
    for rtype, answers_of in story.items():
        item, due, following = state_on(notified, ends, answers_of, today)
        items.append(replace(item, rtype=rtype))
    status = judge(items, due, today, following)
    if status is OS.NON_COMPLIANT:
        assert any(red_flag(item, due, today) for item in items)
    if any(
        item.evidence is not None
        and item.evidence.kind is K.REFUSED
        and item.rtype not in SECTOR_TYPES
        for item in items
    ):
        assert status is OS.NON_COMPLIANT
