"""The public surface of `app.compliance.rules`: codes, labels and the imports the engine uses."""

from datetime import date

import app.compliance.rules as rules
from app.compliance.rules import (
    REQUIREMENT_LABELS_FR,
    STATUS_LABELS_FR,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    format_date_fr,
)


def test_every_status_has_a_french_label() -> None:
    codes = {s.value for s in RequirementStatus} | {s.value for s in OverallStatus}
    assert set(STATUS_LABELS_FR) == codes
    assert len(codes) == len(RequirementStatus) + len(OverallStatus)  # no shared code
    assert STATUS_LABELS_FR["non_compliant"] == "Non conforme"
    assert STATUS_LABELS_FR[RequirementStatus.AWAITING_UPLOAD] == "En attente de dépôt"


def test_every_requirement_has_a_french_label() -> None:
    assert set(REQUIREMENT_LABELS_FR) == set(RequirementType)


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
    assert len(RequirementType) == 14
    assert ReasonCode.URSSAF_REFUSED == "urssaf_refused"


def test_reason_is_frozen_and_hashable() -> None:
    reason = Reason(ReasonCode.DOCUMENT_EXPIRED, "Expiré.", date(2026, 1, 1), "doc-1")
    assert reason == Reason("document_expired", "Expiré.", date(2026, 1, 1), "doc-1")
    assert hash(reason) == hash(Reason("document_expired", "Expiré.", date(2026, 1, 1), "doc-1"))


def test_format_date_fr() -> None:
    assert format_date_fr(date(2026, 3, 1)) == "1er mars 2026"
    assert format_date_fr(date(2028, 2, 29)) == "29 février 2028"
    assert format_date_fr(date(2026, 8, 31)) == "31 août 2026"


def test_all_exports_exist() -> None:
    for name in rules.__all__:
        assert hasattr(rules, name), name
