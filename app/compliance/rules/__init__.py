"""The rules of the obligation de vigilance: pure functions, no I/O.

What a holder must provide (`required_types`), when (`due_dates`, `next_due_date`,
`current_due_date`), and what its evidence is worth (`requirement_status`, `overall_status`,
`combine_statuses`). Articles: C. trav. L8222-1, R8222-1, D8222-5, D8222-7/8; C. commande publique
R2143-7, R2143-8, R2143-13. Import from here: `from app.compliance.rules import ...`.
"""

from app.compliance.rules.codes import (
    BLOCKING_REASONS,
    REQUIREMENT_LABELS_FR,
    STATUS_LABELS_FR,
    WARNING_REASONS,
    HolderKind,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementStatus,
    RequirementType,
    format_date_fr,
)
from app.compliance.rules.evidence import Evidence, EvidenceKind, effective_valid_until
from app.compliance.rules.requirements import (
    DEFAULT_CPV_REQUIREMENTS,
    CompliancePolicy,
    normalize_cpv,
    required_types,
)
from app.compliance.rules.schedule import (
    add_months,
    contract_ended,
    current_due_date,
    due_dates,
    next_due_date,
)
from app.compliance.rules.status import (
    OverallResult,
    RequirementResult,
    combine_statuses,
    overall_status,
    requirement_status,
)

__all__ = [
    "BLOCKING_REASONS",
    "DEFAULT_CPV_REQUIREMENTS",
    "REQUIREMENT_LABELS_FR",
    "STATUS_LABELS_FR",
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
    "combine_statuses",
    "contract_ended",
    "current_due_date",
    "due_dates",
    "effective_valid_until",
    "format_date_fr",
    "next_due_date",
    "normalize_cpv",
    "overall_status",
    "required_types",
    "requirement_status",
]
