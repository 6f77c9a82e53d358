"""The rules of the obligation de vigilance: pure functions, no I/O.

What a holder must provide (`required_types`), when (`due_dates`, `next_due_date`,
`current_due_date`), what its evidence is worth for the current due date (`requirement_status`),
and what that makes of a supplier and of a contract (`overall_status`, `combine_statuses`), each
status with its reasons, their French sentences and the article they apply. Articles: C. trav.
L8222-1, R8222-1, D8222-5, D8222-7/8, D8254-2 to D8254-5; CSS L243-15; C. commande publique
L2141-3, R2143-7, R2143-8, R2143-13. Import from here: `from app.compliance.rules import ...`.

Files: `codes` (enums, `Reason`), `labels` (French words, articles), `requirements` (policy,
what is required), `schedule` and `calendar` (due dates), `evidence` (what the engine hands in),
`reasons` (one builder per reason), `status` (one requirement), `results` (the result types, the
grace deadline), `overall` (a supplier, a contract).
"""

from app.compliance.rules.codes import (
    BLOCKING_REASONS,
    INFO_REASONS,
    WARNING_REASONS,
    HolderKind,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementStatus,
    RequirementType,
)
from app.compliance.rules.evidence import Evidence, EvidenceKind, effective_valid_until
from app.compliance.rules.labels import (
    OVERALL_STATUS_LABELS_FR,
    REASON_LABELS_FR,
    REQUIREMENT_ARTICLES,
    REQUIREMENT_LABELS_FR,
    REQUIREMENT_STATUS_LABELS_FR,
    STATUS_LABELS_FR,
    format_date_fr,
    status_label_fr,
)
from app.compliance.rules.overall import combine_statuses, grade_requirement, overall_status
from app.compliance.rules.requirements import (
    DEFAULT_CPV_REQUIREMENTS,
    SECTOR_TYPES,
    UPLOAD_ONLY_TYPES,
    CompliancePolicy,
    normalize_cpv,
    registration_compulsory,
    required_types,
)
from app.compliance.rules.results import (
    OverallResult,
    RequirementResult,
    becomes_non_compliant_on,
)
from app.compliance.rules.schedule import (
    add_months,
    contract_ended,
    current_due_date,
    due_dates,
    next_due_date,
)
from app.compliance.rules.status import requirement_status

__all__ = [
    "BLOCKING_REASONS",
    "DEFAULT_CPV_REQUIREMENTS",
    "INFO_REASONS",
    "OVERALL_STATUS_LABELS_FR",
    "REASON_LABELS_FR",
    "REQUIREMENT_ARTICLES",
    "REQUIREMENT_LABELS_FR",
    "REQUIREMENT_STATUS_LABELS_FR",
    "SECTOR_TYPES",
    "STATUS_LABELS_FR",
    "UPLOAD_ONLY_TYPES",
    "WARNING_REASONS",
    "CompliancePolicy",
    "Evidence",
    "EvidenceKind",
    "HolderKind",
    "OverallResult",
    "OverallStatus",
    "Reason",
    "ReasonCode",
    "RequirementResult",
    "RequirementStatus",
    "RequirementType",
    "add_months",
    "becomes_non_compliant_on",
    "combine_statuses",
    "contract_ended",
    "current_due_date",
    "due_dates",
    "effective_valid_until",
    "format_date_fr",
    "grade_requirement",
    "next_due_date",
    "normalize_cpv",
    "overall_status",
    "registration_compulsory",
    "required_types",
    "requirement_status",
    "status_label_fr",
]
