from collections import Counter
from pathlib import Path

from app.integrations.sandbox.identifiers import (
    STAGING_SIREN_MAP,
    STAGING_SIRET_MAP,
    head_office_siret,
    is_valid_siren,
    is_valid_siret,
)
from app.integrations.sandbox.profiles import (
    DEMO_SIRENS,
    PROFILES,
    PROFILES_TABLE,
    SCENARIO_SIRENS,
    SCENARIOS,
    SCENARIOS_TABLE,
    hashed_profile,
    profile_for,
)
from app.integrations.sandbox.staging import staging_cases

README = Path(__file__).parents[3] / "app" / "integrations" / "sandbox" / "README.md"


def test_every_demo_siren_is_luhn_valid_and_gets_its_profile() -> None:
    assert set(DEMO_SIRENS) == set(PROFILES)
    for profile, siren in DEMO_SIRENS.items():
        assert is_valid_siren(siren), siren
        assert profile_for(siren) == profile
        assert hashed_profile(siren) == profile  # also true without the pin


def test_profiles_are_deterministic_and_mostly_compliant() -> None:
    sirens = [str(n) for n in range(300_000_000, 300_020_000) if is_valid_siren(str(n))]
    first = [profile_for(s) for s in sirens]
    assert first == [profile_for(s) for s in sirens]
    counts = Counter(first)
    assert counts["compliant"] / len(sirens) > 0.6
    assert set(counts) == set(PROFILES)


def test_staging_identifiers_are_all_luhn_valid_after_mapping() -> None:
    cases = staging_cases()
    assert len(cases) >= 40
    for _, identifier in cases:
        valid = is_valid_siren(identifier) if len(identifier) == 9 else is_valid_siret(identifier)
        assert valid, identifier
    served = {identifier for _, identifier in cases}
    assert not served & (set(STAGING_SIREN_MAP) | set(STAGING_SIRET_MAP))
    assert ("urssaf_attestation_vigilance", "000000018") in cases


def test_staging_profiles_follow_their_official_payloads() -> None:
    assert profile_for("000000026") == "urssaf_refused"
    assert profile_for("440752244") == "out_of_perimeter"
    assert profile_for("350051447") == "ceased"
    assert profile_for("552049447") == "compliant"


def test_head_office_siret_is_valid() -> None:
    for siren in DEMO_SIRENS.values():
        assert is_valid_siret(head_office_siret(siren))


def test_readme_shows_the_profiles_table() -> None:
    text = README.read_text(encoding="utf-8")
    for profile, siren, what in PROFILES_TABLE:
        assert f"| `{profile}` | `{siren}` | {what} |" in text


def test_scenarios_are_pinned_and_never_drawn_by_the_hash() -> None:
    assert not set(SCENARIOS) & set(PROFILES)
    pinned = set(SCENARIO_SIRENS.values())
    assert not pinned & set(DEMO_SIRENS.values())
    assert not {s for s in pinned if s in {i[:9] for _, i in staging_cases()}}
    for scenario, siren in SCENARIO_SIRENS.items():
        assert is_valid_siren(siren) and is_valid_siret(head_office_siret(siren))
        assert profile_for(siren) == scenario
    sirens = [str(n) for n in range(300_000_000, 300_020_000) if is_valid_siren(str(n))]
    assert not {profile_for(s) for s in sirens} & set(SCENARIOS)


def test_readme_shows_the_scenarios_table() -> None:
    text = README.read_text(encoding="utf-8")
    for scenario, siren, what in SCENARIOS_TABLE:
        assert f"| `{scenario}` | `{siren}` | {what} |" in text
