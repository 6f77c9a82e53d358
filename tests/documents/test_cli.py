"""`vigie archive …` end to end on a migrated SQLite file and a temp archive directory."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config import get_settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.documents.archive import Archive
from app.documents.models import Document
from app.migrate import upgrade
from tests.documents.conftest import Parties, fake_pdf, put_document

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ARCHIVE__DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("ARCHIVE__KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.delenv("ARCHIVE__MASTER_KEYS", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def seed(n: int, obtained_at: datetime | None = None) -> list[Document]:
    async def main() -> list[Document]:
        from app.buyers.models import Buyer
        from app.suppliers.models import Supplier

        settings = get_settings()
        archive = Archive.from_settings(settings)
        engine = make_engine(settings.database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                buyer, supplier = Buyer(siret="21750001600019", name="Paris"), Supplier()
                session.add_all([buyer, supplier])
                await session.flush()
                parties = Parties(buyer.id, supplier.id, "")
                return [
                    await put_document(
                        session, archive, parties, fake_pdf(i), obtained_at=obtained_at
                    )
                    for i in range(n)
                ]
        finally:
            await engine.dispose()

    return asyncio.run(main())


def vigie(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["archive", *args])


def test_head_verify_rotate_and_tamper(env: Path) -> None:
    docs = seed(3)
    head = vigie("head")
    assert head.exit_code == 0, head.output
    anchor = json.loads(head.stdout)["anchor"]
    assert anchor.startswith("3:")
    assert (env / "keys.json").stat().st_mode & 0o777 == 0o600

    ok = vigie("verify", "--anchor", anchor)
    assert ok.exit_code == 0, ok.output
    assert "Archive intact" in ok.stdout

    rotated = vigie("rotate-key")
    assert rotated.exit_code == 0, rotated.output
    keys = json.loads((env / "keys.json").read_text())["keys"]
    assert len(keys) == 2
    after = vigie("verify", "--anchor", anchor, "--json")
    assert after.exit_code == 0 and json.loads(after.stdout)["journal_entries"] == 4

    blob = next((env / "archive").rglob(f"{docs[0].id}.blob"))
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    bad = vigie("verify")
    assert bad.exit_code == 1
    assert f"blob_tampered document:{docs[0].id}" in bad.output

    assert vigie("verify", "--anchor", "nonsense").exit_code != 0


def test_purge_dry_run_then_purge(env: Path) -> None:
    docs = seed(2, obtained_at=datetime(2015, 1, 5, tzinfo=UTC))
    dry = vigie("purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert all(str(d.id) in dry.stdout for d in docs)
    assert len(list((env / "archive").rglob("*.blob"))) == 2

    done = vigie("purge")
    assert done.exit_code == 0, done.output
    assert list((env / "archive").rglob("*.blob")) == []
    report = json.loads(vigie("verify", "--json").stdout)
    assert report["ok"] and report["documents"] == 0 and report["journal_entries"] == 4


def test_reconcile_reports_orphans(env: Path) -> None:
    seed(1)
    assert vigie("reconcile").exit_code == 0
    (env / "archive" / "zz").mkdir()
    (env / "archive" / "zz" / "lost.blob").write_bytes(b"x")
    result = vigie("reconcile")
    assert result.exit_code == 1 and "zz/lost.blob" in result.stdout
