"""`vigie keys …` as operators run it: a process of its own on a migrated database (SQLite, or
PostgreSQL when DATABASE_URL says so). In-process CliRunner tests import every model through the
test suite; a fresh process imports only what the command needs, and `keys revoke` crashed there
(`NoReferencedTableError: … 'buyers'`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import migrated_database
from tests.factories import prefix_of, random_siret

ROOT = Path(__file__).parent.parent


@pytest.fixture
def cli_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    with migrated_database(tmp_path) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": "",
            "ENVIRONMENT": "test",
            "DEMO": "false",
            "ARCHIVE__DIR": str(tmp_path / "archive"),
            "ARCHIVE__KEY_FILE": str(tmp_path / "archive-keys.json"),
        }
        yield env


def vigie(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "vigie"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_revoke_in_a_process_of_its_own(cli_db):  # type: ignore[no-untyped-def]
    siret = random_siret()
    assert vigie(cli_db, "buyers", "create", "--siret", siret, "--name", "Commune").returncode == 0
    created = vigie(cli_db, "keys", "create", "--role", "officer", "--buyer", siret)
    assert created.returncode == 0, created.stderr
    prefix = prefix_of(created.stdout.strip().splitlines()[-1])
    revoked = vigie(cli_db, "keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert f"Key {prefix} revoked." in revoked.stdout
    assert "Traceback" not in revoked.stderr
    again = vigie(cli_db, "keys", "revoke", prefix)  # idempotent
    assert again.returncode == 0, again.stderr


def test_run_db_knows_every_table_whatever_the_command_imported(cli_db):  # type: ignore[no-untyped-def]
    """The narrowest command: only the keys service is imported before the unit of work."""
    siret = random_siret()
    assert vigie(cli_db, "buyers", "create", "--siret", siret, "--name", "Commune").returncode == 0
    created = vigie(cli_db, "keys", "create", "--role", "erp", "--buyer", siret)
    prefix = prefix_of(created.stdout.strip().splitlines()[-1])
    code = (
        "import sys\n"
        "from app.cli_common import run_db\n"
        "from app.keys.service import revoke_key\n"
        "record = run_db(lambda session: revoke_key(session, sys.argv[1]))\n"
        "print(record.revoked_at is not None)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code, prefix],
        env=cli_db,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "True"
