"""`vigie import FILE`: a DECP or CSV file imported in the foreground, with a progress bar.

Exit 0 once the file was processed, whatever was skipped (the report says why, record by record);
1 only when the file cannot be read or recognised. `--json` prints the report as one JSON object
on the last line of standard output (the progress bar goes to standard error).
"""

import asyncio
import json
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli_common import console, err, siret_option
from app.compliance.evaluation import policy_from
from app.config import get_settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.imports.ingest import Report, Scope, UnreadableFile, import_records, read_records
from app.imports.models import ImportFormat
from app.jobs import ArqJobQueue, JobQueue


class PlannedByTheServer:
    """Embedded mode has no queue outside `vigie serve`: the contracts' checks are planned by its
    planning pass (at start, then every hour), which reads every live contract from the database."""

    def __init__(self) -> None:
        self.dropped = 0

    async def enqueue(self, function: str, *args: Any, **_: Any) -> bool:
        self.dropped += 1
        return False

    async def ready(self) -> bool:
        return True

    async def in_flight(self, job_ids: Collection[str]) -> set[str]:
        return set()

    async def aclose(self) -> None:
        return None


async def _run(
    path: Path, size: int, fmt: ImportFormat | None, scope: Scope, *, dry_run: bool
) -> tuple[Report, int]:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    jobs: JobQueue
    if settings.redis_url:
        jobs = await ArqJobQueue.connect(settings.redis_url, settings.jobs.queue_name)
    else:
        jobs = PlannedByTheServer()
    try:
        sessionmaker = make_sessionmaker(engine)
        with (
            path.open("rb") as stream,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as progress,
        ):
            task = progress.add_task("Import", total=size)

            def advance(records: int) -> None:
                progress.update(
                    task,
                    completed=size if stream.closed else stream.tell(),
                    description=f"{records} record(s)",
                )

            report = await import_records(
                lambda: unit_of_work(sessionmaker, jobs),
                read_records(stream, fmt),
                scope,
                threshold=settings.vigilance_threshold_ht,
                policy=policy_from(settings),
                dry_run=dry_run,
                on_progress=advance,
            )
            progress.update(task, completed=size)
        return report, getattr(jobs, "dropped", 0)
    finally:
        await jobs.aclose()
        await engine.dispose()


def import_command(
    file: Annotated[Path, typer.Argument(help="DECP JSON (2019 or 2024 format) or `;` CSV")],
    format: Annotated[
        ImportFormat | None, typer.Option("--format", help="decp or csv (default: detected)")
    ] = None,
    buyer: Annotated[
        str | None,
        typer.Option(
            help="SIRET of the buyer: only its records (CSV: the buyer of every line)",
            parser=siret_option,
        ),
    ] = None,
    create_buyers: Annotated[
        bool, typer.Option("--create-buyers", help="Create the buyers Vigie does not know")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, write nothing")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as one JSON object on the last line")
    ] = False,
) -> None:
    """Import contracts from DECP open data or an ERP's CSV (created, updated or skipped, each
    with its reason)."""
    scope = Scope(only_buyer_siret=buyer, default_buyer_siret=buyer, create_buyers=create_buyers)
    try:
        with file.open("rb") as probe:
            probe.read(1)
    except OSError as exc:
        err.print(f"[red]Error[/red]: cannot read {file}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    try:
        report, planned_later = asyncio.run(
            _run(file, file.stat().st_size, format, scope, dry_run=dry_run)
        )
    except UnreadableFile as exc:
        err.print(f"[red]Error ({exc.code})[/red]: {exc.detail}")
        if as_json and exc.report is not None:
            print(json.dumps(exc.report.as_dict(), ensure_ascii=False))
        raise typer.Exit(1) from None
    summary = report.as_dict()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    table = Table(title=f"{summary['records']} record(s){' (dry run)' if dry_run else ''}")
    table.add_column("Outcome")
    table.add_column("Count", justify="right")
    for outcome in ("created", "updated", "unchanged"):
        table.add_row(outcome, str(summary[outcome]))
    for code, n in summary["skipped"].items():
        table.add_row(f"skipped: {code}", str(n))
    console.print(table)
    if planned_later and not dry_run:
        console.print(
            "Checks of the new or amended contracts are planned by `vigie serve` "
            "(at start, then every hour)."
        )
