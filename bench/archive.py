"""Archive and verify throughput of the evidence archive.

    .venv/bin/python bench/archive.py                      # 10,000 PDFs of 50–150 KB, SQLite
    .venv/bin/python bench/archive.py --count 1000 --database-url postgresql://postgres@127.0.0.1/x

Each document is encrypted (fresh AES-256-GCM key, wrapped), written atomically with fsync,
its row and journal entry flushed; a unit of work commits every `--batch` documents (one per
job in production is `--batch 1`). Then `verify_archive` decrypts and re-hashes everything and
walks the journal. PDF bodies are random bytes: real PDFs are compressed, hence incompressible.
"""

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.buyers.models import Buyer
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.documents.archive import Archive, archive_document
from app.documents.crypto import Keyring, new_master_key
from app.documents.storage import LocalStorage
from app.documents.verify import verify_archive
from app.migrate import upgrade
from app.suppliers.models import Supplier


def fake_pdf(rng: random.Random, low: int, high: int) -> bytes:
    size = rng.randint(low, high)
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    return head + os.urandom(size - len(head) - 6) + b"\n%%EOF"


async def run(args: argparse.Namespace, workdir: Path) -> None:
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    archive = Archive(LocalStorage(workdir / "archive"), Keyring([new_master_key("bench")]))
    rng = random.Random(42)
    async with unit_of_work(sm) as session:
        buyer = Buyer(siret=f"{rng.randrange(10**14):014d}", name="Bench")
        suppliers = [Supplier(name=f"S{i}") for i in range(200)]
        session.add_all([buyer, *suppliers])

    total_bytes, started = 0, time.perf_counter()
    for first in range(0, args.count, args.batch):
        async with unit_of_work(sm) as session:
            for _ in range(min(args.batch, args.count - first)):
                content = fake_pdf(rng, args.min_kb * 1024, args.max_kb * 1024)
                total_bytes += len(content)
                await archive_document(
                    session,
                    archive,
                    content=content,
                    media_type="application/pdf",
                    doc_type="attestation_urssaf",
                    supplier_id=rng.choice(suppliers).id,
                    buyer_id=buyer.id,
                    source_endpoint="/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
                    request_id=f"bench-{first}",
                    uploaded_by=None,
                    obtained_at=datetime.now(UTC),
                    valid_from=date(2026, 11, 1),
                    valid_until=date(2027, 4, 30),
                    security_code="ABCDEFGHIJKLMNO",
                )
    archive_s = time.perf_counter() - started

    async with unit_of_work(sm) as session:
        report = await verify_archive(session, archive)
    await engine.dispose()
    assert report.ok, report.problems[:5]

    mb = total_bytes / 1e6
    backend = url.split(":", 1)[0]
    print(
        f"documents: {args.count}, {mb:.0f} MB ({args.min_kb}-{args.max_kb} KB), "
        f"database: {backend}, commit every {args.batch}, cores: {os.cpu_count()}"
    )
    print(
        f"archive: {archive_s:7.1f} s  {args.count / archive_s:8.1f} documents/s  "
        f"{mb / archive_s:7.1f} MB/s"
    )
    print(
        f"verify:  {report.seconds:7.1f} s  {report.documents / report.seconds:8.1f} documents/s  "
        f"{report.bytes / 1e6 / report.seconds:7.1f} MB/s  "
        f"(journal entries walked: {report.journal_entries})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--min-kb", type=int, default=50)
    parser.add_argument("--max-kb", type=int, default=150)
    parser.add_argument("--batch", type=int, default=50, help="documents per commit")
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    try:
        asyncio.run(run(args, workdir))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
