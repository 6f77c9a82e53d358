"""The README is a newcomer's page: it must stay true to the code."""

import re
from pathlib import Path

from app.integrations.sandbox.profiles import DEMO_SIRENS
from tests.test_compose import _settings_field

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_come_first():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_every_configuration_variable_is_a_setting():
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^\| `([A-Z_]+)`", section, flags=re.M)
    assert len(names) >= 15
    unknown = [n for n in names if not _settings_field(n)]
    assert not unknown, f"README documents variables Settings does not have: {unknown}"


def test_the_sandbox_table_lists_every_profile():
    for profile, siren in DEMO_SIRENS.items():
        assert re.search(rf"\| `{profile}` \| `{siren}` \|", README), profile


def test_the_layout_names_every_module_of_the_app():
    """STYLE.md's layout stays true: a new top-level module or package, or a new file of the
    compliance package, is named in the README's layout block."""
    root = Path(__file__).resolve().parents[1] / "app"
    layout = README.split("## Layout", 1)[1].split("```")[1]
    names = [p.name for p in root.iterdir() if p.suffix == ".py" and p.name != "__init__.py"]
    names += [f"{p.name}/" for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    names += [p.name for p in (root / "compliance").glob("*.py") if p.name != "__init__.py"]
    missing = [n for n in names if n not in layout]
    assert not missing, f"README layout misses: {missing}"


def test_the_scenario_table_lists_every_pinned_scenario():
    from app.integrations.sandbox.profiles import SCENARIO_SIRENS

    for scenario, siren in SCENARIO_SIRENS.items():
        assert re.search(rf"\| `{scenario}` \| `{siren}` \|", README), scenario


def test_what_vigie_shows_matches_the_end_to_end_expectations():
    """The last column of the two tables is the overall status the engine's end-to-end test
    checks for each profile and scenario (tests/compliance/test_service_flow.py)."""
    from app.integrations.sandbox.profiles import SCENARIO_SIRENS
    from tests.compliance.test_service_flow import EXPECTED, SCENARIOS

    for name, (overall, _) in {**EXPECTED, **SCENARIOS}.items():
        siren = DEMO_SIRENS.get(name) or SCENARIO_SIRENS[name]
        row = re.search(rf"^\| `{name}` \| `{siren}` \|.*\| ([a-z_]+)[^|]*\|$", README, re.M)
        assert row and row.group(1) == overall, (name, row.group(0) if row else None)
