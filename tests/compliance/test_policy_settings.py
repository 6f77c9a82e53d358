"""The rules' policy comes from the settings: the grace, the opt-in CPV table, and the countries
where a foreign holder's registry extract is not asked (D8222-7 2°)."""

from app.compliance.evaluation import policy_from
from app.compliance.rules import HolderKind, RequirementType, required_types
from app.config import Settings


def test_registration_not_compulsory_comes_from_settings() -> None:
    default = policy_from(Settings())
    assert RequirementType.FOREIGN_REGISTRATION in required_types(
        HolderKind.FOREIGN, country="GB", policy=default
    )
    policy = policy_from(Settings(compliance={"registration_not_compulsory": ["gb"]}))
    assert RequirementType.FOREIGN_REGISTRATION not in required_types(
        HolderKind.FOREIGN, country="GB", policy=policy
    )
    assert RequirementType.FOREIGN_REGISTRATION in required_types(
        HolderKind.FOREIGN, country="DE", policy=policy
    )


def test_sector_certificates_are_opt_in_by_cpv() -> None:
    default = policy_from(Settings())
    assert required_types(HolderKind.FRENCH, cpv_code="45210000", policy=default) == [
        RequirementType.REGISTRATION,
        RequirementType.URSSAF_VIGILANCE,
        RequirementType.DGFIP_FISCAL,
    ]
    opted = policy_from(Settings(compliance={"cpv_requirements": {"45": ["cibtp"]}}))
    assert RequirementType.CIBTP in required_types(
        HolderKind.FRENCH, cpv_code="45210000", policy=opted
    )
    assert policy_from(Settings(compliance={"grace_days": 7})).grace_days == 7
