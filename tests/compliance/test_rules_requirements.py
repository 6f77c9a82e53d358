"""What each holder must provide: D8222-5 (French), D8222-7 (foreign), R2143-7, D8254-2, and the
sector certificates a contract asks for (never inferred from its CPV code by default)."""

import pytest

from app.compliance.rules import (
    DEFAULT_CPV_REQUIREMENTS,
    CompliancePolicy,
    HolderKind,
    RequirementType,
    normalize_cpv,
    registration_compulsory,
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


# The table that used to be the default: now only an opt-in a platform may configure.
OPT_IN = CompliancePolicy(
    cpv_requirements={"45": (R.CIBTP,), "4523": (R.CNETP,), "4524": (R.CNETP,)}
)


@pytest.mark.parametrize(
    "cpv", ["45000000-7", "45210000", "45233140-2", "45240000", "72000000-5", " 45000000 "]
)
def test_sector_certificates_are_never_inferred_from_the_cpv_code_by_default(cpv: str) -> None:
    # Issue 10: FNTP, Qualibat, RGE, CNETP, CIBTP, OPQIBI, PRO BTP are not in D8222-5.
    assert required_types("french", cpv_code=cpv) == FRENCH_BASE


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
def test_an_opt_in_cpv_table_still_works(cpv: str, extra: list[RequirementType]) -> None:
    assert required_types("french", cpv_code=cpv, policy=OPT_IN) == FRENCH_BASE + extra


def test_explicit_sector_list_replaces_the_cpv_table_and_is_ordered_and_deduplicated() -> None:
    explicit = [R.QUALIBAT, R.FNTP_CARD, R.QUALIBAT, R.URSSAF_VIGILANCE]
    assert required_types("french", explicit=explicit, cpv_code="45000000", policy=OPT_IN) == [
        *FRENCH_BASE,
        R.FNTP_CARD,
        R.QUALIBAT,
    ]


def test_an_explicit_list_without_sector_certificate_keeps_the_cpv_table() -> None:
    explicit = [R.MSA_VIGILANCE]
    assert required_types("french", explicit=explicit, cpv_code="45000000", policy=OPT_IN) == [
        R.REGISTRATION,
        R.MSA_VIGILANCE,
        R.DGFIP_FISCAL,
        R.CIBTP,
    ]


def test_custom_cpv_table() -> None:
    policy = CompliancePolicy(cpv_requirements={"71": (R.OPQIBI,), "4521": (R.QUALIBAT, R.RGE)})
    assert required_types("french", cpv_code="71300000-1", policy=policy)[-1] == R.OPQIBI
    assert required_types("french", cpv_code="45210000", policy=policy)[-2:] == [R.QUALIBAT, R.RGE]
    assert required_types("french", cpv_code="45000000", policy=policy) == FRENCH_BASE


def test_default_table_is_empty() -> None:
    assert dict(DEFAULT_CPV_REQUIREMENTS) == {}
    assert dict(CompliancePolicy().cpv_requirements) == {}


# --- MSA: the agricultural regime replaces URSSAF, never both ---------------------------------


@pytest.mark.parametrize(
    "explicit",
    [
        ["msa_vigilance"],
        [R.MSA_VIGILANCE, R.URSSAF_VIGILANCE],
        [R.URSSAF_VIGILANCE, R.MSA_VIGILANCE],
    ],
)
def test_msa_in_the_explicit_list_means_agricultural(explicit: list[RequirementType]) -> None:
    assert required_types("french", explicit=explicit) == [
        R.REGISTRATION,
        R.MSA_VIGILANCE,
        R.DGFIP_FISCAL,
    ]


def test_agricultural_holder_never_gets_urssaf_from_the_explicit_list() -> None:
    types = required_types("french", agricultural=True, explicit=[R.URSSAF_VIGILANCE, R.RGE])
    assert types == [R.REGISTRATION, R.MSA_VIGILANCE, R.DGFIP_FISCAL, R.RGE]


def test_a_private_contract_may_still_ask_for_the_tax_certificate() -> None:
    assert required_types("french", public_contract=False, explicit=[R.DGFIP_FISCAL]) == (
        FRENCH_BASE
    )


# --- foreign holders (D8222-7, D8222-8) and foreign employees (D8254-2) -----------------------

FOREIGN_BASE = [R.FOREIGN_VAT, R.FOREIGN_SOCIAL_COVER, R.FOREIGN_REGISTRATION]


@pytest.mark.parametrize("country", [None, "DE", "es", " PL ", "US", "GB"])
def test_registry_extract_is_required_everywhere_by_default(country: str | None) -> None:
    assert required_types("foreign", country=country) == FOREIGN_BASE
    assert registration_compulsory(country, CompliancePolicy())


def test_registry_extract_not_required_where_registration_is_not_compulsory() -> None:
    policy = CompliancePolicy(registration_not_compulsory=frozenset({"gb", "IE"}))
    assert policy.registration_not_compulsory == {"GB", "IE"}
    assert required_types("foreign", country="GB", policy=policy) == [
        R.FOREIGN_VAT,
        R.FOREIGN_SOCIAL_COVER,
    ]
    assert required_types("foreign", country="ie", policy=policy)[-1] == R.FOREIGN_SOCIAL_COVER
    assert required_types("foreign", country="DE", policy=policy) == FOREIGN_BASE
    assert required_types("foreign", policy=policy) == FOREIGN_BASE  # unknown: the stricter
    # A contract may still ask for it.
    asked = required_types(
        "foreign", country="GB", explicit=[R.FOREIGN_REGISTRATION], policy=policy
    )
    assert asked == FOREIGN_BASE


@pytest.mark.parametrize("bad", ["", "D", "DEU", "1A", "É1"])
def test_country_codes_are_iso_alpha_2(bad: str) -> None:
    with pytest.raises(ValueError):
        required_types("foreign", country=bad)
    with pytest.raises(ValueError):
        CompliancePolicy(registration_not_compulsory=frozenset({bad}))


def test_foreign_holder_ignores_french_regime_documents() -> None:
    explicit = [R.URSSAF_VIGILANCE, R.MSA_VIGILANCE, R.DGFIP_FISCAL, R.REGISTRATION, R.CIBTP]
    assert required_types("foreign", explicit=explicit) == [*FOREIGN_BASE, R.CIBTP]


def test_french_holder_ignores_foreign_documents() -> None:
    assert required_types("french", explicit=[R.FOREIGN_VAT]) == FRENCH_BASE


@pytest.mark.parametrize("kind", ["french", "foreign"])
def test_foreign_workers_list_when_the_contract_declares_foreign_workers(kind: str) -> None:
    base = FRENCH_BASE if kind == "french" else FOREIGN_BASE
    assert required_types(kind, foreign_workers=True) == [*base, R.FOREIGN_WORKERS_LIST]
    assert required_types(kind, explicit=["foreign_workers_list"]) == [
        *base,
        R.FOREIGN_WORKERS_LIST,
    ]
    assert R.FOREIGN_WORKERS_LIST not in required_types(kind)
    with_sector = required_types(kind, foreign_workers=True, explicit=[R.QUALIBAT])
    assert with_sector[-2:] == [R.QUALIBAT, R.FOREIGN_WORKERS_LIST]


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
        {"registration_not_compulsory": frozenset({"XXX"})},
    ],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CompliancePolicy(**kwargs)  # type: ignore[arg-type]
