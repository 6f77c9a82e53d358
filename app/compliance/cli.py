"""`vigie sweep` and `vigie check`: the engine in the foreground, built by the same runtime."""

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic_core import PydanticCustomError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlmodel import col, select

from app.common import utcnow
from app.compliance import service
from app.compliance.models import RequirementState
from app.compliance.planner import claim_due, sync_pairs
from app.config import get_settings
from app.contracts.parsing import parse_siren, parse_siret
from app.runtime import Runtime, build_runtime

console = Console(soft_wrap=True)
err = Console(stderr=True)


async def sweep(rt: Runtime, *, on_progress: Any = None, batch: int = 500) -> dict[str, Any]:
    """Everything due now, in this process: plan, claim by batches, run, until nothing is due."""
    runner = rt.runner
    assert runner is not None, "sweep runs in process"
    runner.start(tick=False)
    lease = timedelta(seconds=rt.settings.jobs.lease_seconds)
    started = time.perf_counter()
    async with service.write_unit(rt) as session:
        await sync_pairs(session, None, policy=rt.policy)
        total = await _due_pairs(session)
    if on_progress:
        on_progress(0, total)
    claimed = 0
    while True:
        # Keep the runner fed: a job waiting out a short upstream retry (Retry(defer)) stays
        # pending for minutes and must not hold back the rest of the sweep.
        if runner.pending < batch:
            async with service.write_unit(rt) as session:
                claims = await claim_due(
                    session, now=utcnow(), limit=batch - runner.pending, lease=lease
                )
            if claims:
                claimed += len(claims)
                await service.enqueue_claims(rt, claims, spread=False)
            elif runner.pending == runner.deferred:
                # Only jobs waiting for the source remain: their rows stay claimed with a lease,
                # so the next tick (or sweep) runs them once their retry time has come.
                break
        await asyncio.sleep(0.2)
        if on_progress:
            on_progress(claimed - runner.pending, max(total, claimed))
    if on_progress:
        on_progress(claimed, max(total, claimed))
    return {
        "suppliers": claimed,
        "deferred": runner.deferred,
        "seconds": time.perf_counter() - started,
    }


async def _due_pairs(session: Any) -> int:
    from sqlalchemy import func

    query = select(func.count(func.distinct(RequirementState.supplier_id))).where(
        col(RequirementState.active),
        col(RequirementState.run_state) == "idle",
        col(RequirementState.next_due_at) <= utcnow(),
    )
    return int((await session.exec(query)).one())


async def status_counts(rt: Runtime) -> Counter[tuple[str, str]]:
    async with rt.sessionmaker() as session:
        query = select(RequirementState.requirement, RequirementState.status).where(
            col(RequirementState.active)
        )
        return Counter((r, s or "missing") for r, s in (await session.exec(query)).all())


def sweep_command() -> None:
    """Run every check due now, in the foreground (progress bar, then a summary table)."""

    async def main() -> tuple[dict[str, Any], Counter[tuple[str, str]]]:
        rt = await build_runtime(get_settings(), in_process=True, with_tick=False)
        try:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("Checks", total=None)
                report = await sweep(
                    rt,
                    on_progress=lambda done, total: progress.update(
                        task, completed=done, total=total
                    ),
                )
            return report, await status_counts(rt)
        finally:
            await rt.aclose()

    report, counts = asyncio.run(main())
    if report["deferred"]:
        console.print(
            f"{report['deferred']} check(s) wait for the source to be tried again; "
            "the next tick or sweep runs them once their retry time has come."
        )
    table = Table(title=f"{report['suppliers']} supplier(s) checked in {report['seconds']:.1f} s")
    table.add_column("Requirement")
    table.add_column("Status")
    table.add_column("Count", justify="right")
    for (requirement, status), n in sorted(counts.items()):
        table.add_row(requirement, status, str(n))
    console.print(table)


def check_command(
    siren: Annotated[str, typer.Argument(help="SIREN of the supplier")],
    buyer: Annotated[str, typer.Option(help="SIRET of the buyer")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run every check of one supplier for one buyer now, and print each requirement's outcome."""

    async def main() -> list[dict[str, Any]]:
        from app.buyers.models import Buyer
        from app.suppliers.models import Supplier

        rt = await build_runtime(get_settings(), in_process=True, with_tick=False)
        try:
            async with service.write_unit(rt) as session:
                b = (await session.exec(select(Buyer).where(Buyer.siret == buyer))).first()
                s = (await session.exec(select(Supplier).where(Supplier.siren == siren))).first()
                tracked = (
                    b is not None
                    and s is not None
                    and await service.holds_contract(session, b.id, s.id)
                )
            if not tracked:
                # Not under this buyer's contracts (or the buyer is not registered): a live
                # diagnosis, nothing stored — handy to try a token or a SIREN.
                return [asdict(d) for d in await service.diagnose_supplier(rt, siren, buyer)]
            assert b is not None and s is not None
            async with service.write_unit(rt) as session:
                job_id, _ = await service.request_recheck(session, rt, b.id, s.id)
            if job_id is None:
                return []
            run = await _run_now(rt, b.id, s.id)
            async with rt.sessionmaker() as session:
                query = select(RequirementState).where(
                    RequirementState.buyer_id == b.id, RequirementState.supplier_id == s.id
                )
                rows = (await session.exec(query.order_by(col(RequirementState.requirement)))).all()
            return [
                {
                    "type": r.requirement,
                    "status": r.status,
                    "outcome": run.get(r.requirement),
                    "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                    "document_id": str(r.document_id) if r.document_id else None,
                    "reasons": [x["message"] for x in r.reasons],
                }
                for r in rows
                if r.active
            ]
        finally:
            await rt.aclose()

    try:
        siren = parse_siren(siren) or ""
        buyer = parse_siret(buyer) or ""
    except PydanticCustomError as exc:
        err.print(f"[red]Error[/red]: {exc.message()}")
        raise typer.Exit(2) from None
    try:
        requirements = asyncio.run(main())
    except typer.BadParameter as exc:
        err.print(f"[red]Error[/red]: {exc}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps({"siren": siren, "buyer": buyer, "requirements": requirements}))
        return
    table = Table(title=f"SIREN {siren} for buyer {buyer}")
    for column in ("Requirement", "Outcome", "Status", "Valid until", "Reasons"):
        table.add_column(column)
    for r in requirements:
        table.add_row(
            r["type"],
            r["outcome"] or "",
            r["status"] or "",
            r["valid_until"] or "",
            " ; ".join(r["reasons"]),
        )
    console.print(table)


async def _run_now(rt: Runtime, buyer_id: uuid.UUID, supplier_id: uuid.UUID) -> dict[str, str]:
    """The check job itself, retried in place while the source asks for a short wait."""
    from arq.worker import Retry

    for job_try in range(1, rt.settings.jobs.max_tries + 1):
        try:
            run = await service.run_supplier_check(rt, buyer_id, supplier_id, job_try=job_try)
            return run.results if run else {}
        except Retry as retry:
            await asyncio.sleep(min(60.0, (retry.defer_score or 0) / 1000))
    return {}
