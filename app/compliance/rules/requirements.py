"""What a holder must provide: the policy (settings) and the list of requirements per contract."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from app.compliance.rules.codes import HolderKind, RequirementType

__all__ = [
    "DEFAULT_CPV_REQUIREMENTS",
    "SECTOR_TYPES",
    "UPLOAD_ONLY_TYPES",
    "CompliancePolicy",
    "normalize_cpv",
    "registration_compulsory",
    "required_types",
]

# Sector certificates asked from the CPV code of the contract (longest prefix wins): EMPTY by
# default. None of them is in the list of D8222-5 C. trav. (Cass. civ. 2, 11 Feb. 2016,
# n° 15-10.168: only that list counts), so they are required only where a contract says so, never
# inferred from its CPV code. A platform may still configure a table (`cpv_requirements`): its
# meaning is "ask the contractor for it", and a sector certificate never makes a supplier
# non-compliant, only at risk.
DEFAULT_CPV_REQUIREMENTS: Mapping[str, tuple[RequirementType, ...]] = MappingProxyType({})

SECTOR_TYPES: Final = frozenset(
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
_FOREIGN_TYPES: Final = frozenset(
    {
        RequirementType.FOREIGN_VAT,
        RequirementType.FOREIGN_SOCIAL_COVER,
        RequirementType.FOREIGN_REGISTRATION,
    }
)
# Documents no official French source delivers: the contractor uploads them (D8222-7 for a
# foreign holder; the LNTE comes from the contractor's personnel register, D8254-2).
UPLOAD_ONLY_TYPES: Final = _FOREIGN_TYPES | {RequirementType.FOREIGN_WORKERS_LIST}


def _country(code: str) -> str:
    country = code.strip().upper()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {code!r}")
    return country


@dataclass(frozen=True, slots=True, kw_only=True)
class CompliancePolicy:
    """The knobs of the rules (filled from `settings.compliance`); defaults are the product's."""

    # A requirement is `expiring` when the next due date is at most this many days away and its
    # document will not be valid on it (DOMAIN.md: within 30 days).
    expiring_days: int = 30
    # An `expired` or `missing` requirement is a risk for this many days after the contractor was
    # asked for the document, then a non-compliance (R8222-3 gives 15 days to answer an injunction).
    grace_days: int = 15
    # How long before a due date a certificate may have been obtained and still satisfy it. The
    # attributaire's documents are usually collected during the award, a few weeks before
    # notification, and the sweep fetches ahead of each six-monthly date (URSSAF's manual review
    # alone takes 48 h); 30 days covers both while staying far below the six-month period, so one
    # certificate can never satisfy two consecutive due dates, and an URSSAF attestation obtained
    # within it is still well under six months old on the due date.
    tolerance_days: int = 30
    # Evidence the built-in sandbox served counts in development and tests only: anywhere else
    # it is as if nothing had been checked (invented data is no proof, L8222-1 C. trav.).
    sandbox_counts: bool = True
    # D8222-5 1° C. trav.: the URSSAF (or MSA) attestation must be less than six months old.
    urssaf_max_age_months: int = 6
    cpv_requirements: Mapping[str, tuple[RequirementType, ...]] = field(
        default_factory=lambda: DEFAULT_CPV_REQUIREMENTS
    )
    # D8222-7 2° C. trav. asks a foreign holder for its home-registry extract only "lorsque
    # l'immatriculation ... à un registre professionnel est obligatoire dans le pays
    # d'établissement". Countries listed here (ISO 3166-1 alpha-2) are those where it is not, so
    # the extract is not required. Empty by default, i.e. compulsory everywhere: every EU/EEA
    # state registers its companies and traders (company law directive (EU) 2017/1132 and national
    # trade registers), and elsewhere a company is registered almost everywhere; where only some
    # legal forms escape registration (sole traders in some common-law countries), a per-country
    # setting cannot tell them from the companies that must produce it. Asking too much costs the
    # contractor an upload and the supplier an `awaiting_upload` (at risk, never non-compliant);
    # asking too little leaves the buyer without a document the law requires (L8222-2 joint
    # liability). A platform lists its countries when it knows better.
    registration_not_compulsory: frozenset[str] = frozenset()

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
        countries = frozenset(_country(c) for c in self.registration_not_compulsory)
        object.__setattr__(self, "registration_not_compulsory", countries)


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


def registration_compulsory(country: str | None, policy: CompliancePolicy) -> bool:
    """Whether a foreign holder from `country` must produce its home-registry extract (D8222-7
    2° C. trav.). An unknown country counts as compulsory: the stricter reading."""
    return country is None or _country(country) not in policy.registration_not_compulsory


def required_types(
    holder_kind: HolderKind | str,
    *,
    agricultural: bool = False,
    public_contract: bool = True,
    explicit: Iterable[RequirementType | str] = (),
    cpv_code: str | None = None,
    policy: CompliancePolicy | None = None,
    country: str | None = None,
    foreign_workers: bool = False,
) -> list[RequirementType]:
    """The requirements of one holder under one contract, in a stable order.

    French holder (D8222-5 C. trav.): `registration` (2°), `urssaf_vigilance` (1°) — or
    `msa_vigilance` for the agricultural regime (L243-15 CSS), which replaces it, never both:
    `agricultural=True` or `msa_vigilance` in `explicit` — and `dgfip_fiscal` for a public contract
    (R2143-7 C. commande publique). Then the sector certificates the contract asks for
    (`explicit`); only when it names none, the policy's opt-in CPV table (empty by default).
    Foreign holder (D8222-7, in French or translated per D8222-8): the VAT number or fiscal
    representative (1° a), the social-security cover, A1 or equivalent (1° b), and the home-registry
    extract where registration is compulsory in `country` (2°, see `registration_compulsory`),
    plus the sector certificates of `explicit`; French regimes and the CPV table do not apply.
    Either holder: the list of foreign employees (D8254-2 to D8254-5, asked under R2143-8
    C. commande publique) when `foreign_workers` or when `explicit` names it.
    `explicit` entries that do not apply to the holder (the social attestation, which follows the
    regime; a foreign document for a French holder; a French one for a foreign holder) are ignored.
    """
    policy = policy or CompliancePolicy()
    kind = HolderKind(holder_kind)
    asked = {RequirementType(t) for t in explicit}
    extra = asked & SECTOR_TYPES
    if foreign_workers or RequirementType.FOREIGN_WORKERS_LIST in asked:
        extra.add(RequirementType.FOREIGN_WORKERS_LIST)
    if kind is HolderKind.FOREIGN:
        base = [RequirementType.FOREIGN_VAT, RequirementType.FOREIGN_SOCIAL_COVER]
        if registration_compulsory(country, policy):
            base.append(RequirementType.FOREIGN_REGISTRATION)
        extra |= asked & _FOREIGN_TYPES  # a contract may ask for the extract anyway
    else:
        agricultural = agricultural or RequirementType.MSA_VIGILANCE in asked
        social = RequirementType.MSA_VIGILANCE if agricultural else RequirementType.URSSAF_VIGILANCE
        base = [RequirementType.REGISTRATION, social]
        if public_contract:
            base.append(RequirementType.DGFIP_FISCAL)
        # A private contract may still ask for the tax certificate.
        extra |= asked & {RequirementType.DGFIP_FISCAL}
        if cpv_code and not asked & SECTOR_TYPES:
            extra.update(_sector_types_for_cpv(cpv_code, policy))
    order = list(RequirementType)
    return base + sorted(extra - set(base), key=order.index)
