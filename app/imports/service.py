"""Imports through the API: the uploaded file stored with its import before the 202, the job
that runs it (`app.imports.ingest`, as the CLI does) and records its report, and the pass that
sends again the jobs a queue lost."""

import hashlib
import io
import logging
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.context import ComplianceContext
from app.errors import AppError, NotFound
from app.imports.ingest import Scope, UnreadableFile, detect_format, import_records, read_records
from app.imports.models import ImportFormat, ImportPublic, ImportReport, ImportRun, ImportState
from app.jobs import enqueue_after_commit

log = logging.getLogger("vigie.imports")

MAX_IMPORT_BYTES = 64 * 1024 * 1024
IMPORT_JOB = "run_import"
LEASE = timedelta(hours=1)  # a running import older than this was lost with its worker
RESUME_AFTER = timedelta(minutes=2)  # a queued import older than this may have lost its job


class FileTooLarge(AppError):
    status_code = 413
    code = "file_too_large"
    title = "Fichier trop volumineux"


# --- the API's imports: stored before the 202, run by a job -------------------------------------


async def create_import(
    session: AsyncSession,
    *,
    content: bytes,
    filename: str,
    fmt: ImportFormat | None,
    buyer_id: uuid.UUID | None,
    by_key_prefix: str | None,
    dry_run: bool,
    threshold: Decimal,
) -> ImportRun:
    """Store the uploaded file with its import (the job finds it there, whatever process runs
    it) and send the job after the commit. An admin's import (no buyer) creates unknown buyers."""
    fmt = fmt or detect_format(content[:4096])
    if fmt is None:
        raise UnreadableFile(
            "Format non reconnu : attendu des DECP en JSON ou XML (formats 2019 ou 2024) ou un CSV "
            "séparé par « ; » avec une ligne d'en-tête (voir docs/import-example.csv)."
        )
    run = ImportRun(
        buyer_id=buyer_id,
        by_key_prefix=by_key_prefix,
        filename=(filename or "import")[:255],
        format=fmt,
        dry_run=dry_run,
        create_buyers=buyer_id is None,
        threshold_ht=f"{threshold:.2f}",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    session.add(run)
    await session.flush()
    enqueue_after_commit(session, IMPORT_JOB, str(run.id), job_id=f"import:{run.id}")
    return run


async def get_import(
    session: AsyncSession, import_id: uuid.UUID, *, buyer_id: uuid.UUID | None
) -> ImportPublic:
    """An import as its importer sees it: a buyer's key its buyer's, an admin key the admins'."""
    run = await session.get(ImportRun, import_id)
    if run is None or run.buyer_id != buyer_id:  # another tenant's: 404, never 403
        raise NotFound("Aucun import avec cet identifiant.", code="import_not_found")
    return to_public(run)


def to_public(run: ImportRun) -> ImportPublic:
    return ImportPublic(
        **run.model_dump(exclude={"content", "report", "buyer_id", "by_key_prefix"}),
        report=ImportReport.model_validate(run.report) if run.report else None,
    )


async def _claim(session: AsyncSession, import_id: uuid.UUID) -> bool:
    """Queued (or running past its lease, its worker lost) → running: one job runs an import."""
    now = utcnow()
    claim = (
        update(ImportRun)
        .where(
            col(ImportRun.id) == import_id,
            (col(ImportRun.state) == ImportState.QUEUED.value)
            | (
                (col(ImportRun.state) == ImportState.RUNNING.value)
                & (col(ImportRun.started_at) < now - LEASE)
            ),
        )
        .values(state=ImportState.RUNNING.value, started_at=now)
    )
    result = await session.exec(claim)
    return bool(result.rowcount)


async def run_import(ctx: ComplianceContext, import_id: uuid.UUID) -> dict[str, Any] | None:
    """The job: import the stored file, then record the report (the content is dropped)."""
    async with ctx.transaction() as session:
        if not await _claim(session, import_id):
            return None  # already run, or running elsewhere (arq may deliver a job twice)
        run = await session.get(ImportRun, import_id)
        assert run is not None
        scope = Scope(create_buyers=run.create_buyers, by_key_prefix=run.by_key_prefix)
        if run.buyer_id is not None:
            buyer = await session.get(Buyer, run.buyer_id)
            assert buyer is not None
            scope.only_buyer_siret = scope.default_buyer_siret = buyer.siret
        content, fmt = run.content or b"", run.format
        dry_run, threshold = run.dry_run, Decimal(run.threshold_ht)
    state, error, report = ImportState.COMPLETED, None, None
    try:
        report = await import_records(
            ctx.transaction,
            read_records(io.BytesIO(content), fmt),
            scope,
            threshold=threshold,
            policy=ctx.policy,
            dry_run=dry_run,
        )
    except UnreadableFile as exc:
        state, error, report = ImportState.FAILED, exc.detail, exc.report
    except Exception as exc:  # a bug: the import is marked failed, never left running
        log.exception("import %s failed", import_id)
        state, error = ImportState.FAILED, f"Erreur interne ({type(exc).__name__})."
    summary = report.as_dict() if report else None
    async with ctx.transaction() as session:
        run = await session.get(ImportRun, import_id)
        assert run is not None
        run.state, run.error, run.report = state, error, summary
        run.finished_at, run.content = utcnow(), None
        session.add(run)
        await import_completed(session, run)
    return {k: v for k, v in (summary or {}).items() if k != "lines"}


async def resume_imports(ctx: ComplianceContext) -> int:
    """Send again the job of every import still queued (or running past its lease) whose job the
    queue no longer holds (Redis flushed, an embedded process restarted): the file is in the
    database, so an accepted import is never lost. Returns the jobs sent."""
    now = utcnow()
    stale = (
        (col(ImportRun.state) == ImportState.QUEUED.value)
        & (col(ImportRun.created_at) < now - RESUME_AFTER)
    ) | (
        (col(ImportRun.state) == ImportState.RUNNING.value)
        & (col(ImportRun.started_at) < now - LEASE)
    )
    async with ctx.transaction() as session:
        ids = list((await session.exec(select(ImportRun.id).where(stale))).all())
    if not ids:
        return 0
    try:
        held = await ctx.jobs.in_flight({f"import:{i}" for i in ids})
    except Exception as exc:  # the queue cannot tell: try again at the next pass
        log.warning("imports: the queue cannot tell its jobs (%s)", type(exc).__name__)
        return 0
    sent = 0
    for import_id in ids:
        job_id = f"import:{import_id}"
        if job_id not in held:
            sent += await ctx.jobs.enqueue(IMPORT_JOB, str(import_id), job_id=job_id)
    if sent:
        log.warning("imports: %d import(s) had lost their job: sent again", sent)
    return sent


async def import_completed(session: AsyncSession, run: ImportRun) -> None:
    """Hook point, in the unit of work that records the final state and report of an API import.

    # event: import.completed — the events feed appends its event here (buyer, counts, state).
    """
