"""The schema comes from alembic only: up from empty, no drift against the models, down and up.

Runs on a fresh SQLite file and on a fresh PostgreSQL database (skipped on a bare machine,
failing under CI).
"""

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from app.models import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _inspect(url: str, work: Any) -> Any:
    async def main() -> Any:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _diff(url: str) -> list[Any]:
    def compare(conn: Any) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        return list(compare_metadata(context, metadata))

    return _inspect(url, compare)


def _tables(url: str) -> set[str]:
    return _inspect(url, lambda conn: set(inspect(conn).get_table_names()))


def _heads(url: str) -> set[str]:
    return _inspect(url, lambda conn: set(MigrationContext.configure(conn).get_current_heads()))


def test_upgrade_from_empty_matches_models(empty_database):
    assert _tables(empty_database) == set()
    upgrade(empty_database)
    assert set(metadata.tables) <= _tables(empty_database)
    script = ScriptDirectory.from_config(alembic_config(empty_database))
    applied = {r.revision for r in script.iterate_revisions(tuple(_heads(empty_database)), "base")}
    assert applied == {r.revision for r in script.walk_revisions()}  # every branch, every revision
    diff = _diff(empty_database)
    assert diff == [], "models and migrations disagree (write a migration):\n" + "\n".join(
        map(str, diff)
    )


def test_downgrade_to_base_and_up_again(empty_database):
    upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "base")
    assert _tables(empty_database) <= {"alembic_version"}
    upgrade(empty_database)
    assert _diff(empty_database) == []


def test_upgrade_is_idempotent(empty_database):
    upgrade(empty_database)
    upgrade(empty_database)  # nothing to do, no error
    assert _diff(empty_database) == []


def test_foundation_revision_is_the_root():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    bases = script.get_bases()
    assert bases == ["0001_foundation"]
    for revision in script.walk_revisions():
        name = Path(revision.path).name
        assert re.fullmatch(r"\d{8}_\d{4}_[a-z0-9_]+\.py", name), name  # yyyymmdd_hhmm_slug
