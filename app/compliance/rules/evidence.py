"""The latest known state of one requirement, as the engine hands it to the rules."""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.compliance.rules.calendar import add_months
from app.compliance.rules.codes import RequirementType
from app.compliance.rules.requirements import CompliancePolicy

__all__ = ["AGE_LIMITED_TYPES", "Evidence", "EvidenceKind", "effective_valid_until"]

# D8222-5 1° C. trav. (and L243-15 CSS for the MSA): "datant de moins de six mois".
AGE_LIMITED_TYPES = frozenset({RequirementType.URSSAF_VIGILANCE, RequirementType.MSA_VIGILANCE})


class EvidenceKind(StrEnum):
    DELIVERED = "delivered"  # fetched from the source, or uploaded and verified
    REFUSED = "refused"  # the issuer refuses to deliver (URSSAF `refus_de_delivrance`)
    UNAVAILABLE = "unavailable"  # not deliverable by this source (perimeter, 404): upload it
    PENDING = "pending"  # the source will answer later (manual review, provider down)
    UPLOADED_PENDING_REVIEW = "uploaded_pending_review"
    UPLOADED_REJECTED = "uploaded_rejected"
    NONE = "none"  # looked for, nothing there (nothing uploaded, nothing fetched)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What the buyer holds for one requirement of one supplier.

    Pass `None` instead of an `Evidence` when no check has ever run for the requirement.
    Dates are calendar days (Europe/Paris); `valid_until` is the last day of validity, inclusive
    (`date_fin_validite`). `retry_on` may be a datetime (it is a date subclass).
    """

    kind: EvidenceKind
    obtained_on: date | None = None  # the day the buyer got it (fetch, or upload): the remise
    issued_on: date | None = None  # the date printed on it; the URSSAF age counts from it
    valid_from: date | None = None
    valid_until: date | None = None
    retry_on: date | None = None
    ceased: bool = False  # INSEE etat_administratif C (ceased) or F (closed)
    ceased_on: date | None = None
    struck_off: bool = False  # RCS: radiation
    struck_off_on: date | None = None
    collective_proceedings: bool = False  # RCS: sauvegarde or redressement judiciaire
    liquidation: bool = False  # RCS: liquidation judiciaire (L2141-3 C. commande publique)
    proceedings_on: date | None = None  # the date of the judgment opening the proceedings
    document_id: str | None = None
    reference: str | None = None  # the upstream call reference (X-Request-ID)
    # Served by the built-in sandbox (invented data for development and tests): it proves
    # nothing, so it counts only where the policy says so (`CompliancePolicy.sandbox_counts`).
    sandbox: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EvidenceKind(self.kind))
        if self.kind is EvidenceKind.DELIVERED and self.obtained_on is None:
            raise ValueError("delivered evidence needs obtained_on")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")

    @property
    def proof(self) -> str | None:
        """What a reason cites: the archived document, else the call that established the fact."""
        return self.document_id or self.reference


def effective_valid_until(
    rtype: RequirementType, evidence: Evidence, policy: CompliancePolicy
) -> tuple[date | None, bool]:
    """The last day the document counts, and whether the age limit (not its own end) decides it.

    URSSAF/MSA: "less than six months old" on day d means d < issued + 6 months, so the last day is
    the day before (31 Aug → last day 27 Feb, since 31 Aug + 6 months = 28 Feb). Its own
    `date_fin_validite` is honoured when earlier. Other documents: their own end date, if any.
    """
    own = evidence.valid_until
    if rtype not in AGE_LIMITED_TYPES:
        return own, False
    issued = evidence.issued_on or evidence.valid_from or evidence.obtained_on
    if issued is None:
        return own, False
    by_age = add_months(issued, policy.urssaf_max_age_months) - timedelta(days=1)
    if own is not None and own <= by_age:
        return own, False
    return by_age, True
