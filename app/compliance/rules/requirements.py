"""What a holder must provide: the policy (settings) and the list of requirements per contract."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.compliance.rules.codes import HolderKind, RequirementType

__all__ = ["DEFAULT_CPV_REQUIREMENTS", "CompliancePolicy", "normalize_cpv", "required_types"]

# Sector certificates asked by default from the CPV code of the contract (longest prefix wins).
# None of them is in D8222-5 C. trav.; they come from the buyer's consultation rules, so the default
# is deliberately small and grounded in a legal obligation of the sector:
# - division 45 (construction works): building employers must belong to a congés payés caisse
#   (C. trav. L3141-32 and D3141-12 et s.), certified by CIBTP;
# - groups 4523 (roads, railways, networks, earthworks) and 4524 (hydraulic works) are public works
#   ("travaux publics"), whose caisse is the CNETP, not CIBTP (research/api-entreprise.md §3.10).
# Qualibat, RGE, OPQIBI, FNTP and PRO BTP stay explicit per contract (qualifications are selection
# criteria of one consultation, not a duty of every works contractor).
DEFAULT_CPV_REQUIREMENTS: Mapping[str, tuple[RequirementType, ...]] = MappingProxyType(
    {
        "45": (RequirementType.CIBTP,),
        "4523": (RequirementType.CNETP,),
        "4524": (RequirementType.CNETP,),
    }
)

SECTOR_TYPES = frozenset(
    {
        RequirementType.FNTP_CARD,
        RequirementType.QUALIBAT,
        RequirementType.RGE,
        RequirementType.CNETP,
        RequirementType.CIBTP,
        RequirementType.OPQIBI,
        RequirementType.PROBTP,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CompliancePolicy:
    """The knobs of the rules (filled from `settings.compliance`); defaults are the product's."""

    # A document is `expiring` when its last valid day is at most this many days away (DOMAIN.md).
    expiring_days: int = 30
    # An `expired` or `missing` requirement is a risk for this many days, then a non-compliance:
    # time for the contractor to answer a reminder (R8222-3 gives 15 days to answer an injunction).
    grace_days: int = 15
    # How long before a due date a certificate may have been obtained and still satisfy it. The
    # attributaire's documents are usually collected during the award, a few weeks before
    # notification, and the sweep fetches ahead of each six-monthly date (URSSAF's manual review
    # alone takes 48 h); 30 days covers both while staying far below the six-month period, so one
    # certificate can never satisfy two consecutive due dates, and an URSSAF attestation obtained
    # within it is still well under six months old on the due date.
    tolerance_days: int = 30
    # D8222-5 1° C. trav.: the URSSAF (or MSA) attestation must be less than six months old.
    urssaf_max_age_months: int = 6
    cpv_requirements: Mapping[str, tuple[RequirementType, ...]] = field(
        default_factory=lambda: DEFAULT_CPV_REQUIREMENTS
    )

    def __post_init__(self) -> None:
        for name in ("expiring_days", "grace_days", "tolerance_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.tolerance_days >= 180:
            raise ValueError("tolerance_days must stay well below the six-month period")
        if not 1 <= self.urssaf_max_age_months <= 12:
            raise ValueError("urssaf_max_age_months must be between 1 and 12")
        for prefix in self.cpv_requirements:
            if not prefix.isdigit() or len(prefix) > 8:
                raise ValueError(f"CPV prefix {prefix!r} must be 1 to 8 digits")


def normalize_cpv(cpv_code: str) -> str:
    """The 8 digits of a CPV code: `45000000-7`, `45000000` and ` 45000000 ` are the same."""
    digits, dash, check = cpv_code.strip().partition("-")
    # The check digit is tolerated and not verified (the DECP schemas prefer it omitted).
    if (
        len(digits) != 8
        or not digits.isdigit()
        or (dash and not (check.isdigit() and len(check) == 1))
    ):
        raise ValueError(f"not a CPV code: {cpv_code!r}")
    return digits


def _sector_types_for_cpv(cpv_code: str, policy: CompliancePolicy) -> tuple[RequirementType, ...]:
    digits = normalize_cpv(cpv_code)
    matches = [p for p in policy.cpv_requirements if digits.startswith(p)]
    return policy.cpv_requirements[max(matches, key=len)] if matches else ()


def required_types(
    holder_kind: HolderKind | str,
    *,
    agricultural: bool = False,
    public_contract: bool = True,
    explicit: Iterable[RequirementType] = (),
    cpv_code: str | None = None,
    policy: CompliancePolicy | None = None,
) -> list[RequirementType]:
    """The requirements of one holder under one contract, in a stable order.

    French holder (D8222-5 C. trav.): `registration` (2°: INSEE + RCS), `urssaf_vigilance` (1°; the
    MSA issues it for the agricultural regime, L243-15 CSS), `dgfip_fiscal` for a public contract
    (R2143-7 C. commande publique: tax certificates), then the sector certificates: the `explicit`
    list of the contract when given, otherwise the policy's table by CPV prefix.
    Foreign holder (D8222-7, in French or translated per D8222-8): VAT number or fiscal
    representative, social-security cover (A1 or equivalent), home registry extract, plus any
    explicit certificate; the CPV table (French sector bodies) does not apply to them.
    """
    policy = policy or CompliancePolicy()
    kind = HolderKind(holder_kind)
    explicit = tuple(explicit)
    if kind is HolderKind.FOREIGN:
        base = [
            RequirementType.FOREIGN_VAT,
            RequirementType.FOREIGN_SOCIAL_COVER,
            RequirementType.FOREIGN_REGISTRATION,
        ]
        sector: tuple[RequirementType, ...] = explicit
    else:
        social = RequirementType.MSA_VIGILANCE if agricultural else RequirementType.URSSAF_VIGILANCE
        base = [RequirementType.REGISTRATION, social]
        if public_contract:
            base.append(RequirementType.DGFIP_FISCAL)
        if explicit:
            sector = explicit
        elif cpv_code:
            sector = _sector_types_for_cpv(cpv_code, policy)
        else:
            sector = ()
    order = list(RequirementType)
    extra = sorted({RequirementType(t) for t in sector} - set(base), key=order.index)
    return base + extra
