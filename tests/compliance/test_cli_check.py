"""`vigie check SIREN --buyer SIRET [--json]` and `vigie sweep`, on a temporary SQLite database."""

import json

from app.integrations.sandbox import DEMO_SIRENS
from tests.test_cli import cli_env, invoke  # noqa: F401 - the fixture is used by name

DEMO_BUYER = "21990000800018"


def _requirements(result) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    return {r["type"]: r for r in body["requirements"]}


def test_check_a_tracked_supplier_records_its_status(cli_env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DEMO", "true")
    assert invoke("migrate").exit_code == 0
    assert invoke("demo").exit_code == 0
    got = _requirements(
        invoke("check", DEMO_SIRENS["urssaf_refused"], "--buyer", DEMO_BUYER, "--json")
    )
    assert got["urssaf_vigilance"]["status"] == "refused"
    assert got["registration"]["status"] == "valid" and got["registration"]["document_id"]
    # The sweep then finds that pair already served; the others run.
    sweep = invoke("sweep")
    assert sweep.exit_code == 0, sweep.output
    assert "refused" in sweep.output and "valid" in sweep.output


def test_check_an_untracked_supplier_is_a_live_diagnosis(cli_env):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    got = _requirements(
        invoke("check", DEMO_SIRENS["manual_review"], "--buyer", "21750001600019", "--json")
    )
    assert set(got) == {"registration", "urssaf_vigilance", "dgfip_fiscal"}
    assert got["urssaf_vigilance"]["outcome"] == "pending"
    assert got["urssaf_vigilance"]["status"] == "upstream_pending"
    assert got["dgfip_fiscal"]["status"] == "valid"
    assert "document_id" not in got["registration"]  # nothing archived without a tenant


def test_check_refuses_a_bad_identifier(cli_env):  # noqa: F811
    result = invoke("check", "552100555", "--buyer", "21750001600019")
    assert result.exit_code == 2
    assert "SIREN" in result.output
