"""The public surface of `app.compliance.rules`: codes, labels and the imports the engine uses."""

from datetime import date

from pydantic import TypeAdapter

import app.compliance.rules as rules
from app.compliance.rules import (
    OVERALL_STATUS_LABELS_FR,
    REASON_LABELS_FR,
    REQUIREMENT_ARTICLES,
    REQUIREMENT_LABELS_FR,
    REQUIREMENT_STATUS_LABELS_FR,
    STATUS_LABELS_FR,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    format_date_fr,
    status_label_fr,
)


def test_every_status_has_a_french_label() -> None:
    codes = {s.value for s in RequirementStatus} | {s.value for s in OverallStatus}
    assert set(STATUS_LABELS_FR) == codes
    assert len(codes) == len(RequirementStatus) + len(OverallStatus)  # no shared code
    assert STATUS_LABELS_FR["non_compliant"] == "Non conforme"
    assert STATUS_LABELS_FR[RequirementStatus.AWAITING_UPLOAD] == "En attente de dépôt"


def test_one_label_table_per_status_enum() -> None:
    assert set(REQUIREMENT_STATUS_LABELS_FR) == set(RequirementStatus)
    assert set(OVERALL_STATUS_LABELS_FR) == set(OverallStatus)
    assert status_label_fr(OverallStatus.AT_RISK) == "À risque"
    assert status_label_fr("upstream_pending") == "En attente de la source"


def test_every_reason_code_has_a_french_label() -> None:
    assert set(REASON_LABELS_FR) == set(ReasonCode)
    assert all(label and label[0].isupper() for label in REASON_LABELS_FR.values())


def test_every_requirement_has_a_french_label_and_an_article() -> None:
    assert set(REQUIREMENT_LABELS_FR) == set(RequirementType)
    assert set(REQUIREMENT_ARTICLES) == set(RequirementType)
    assert REQUIREMENT_ARTICLES[RequirementType.URSSAF_VIGILANCE] == (
        "Code du travail, art. D8222-5, 1°"
    )
    assert "D8222-8" in REQUIREMENT_ARTICLES[RequirementType.FOREIGN_SOCIAL_COVER]
    assert "D8254-2" in REQUIREMENT_ARTICLES[RequirementType.FOREIGN_WORKERS_LIST]


def test_codes_are_the_documented_strings() -> None:
    assert [s.value for s in RequirementStatus] == [
        "valid",
        "expiring",
        "expired",
        "missing",
        "refused",
        "awaiting_upload",
        "under_review",
        "rejected",
        "upstream_pending",
    ]
    assert [s.value for s in OverallStatus] == [
        "compliant",
        "at_risk",
        "non_compliant",
        "not_checked",
    ]
    assert len(RequirementType) == 15
    assert RequirementType.FOREIGN_WORKERS_LIST == "foreign_workers_list"
    assert ReasonCode.URSSAF_REFUSED == "urssaf_refused"
    new = [
        ReasonCode.DOCUMENT_EXPIRED_BETWEEN_CHECKS,
        ReasonCode.LIQUIDATION,
        ReasonCode.CHECK_FAILED,
        ReasonCode.REQUEST_NOT_SENT,
        ReasonCode.REQUEST_SENT,
    ]
    assert [c.value for c in new] == [
        "document_expired_between_checks",
        "liquidation",
        "check_failed",
        "request_not_sent",
        "request_sent",
    ]


def test_reason_is_frozen_and_hashable() -> None:
    reason = Reason(ReasonCode.DOCUMENT_EXPIRED, "Expiré.", date(2026, 1, 1), "doc-1")
    assert reason == Reason("document_expired", "Expiré.", date(2026, 1, 1), "doc-1")
    assert hash(reason) == hash(Reason("document_expired", "Expiré.", date(2026, 1, 1), "doc-1"))


def test_reason_article_defaults_and_serialises_with_pydantic() -> None:
    # The engine stores reasons through pydantic's TypeAdapter; rows written before `article`
    # existed read back with `article=None`.
    adapter = TypeAdapter(Reason)
    reason = Reason(
        "urssaf_refused",
        "Refus.",
        date(2026, 1, 1),
        "doc-1",
        RequirementType.URSSAF_VIGILANCE,
        "Code du travail, art. D8222-5, 1°",
    )
    assert adapter.validate_python(adapter.dump_python(reason, mode="json")) == reason
    old = {"code": "not_checked", "message": "x", "since": None, "evidence": None}
    assert adapter.validate_python(old).article is None


def test_format_date_fr() -> None:
    assert format_date_fr(date(2026, 3, 1)) == "1er mars 2026"
    assert format_date_fr(date(2028, 2, 29)) == "29 février 2028"
    assert format_date_fr(date(2026, 8, 31)) == "31 août 2026"


def test_all_exports_exist() -> None:
    for name in rules.__all__:
        assert hasattr(rules, name), name
