"""Archive and verify throughput of the evidence archive.

    .venv/bin/python bench/archive.py                      # 10,000 PDFs of 50–150 KB, SQLite
    .venv/bin/python bench/archive.py --count 1000 --database-url postgresql://postgres@127.0.0.1/postgres

With a PostgreSQL URL, a fresh database is created on that server and dropped afterwards.

Each document is encrypted (fresh AES-256-GCM key, wrapped), written atomically with fsync,
its row and journal entry flushed; a unit of work archives `--batch` documents with
`archive_documents` (one duplicate check, the blobs written together, one journal batch;
`--one-by-one`: `archive_document` for each, as before). Then `verify_archive` decrypts and
re-hashes everything and walks the journal. PDF bodies are random bytes: real PDFs are
compressed, hence incompressible.

Anchor, in the same run: AES-256-GCM of the same bytes, written to a file and fsynced, one file
per document (no database, no journal, no rename). Goal: archive >= 0.6 x the anchor's MB/s.
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

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.buyers.models import Buyer
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.documents.archive import Archive, ToArchive, archive_document, archive_documents
from app.documents.crypto import Keyring, new_master_key
from app.documents.storage import LocalStorage
from app.documents.verify import verify_archive
from app.migrate import upgrade
from app.suppliers.models import Supplier


def fake_pdf(size: int) -> bytes:
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

    # The same sizes for the anchor and the archive; bodies drawn per batch (flat memory).
    sizes = [rng.randint(args.min_kb * 1024, args.max_kb * 1024) for _ in range(args.count)]
    total_bytes = sum(sizes)
    anchor_s = await asyncio.to_thread(anchor, workdir / "anchor", sizes)

    def item(content: bytes, i: int) -> ToArchive:
        return ToArchive(
            content=content,
            media_type="application/pdf",
            doc_type="attestation_urssaf",
            supplier_id=suppliers[i % len(suppliers)].id,
            buyer_id=buyer.id,
            source_endpoint="/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
            request_id=f"bench-{i}",
            uploaded_by=None,
            obtained_at=datetime.now(UTC),
            valid_from=date(2026, 11, 1),
            valid_until=date(2027, 4, 30),
            security_code="ABCDEFGHIJKLMNO",
        )

    archive_s = 0.0
    for first in range(0, args.count, args.batch):
        chunk = sizes[first : first + args.batch]
        batch = [item(fake_pdf(size), first + i) for i, size in enumerate(chunk)]
        started = time.perf_counter()
        async with unit_of_work(sm) as session:
            if args.one_by_one:
                for one in batch:
                    fields = {name: getattr(one, name) for name in ToArchive.__slots__}
                    await archive_document(session, archive, **fields)
            else:
                await archive_documents(session, archive, batch)
        archive_s += time.perf_counter() - started

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
    print(f"load: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    how = "one by one" if args.one_by_one else f"archive_documents, {args.batch} per batch"
    print(
        f"archive: {archive_s:7.1f} s  {args.count / archive_s:8.1f} documents/s  "
        f"{mb / archive_s:7.1f} MB/s  ({how})"
    )
    print(
        f"anchor:  {anchor_s:7.1f} s  {args.count / anchor_s:8.1f} documents/s  "
        f"{mb / anchor_s:7.1f} MB/s  (AES-GCM + write + fsync of the same bytes)"
    )
    print(f"ratio:   {anchor_s / archive_s:7.2f}   (goal >= 0.6)")
    print(
        f"verify:  {report.seconds:7.1f} s  {report.documents / report.seconds:8.1f} documents/s  "
        f"{report.bytes / 1e6 / report.seconds:7.1f} MB/s  "
        f"(journal entries walked: {report.journal_entries})"
    )


def anchor(directory: Path, sizes: list[int]) -> float:
    """AES-256-GCM (a fresh key per document) + write + fsync, one file per document."""
    directory.mkdir(parents=True)
    spent = 0.0
    for i, size in enumerate(sizes):
        content = fake_pdf(size)
        started = time.perf_counter()
        key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, content, b"bench")
        fd = os.open(directory / f"{i}.blob", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, sealed)
            os.fsync(fd)
        finally:
            os.close(fd)
        spent += time.perf_counter() - started
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--min-kb", type=int, default=50)
    parser.add_argument("--max-kb", type=int, default=150)
    parser.add_argument("--batch", type=int, default=50, help="documents per commit")
    parser.add_argument("--one-by-one", action="store_true", help="archive_document per document")
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    server = args.database_url
    if server and server.startswith("postgres"):  # a database of its own on that server
        from tests.conftest import create_pg_database

        args.database_url = create_pg_database(server)
    try:
        asyncio.run(run(args, workdir))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        if server and server.startswith("postgres"):
            from tests.conftest import drop_pg_database

            drop_pg_database(server, args.database_url)


if __name__ == "__main__":
    main()
