"""`vigie import` on a database of the test's own (PostgreSQL when DATABASE_URL says so): exit
codes, the JSON report on the last line, the example file of the README, dry runs."""

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import get_settings
from app.imports.csvfile import COLUMNS
from tests.imports.conftest import SAMPLE_2019, SAMPLE_2024, accounted

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "import-example.csv"
runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, tmp_path: Path, fresh_database_url: str) -> str:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATABASE_URL": fresh_database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "JOBS__QUEUE_NAME": f"vigie:test:{uuid.uuid4().hex[:8]}",
        "ENVIRONMENT": "test",
        "DEMO": "false",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield fresh_database_url
    get_settings.cache_clear()


def vigie_import(*args: str) -> tuple[int, dict[str, Any] | None]:
    result = runner.invoke(cli, ["import", *map(str, args)])
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if "--json" in args and lines else None
    return result.exit_code, report


def test_decp_samples_import_then_change_nothing(cli_env):
    code, report = vigie_import(SAMPLE_2024, "--create-buyers", "--json")
    assert code == 0 and report is not None
    assert accounted_dict(report, 3)["created"] == 3
    code, report = vigie_import(SAMPLE_2024, "--create-buyers", "--json")
    assert code == 0 and report and report["unchanged"] == 3
    code, dry = vigie_import(SAMPLE_2019, "--create-buyers", "--dry-run", "--json")
    assert code == 0 and dry and dry["created"] > 0
    code, real = vigie_import(SAMPLE_2019, "--create-buyers", "--json")
    assert code == 0 and real == dry  # the dry run reported the same and wrote nothing
    # Without --create-buyers, the unknown buyers of the sample are reported, not created.
    code, report = vigie_import(SAMPLE_2019, "--json")
    assert code == 0 and report and report["created"] == 0
    assert report["unchanged"] == real["created"]


def test_the_readme_example_imports_with_its_buyer(cli_env):
    code, report = vigie_import(EXAMPLE, "--buyer", "21750001600019", "--json")
    assert code == 0 and report and report["skipped"] == {"unknown_buyer": 3}
    code, report = vigie_import(
        EXAMPLE, "--buyer", "21750001600019", "--create-buyers", "--json", "--format", "csv"
    )
    assert code == 0 and report and (report["created"], report["records"]) == (3, 3)
    result = runner.invoke(cli, ["import", str(EXAMPLE), "--buyer", "21750001600019"])
    assert result.exit_code == 0 and "unchanged" in result.stdout


def test_unreadable_files_exit_1(cli_env, tmp_path: Path):
    assert vigie_import(tmp_path / "missing.json", "--json")[0] == 1
    xml = tmp_path / "decp.xml"
    xml.write_text("<html><body/></html>")
    assert vigie_import(xml)[0] == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"marches": [{"id": ')
    code, report = vigie_import(broken, "--json")
    assert code == 1 and report == {
        "records": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": {},
        "lines": [],
    }
    assert runner.invoke(cli, ["import", str(EXAMPLE), "--buyer", "123"]).exit_code == 2


def test_the_readme_documents_every_csv_column():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Importing contracts", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    assert documented == list(COLUMNS)
    header = EXAMPLE.read_text(encoding="utf-8").splitlines()[0].split(";")
    assert set(header) <= set(COLUMNS)


def accounted_dict(report: dict[str, Any], records: int) -> dict[str, Any]:
    class _Report:
        def as_dict(self) -> dict[str, Any]:
            return report

    return accounted(_Report(), records)  # type: ignore[arg-type]
