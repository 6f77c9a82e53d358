"""`vigie …` against a temporary SQLite database: migrate, buyers, keys (the key works on the API)."""

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import Settings, get_settings
from app.main import create_app
from tests.factories import prefix_of, random_siret

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, tmp_path: Path) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.chdir(tmp_path)  # no `.env`, and ./var stays in the temp dir
    for name, value in {
        "DATABASE_URL": f"sqlite:///{db}",
        "REDIS_URL": "",
        "ENVIRONMENT": "test",
        "DEMO": "false",
        "ARCHIVE__DIR": str(tmp_path / "archive"),
        "ARCHIVE__KEY_FILE": str(tmp_path / "archive-keys.json"),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(args))


def call_api(key: str, path: str) -> httpx.Response:
    """GET `path` on a fresh app built from the same environment as the CLI."""

    async def main() -> httpx.Response:
        app = create_app(Settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://vigie") as client:
                return await client.get(path, headers={"Authorization": f"Bearer {key}"})

    return asyncio.run(main())


def test_migrate_buyer_key_revoke(cli_env):
    assert not cli_env.exists()
    result = invoke("migrate")
    assert result.exit_code == 0, result.output
    assert cli_env.exists()

    siret = random_siret()
    result = invoke("buyers", "create", "--siret", siret, "--name", "Commune de Clichy-Test")
    assert result.exit_code == 0, result.output
    assert siret in result.output

    result = invoke("keys", "create", "--role", "officer", "--buyer", siret)
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("vg_") and " " not in key  # alone on the last line
    prefix = prefix_of(key)

    assert call_api(key, "/v1/contracts").status_code == 200
    result = invoke("keys", "revoke", prefix)
    assert result.exit_code == 0, result.output
    assert prefix in result.output
    refused = call_api(key, "/v1/contracts")
    assert refused.status_code == 401
    assert refused.json()["code"] == "revoked_api_key"


def test_admin_and_contractor_keys(cli_env):
    assert invoke("migrate").exit_code == 0
    admin = invoke("keys", "create", "--role", "admin")
    assert admin.exit_code == 0, admin.output
    contractor = invoke("keys", "create", "--role", "contractor", "--supplier", random_siret()[:9])
    assert contractor.exit_code == 0, contractor.output
    admin_key = admin.output.strip().splitlines()[-1]
    listed = call_api(admin_key, "/v1/keys")
    assert listed.status_code == 200
    assert sorted(k["role"] for k in listed.json()) == ["admin", "contractor"]


def test_errors_are_reported_not_raised(cli_env):
    assert invoke("migrate").exit_code == 0
    unknown = invoke("keys", "create", "--role", "officer", "--buyer", random_siret())
    assert unknown.exit_code == 1
    assert "buyer_not_found" in unknown.output
    assert invoke("keys", "revoke", "vg_00000000").exit_code == 1
    assert invoke("keys", "create", "--role", "superuser").exit_code != 0


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("buyers", "create", "--siret", "12345678901234", "--name", "X"), "--siret"),  # Luhn
        (("buyers", "create", "--siret", "５5210055400013", "--name", "X"), "--siret"),
        (("keys", "create", "--role", "officer", "--buyer", "5521005540001"), "--buyer"),
        (("keys", "create", "--role", "contractor", "--supplier", "55210055"), "--supplier"),
    ],
)
def test_bad_identifier_is_a_usage_error(cli_env, args, option):
    """Exit code 2 (usage), as for any bad option, with the option named in English."""
    assert invoke("migrate").exit_code == 0
    bad = invoke(*args)
    assert bad.exit_code == 2, bad.output
    assert f"Invalid value for '{option}'" in bad.output
    assert "is not a SIRE" in bad.output
    assert "Traceback" not in bad.output


def test_spaced_siret_is_normalised(cli_env):
    assert invoke("migrate").exit_code == 0
    siret = random_siret()
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    created = invoke("buyers", "create", "--siret", spaced, "--name", "Commune")
    assert created.exit_code == 0, created.output
    assert f"Buyer created: {siret} " in created.output
    key = invoke("keys", "create", "--role", "officer", "--buyer", siret)  # found without spaces
    assert key.exit_code == 0, key.output


def test_migrate_twice_is_harmless(cli_env):
    assert invoke("migrate").exit_code == 0
    second = invoke("migrate")
    assert second.exit_code == 0, second.output
