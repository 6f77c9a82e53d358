"""`vigie archive …`: head, verify, reconcile, rotate-key, purge."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.documents.archive import Archive, rotate_keys
from app.documents.crypto import Keyring, keys_from_file, new_master_key, write_key_file
from app.documents.journal import Head, get_head
from app.documents.retention import delete_blobs, find_expired, purge_documents
from app.documents.storage import LocalStorage
from app.documents.verify import find_orphan_blobs, verify_archive

archive_app = typer.Typer(
    help="Evidence archive: integrity, keys, retention.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[AsyncSession, Archive], Awaitable[T]], settings: Settings) -> T:
    async def main() -> T:
        archive = Archive.from_settings(settings)
        engine = make_engine(settings.database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session, archive)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@archive_app.command("head")
def head() -> None:
    """Print the journal head as JSON, to keep outside Vigie (an anchor for `verify --anchor`)."""

    async def work(session: AsyncSession, _archive: Archive) -> Head:
        return await get_head(session)

    h = _run(work, get_settings())
    print(json.dumps({"seq": h.seq, "hash": h.hash, "anchor": h.as_anchor()}))


@archive_app.command("verify")
def verify(
    anchor: Annotated[
        str | None, typer.Option(help="SEQ:HASH from an earlier `vigie archive head`")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Decrypt and re-hash every blob, match rows/blobs/journal, walk the chain; exit 1 on any
    problem."""
    try:
        parsed = Head.parse(anchor) if anchor else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def work(session: AsyncSession, archive: Archive) -> Any:
        return await verify_archive(session, archive, anchor=parsed)

    report = _run(work, get_settings())
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        out.print(
            f"Documents: {report.documents} ({report.bytes / 1e6:.1f} MB decrypted and "
            f"re-hashed), blobs: {report.blobs}, journal entries: {report.journal_entries}, "
            f"head: {report.head or '-'}, time: {report.seconds:.1f} s"
        )
        for problem in report.problems:
            err.print(f"[red]PROBLEM[/red] {problem}")
        out.print("Archive intact." if report.ok else f"{len(report.problems)} problem(s).")
    raise typer.Exit(0 if report.ok else 1)


@archive_app.command("reconcile")
def reconcile() -> None:
    """List blobs with no document row (a crash between blob write and commit); exit 1 if any."""
    settings = get_settings()

    async def work(session: AsyncSession, archive: Archive) -> list[str]:
        return await find_orphan_blobs(session, archive)

    orphans = _run(work, settings)
    leftovers = LocalStorage(Path(settings.archive.dir)).leftovers()
    for name in orphans:
        out.print(f"blob with no row: {name}")
    for name in leftovers:
        out.print(f"interrupted write (temporary file): {name}")
    out.print(f"{len(orphans)} orphan blob(s), {len(leftovers)} temporary file(s).")
    raise typer.Exit(1 if orphans else 0)


@archive_app.command("rotate-key")
def rotate_key(
    generate: Annotated[
        bool,
        typer.Option(
            help="Add a new master key first (key file only; with ARCHIVE__MASTER_KEYS "
            "put the new key first yourself)"
        ),
    ] = True,
) -> None:
    """Re-wrap every data key under the current master key; documents are not re-encrypted."""
    settings = get_settings()
    archive = Archive.from_settings(settings)
    if generate and keys_from_file(settings):
        keyring = Keyring([new_master_key(), *archive.keyring.keys])
        # The old keys stay in the file: a crash before the commit leaves every document readable.
        write_key_file(Path(settings.archive.key_file), keyring)
        out.print(f"New master key {keyring.current.kid} added to {settings.archive.key_file}.")

    async def work(session: AsyncSession, archive: Archive) -> int:
        return await rotate_keys(session, archive)

    count = _run(work, settings)
    current = Archive.from_settings(settings).keyring.current.kid
    out.print(f"{count} document key(s) re-wrapped under master key {current}.")
    out.print("Run `vigie archive verify` before removing an old key.")


@archive_app.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List only, delete nothing")] = False,
    today: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD")] = None,
) -> None:
    """Delete documents past retention (contract end + ARCHIVE__RETENTION_YEARS); journaled."""
    settings = get_settings()
    day = date.fromisoformat(today) if today else None

    async def work(session: AsyncSession, archive: Archive) -> tuple[int, list[str]]:
        expired = await find_expired(
            session,
            retention_years=settings.archive.retention_years,
            tolerance_days=settings.compliance.tolerance_days,
            today=day,
        )
        for item in expired:
            out.print(
                f"{item.document_id} {item.doc_type} obtained on {item.obtained_at:%Y-%m-%d}, "
                f"kept until {item.kept_until}"
            )
        if dry_run:
            return len(expired), []
        return len(expired), await purge_documents(session, expired)

    count, names = _run(work, settings)
    if dry_run:
        out.print(f"{count} document(s) would be purged (--dry-run: nothing is deleted).")
        return

    async def remove() -> None:
        await delete_blobs(Archive.from_settings(settings), names)

    asyncio.run(remove())  # after the commit: a failure leaves orphan blobs, never lost rows
    out.print(f"{count} document(s) purged and journaled.")
