"""Regimes and red flags: foreign holders (D8222-7/8), foreign employees (D8254-2), collective
proceedings (L2141-3 CCP), sector certificates (never a non-compliance), and the article behind
every reason."""

import itertools
from datetime import date, timedelta

import pytest

from app.compliance.rules import (
    REQUIREMENT_ARTICLES,
    UPLOAD_ONLY_TYPES,
    CompliancePolicy,
    Evidence,
    EvidenceKind,
    OverallStatus,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    grade_requirement,
    overall_status,
    required_types,
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


# --- foreign holders: upload only, so awaiting an upload, never missing ---------------------------


@pytest.mark.parametrize("rtype", sorted(UPLOAD_ONLY_TYPES))
@pytest.mark.parametrize("evidence", [None, Evidence(kind=K.NONE, obtained_on=DUE)])
def test_upload_only_documents_start_awaiting_upload(
    rtype: RequirementType, evidence: Evidence | None
) -> None:
    result = requirement_status(rtype, evidence, due_on=DUE, today=DUE + days(200))
    assert result.status == S.AWAITING_UPLOAD
    assert result.checked  # nothing for Vigie to check: the contractor has to upload it
    awaiting = result.reasons[0]
    assert awaiting.code == ReasonCode.AWAITING_UPLOAD
    assert awaiting.since == DUE
    assert awaiting.article == REQUIREMENT_ARTICLES[rtype]
    assert "à déposer par le titulaire" in awaiting.message
    if rtype != R.FOREIGN_WORKERS_LIST:
        assert "traduction en français" in awaiting.message
        assert "D8222-8" in awaiting.message
    asked = requirement_status(rtype, evidence, due_on=DUE, today=DUE + days(200), requested_on=DUE)
    assert grade_requirement(asked, today=DUE + days(200), policy=POLICY).status == OS.AT_RISK


def test_the_foreign_documents_say_what_d8222_7_asks() -> None:
    def message(rtype: RequirementType) -> str:
        return requirement_status(rtype, None, due_on=DUE, today=DUE).reasons[0].message

    assert "286 ter" in message(R.FOREIGN_VAT) and "représentant fiscal" in message(R.FOREIGN_VAT)
    assert "883/2004" in message(R.FOREIGN_SOCIAL_COVER) and "A1" in message(R.FOREIGN_SOCIAL_COVER)
    assert "registre professionnel" in message(R.FOREIGN_REGISTRATION)
    assert "nationalité" in message(R.FOREIGN_WORKERS_LIST)


def test_a_foreign_holder_never_checked_is_at_risk_not_unchecked_nor_non_compliant() -> None:
    later = DUE + days(365)
    results = [
        requirement_status(t, None, due_on=DUE, today=later)
        for t in required_types("foreign", country="DE")
    ]
    overall = overall_status(results, today=later)
    assert overall.status == OS.AT_RISK
    assert {r.code for r in overall.reasons} == {
        ReasonCode.AWAITING_UPLOAD,
        ReasonCode.REQUEST_NOT_SENT,
    }


def test_a_foreign_upload_from_an_earlier_due_date_must_be_renewed_by_upload() -> None:
    old = Evidence(kind=K.DELIVERED, obtained_on=DUE - days(180), document_id="a1")
    result = requirement_status(R.FOREIGN_SOCIAL_COVER, old, due_on=DUE, today=DUE + days(1))
    assert result.status == S.AWAITING_UPLOAD
    assert "2 mars 2026" in result.reasons[0].message


def test_a_rejected_foreign_upload_is_non_compliant() -> None:
    rejected = Evidence(kind=K.UPLOADED_REJECTED, obtained_on=DUE)
    result = requirement_status(R.FOREIGN_VAT, rejected, due_on=DUE, today=DUE)
    assert grade_requirement(result, today=DUE, policy=POLICY).status == OS.NON_COMPLIANT


# --- collective proceedings --------------------------------------------------------------------


def test_liquidation_is_non_compliant_with_the_judgment_date() -> None:
    evidence = Evidence(
        kind=K.DELIVERED,
        obtained_on=DUE,
        liquidation=True,
        collective_proceedings=True,
        proceedings_on=D(2026, 2, 10),
        document_id="kbis",
    )
    result = requirement_status(R.REGISTRATION, evidence, due_on=DUE, today=DUE)
    assert result.status == S.VALID  # the company is registered …
    [reason] = result.reasons
    assert (reason.code, reason.since, reason.evidence) == (
        ReasonCode.LIQUIDATION,
        D(2026, 2, 10),
        "kbis",
    )
    assert reason.article == "Code de la commande publique, art. L2141-3"
    assert "10 février 2026" in reason.message
    overall = overall_status([result], today=DUE)  # … and excluded (L2141-3 CCP)
    assert overall.status == OS.NON_COMPLIANT


@pytest.mark.parametrize("stale", [False, True])
def test_liquidation_evidenced_on_an_old_extract_still_blocks(stale: bool) -> None:
    obtained = DUE - days(200) if stale else DUE
    evidence = Evidence(kind=K.DELIVERED, obtained_on=obtained, liquidation=True)
    result = requirement_status(R.REGISTRATION, evidence, due_on=DUE, today=DUE)
    assert overall_status([result], today=DUE).status == OS.NON_COMPLIANT


def test_sauvegarde_or_redressement_is_at_risk_since_the_judgment() -> None:
    evidence = Evidence(
        kind=K.DELIVERED,
        obtained_on=DUE,
        collective_proceedings=True,
        proceedings_on=D(2025, 12, 1),
    )
    result = requirement_status(R.REGISTRATION, evidence, due_on=DUE, today=DUE)
    assert [(r.code, r.since) for r in result.reasons] == [
        (ReasonCode.COLLECTIVE_PROCEEDINGS, D(2025, 12, 1))
    ]
    assert "1er décembre 2025" in result.reasons[0].message
    assert overall_status([result], today=DUE + days(500)).status == OS.AT_RISK
    undated = Evidence(kind=K.DELIVERED, obtained_on=DUE, collective_proceedings=True)
    reason = requirement_status(R.REGISTRATION, undated, due_on=DUE, today=DUE).reasons[0]
    assert reason.since == DUE


def test_a_ceased_company_in_liquidation_carries_both() -> None:
    evidence = Evidence(kind=K.DELIVERED, obtained_on=DUE, ceased=True, liquidation=True)
    result = requirement_status(R.REGISTRATION, evidence, due_on=DUE, today=DUE)
    assert result.status == S.REFUSED
    assert [r.code for r in result.reasons] == [ReasonCode.COMPANY_CEASED, ReasonCode.LIQUIDATION]


# --- sector certificates: at risk, never non-compliant ------------------------------------------

SECTOR = [R.FNTP_CARD, R.QUALIBAT, R.RGE, R.CNETP, R.CIBTP, R.OPQIBI, R.PROBTP]
SECTOR_GAPS = [
    Evidence(kind=K.NONE, obtained_on=DUE),
    Evidence(kind=K.REFUSED, obtained_on=DUE),
    Evidence(kind=K.UPLOADED_REJECTED, obtained_on=DUE),
    Evidence(kind=K.DELIVERED, obtained_on=DUE, valid_until=DUE - days(1)),
    Evidence(kind=K.DELIVERED, obtained_on=DUE - days(300)),
    None,
]


@pytest.mark.parametrize(("rtype", "evidence"), list(itertools.product(SECTOR, SECTOR_GAPS)))
def test_a_sector_certificate_never_makes_a_supplier_non_compliant(
    rtype: RequirementType, evidence: Evidence | None
) -> None:
    later = DUE + days(400)
    result = requirement_status(rtype, evidence, due_on=DUE, today=later, requested_on=DUE)
    assert result.non_compliant_on is None
    assert result.reasons[0].article == REQUIREMENT_ARTICLES[rtype]
    assert "Exigence du contrat" in (result.reasons[0].article or "")
    valid = requirement_status(
        R.URSSAF_VIGILANCE,
        Evidence(kind=K.DELIVERED, obtained_on=DUE, issued_on=DUE),
        due_on=DUE,
        today=later,
    )
    overall = overall_status([valid, result], today=later)
    assert overall.status == OS.AT_RISK


# --- every reason the rules give cites its article -------------------------------------------

KINDS = [
    None,
    Evidence(kind=K.NONE, obtained_on=DUE),
    Evidence(kind=K.REFUSED, obtained_on=DUE),
    Evidence(kind=K.UNAVAILABLE, obtained_on=DUE),
    Evidence(kind=K.PENDING, obtained_on=DUE, retry_on=DUE + days(2)),
    Evidence(kind=K.UPLOADED_PENDING_REVIEW, obtained_on=DUE),
    Evidence(kind=K.UPLOADED_REJECTED, obtained_on=DUE),
    Evidence(kind=K.DELIVERED, obtained_on=DUE, valid_until=DUE + days(20)),
    Evidence(kind=K.DELIVERED, obtained_on=DUE, valid_until=DUE - days(2)),
    Evidence(kind=K.DELIVERED, obtained_on=DUE - days(100)),
    Evidence(
        kind=K.DELIVERED,
        obtained_on=DUE,
        ceased=True,
        struck_off=True,
        liquidation=True,
    ),
    Evidence(kind=K.DELIVERED, obtained_on=DUE, collective_proceedings=True),
]


@pytest.mark.parametrize("rtype", list(RequirementType))
def test_every_reason_carries_its_article(rtype: RequirementType) -> None:
    seen = set()
    for evidence, failed, asked in itertools.product(KINDS, (False, True), (None, DUE)):
        for today, following in ((DUE + days(10), DUE + days(15)), (DUE - days(1), None)):
            result = requirement_status(
                rtype,
                evidence,
                due_on=DUE,
                today=today,
                next_due_on=following,
                check_failed=failed,
                requested_on=asked,
            )
            for reason in result.reasons:
                assert reason.article, reason
                assert reason.requirement == rtype
                assert reason.message.endswith("."), reason.message
                seen.add(reason.code)
    assert len(seen) >= 12
