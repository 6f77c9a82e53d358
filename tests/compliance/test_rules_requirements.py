"""What each holder must provide: D8222-5 (French), D8222-7 (foreign), R2143-7, sector by CPV."""

import pytest

from app.compliance.rules import (
    DEFAULT_CPV_REQUIREMENTS,
    CompliancePolicy,
    HolderKind,
    RequirementType,
    normalize_cpv,
    required_types,
)

R = RequirementType
FRENCH_BASE = [R.REGISTRATION, R.URSSAF_VIGILANCE, R.DGFIP_FISCAL]


def test_french_holder_public_contract() -> None:
    assert required_types("french", agricultural=False, cpv_code=None) == FRENCH_BASE


def test_french_holder_agricultural_regime_uses_msa() -> None:
    assert required_types(HolderKind.FRENCH, agricultural=True) == [
        R.REGISTRATION,
        R.MSA_VIGILANCE,
        R.DGFIP_FISCAL,
    ]


def test_private_contract_does_not_need_the_tax_certificate() -> None:
    assert required_types("french", public_contract=False) == [R.REGISTRATION, R.URSSAF_VIGILANCE]


def test_foreign_holder() -> None:
    assert required_types("foreign", cpv_code="45000000-7") == [
        R.FOREIGN_VAT,
        R.FOREIGN_SOCIAL_COVER,
        R.FOREIGN_REGISTRATION,
    ]
    # Agricultural and public-contract flags are French-regime notions.
    assert required_types("foreign", agricultural=True, public_contract=False) == [
        R.FOREIGN_VAT,
        R.FOREIGN_SOCIAL_COVER,
        R.FOREIGN_REGISTRATION,
    ]


def test_foreign_holder_explicit_certificate() -> None:
    assert required_types("foreign", explicit=[R.QUALIBAT])[-1] == R.QUALIBAT


def test_unknown_holder_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        required_types("martian")


@pytest.mark.parametrize(
    ("cpv", "extra"),
    [
        ("45000000-7", [R.CIBTP]),  # construction works
        ("45210000", [R.CIBTP]),  # building
        ("45233140-2", [R.CNETP]),  # roads: public works, longest prefix wins
        ("45240000", [R.CNETP]),  # hydraulic works
        ("72000000-5", []),  # IT services
        ("30192000", []),  # office supplies
        (" 45000000 ", [R.CIBTP]),
    ],
)
def test_sector_certificates_by_cpv(cpv: str, extra: list[RequirementType]) -> None:
    assert required_types("french", cpv_code=cpv) == FRENCH_BASE + extra


def test_explicit_list_replaces_the_cpv_table_and_is_ordered_and_deduplicated() -> None:
    explicit = [R.QUALIBAT, R.FNTP_CARD, R.QUALIBAT, R.URSSAF_VIGILANCE]
    assert required_types("french", explicit=explicit, cpv_code="45000000") == [
        *FRENCH_BASE,
        R.FNTP_CARD,
        R.QUALIBAT,
    ]


def test_custom_cpv_table() -> None:
    policy = CompliancePolicy(cpv_requirements={"71": (R.OPQIBI,), "4521": (R.QUALIBAT, R.RGE)})
    assert required_types("french", cpv_code="71300000-1", policy=policy)[-1] == R.OPQIBI
    assert required_types("french", cpv_code="45210000", policy=policy)[-2:] == [R.QUALIBAT, R.RGE]
    assert required_types("french", cpv_code="45000000", policy=policy) == FRENCH_BASE


def test_default_table_is_the_documented_one() -> None:
    assert dict(DEFAULT_CPV_REQUIREMENTS) == {
        "45": (R.CIBTP,),
        "4523": (R.CNETP,),
        "4524": (R.CNETP,),
    }


@pytest.mark.parametrize("bad", ["", "4500", "45000000-", "ABCDEFGH", "450000001"])
def test_bad_cpv_codes(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_cpv(bad)


def test_normalize_cpv() -> None:
    assert normalize_cpv("45000000-7") == "45000000"
    assert normalize_cpv("45000000") == "45000000"


def test_policy_defaults() -> None:
    policy = CompliancePolicy()
    assert (policy.expiring_days, policy.grace_days, policy.tolerance_days) == (30, 15, 30)
    assert policy.urssaf_max_age_months == 6


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expiring_days": -1},
        {"grace_days": -1},
        {"tolerance_days": -1},
        {"tolerance_days": 180},
        {"urssaf_max_age_months": 0},
        {"cpv_requirements": {"4x": (R.RGE,)}},
        {"cpv_requirements": {"123456789": (R.RGE,)}},
    ],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CompliancePolicy(**kwargs)  # type: ignore[arg-type]
