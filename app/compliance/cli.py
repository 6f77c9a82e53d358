"""`vigie sweep` and `vigie check`: the engine in the foreground, built by the same runtime."""

import asyncio
import json
from collections import Counter
from dataclasses import asdict
from typing import Annotated, Any

import typer
from pydantic_core import PydanticCustomError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlmodel import col, select

from app.buyers.models import Buyer
from app.compliance import checks, queries, scheduling
from app.compliance.models import Check, RequirementState
from app.config import get_settings
from app.identifiers import parse_siren, parse_siret
from app.runtime import Runtime, build_runtime
from app.suppliers.models import Supplier

console = Console(soft_wrap=True)
err = Console(stderr=True)


async def sweep(rt: Runtime, *, on_progress: Any = None, batch: int = 500) -> dict[str, Any]:
    """Everything due now, on this process's in-process runner (see `scheduling.sweep`)."""
    assert rt.runner is not None, "sweep runs in process"
    return await scheduling.sweep(rt.compliance, rt.runner, on_progress=on_progress, batch=batch)


def sweep_command() -> None:
    """Run every check due now, in the foreground (progress bar, then a summary table)."""

    async def main() -> tuple[dict[str, Any], Counter[tuple[str, str]]]:
        rt = await build_runtime(get_settings(), in_process=True, periodic=False)
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
            async with rt.sessionmaker() as session:
                return report, await queries.status_counts(session)
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


async def _check(rt: Runtime, siren: str, buyer_siret: str) -> list[dict[str, Any]]:
    """The real check job when the supplier holds one of the buyer's contracts; otherwise a live
    diagnosis that stores nothing (handy to try a token or a SIREN while setting up)."""
    ctx, runner = rt.compliance, rt.runner
    assert runner is not None
    async with ctx.transaction() as session:
        b = (await session.exec(select(Buyer).where(Buyer.siret == buyer_siret))).first()
        s = (await session.exec(select(Supplier).where(Supplier.siren == siren))).first()
        tracked = (
            b is not None and s is not None and await queries.holds_contract(session, b.id, s.id)
        )
    if not tracked:
        return [asdict(d) for d in await checks.diagnose_supplier(ctx, siren, buyer_siret)]
    assert b is not None and s is not None
    async with ctx.transaction() as session:  # the job leaves after this commit
        job_id, _ = await scheduling.request_recheck(session, ctx, b.id, s.id)
    if job_id is None:
        return []
    runner.start(periodic=False)
    await runner.join()  # the queue's own retries included (short waits of the source)
    async with rt.sessionmaker() as session:
        query = select(RequirementState).where(
            RequirementState.buyer_id == b.id, RequirementState.supplier_id == s.id
        )
        rows = (await session.exec(query.order_by(col(RequirementState.requirement)))).all()
        latest = select(Check).where(Check.buyer_id == b.id, Check.supplier_id == s.id)
        outcomes: dict[str, str] = {}
        for c in (await session.exec(latest.order_by(col(Check.finished_at)))).all():
            outcomes[c.requirement] = c.outcome
    return [
        {
            "type": r.requirement,
            "status": r.status,
            "outcome": outcomes.get(r.requirement),
            "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "document_id": str(r.document_id) if r.document_id else None,
            "reasons": [x["message"] for x in r.reasons],
        }
        for r in rows
        if r.active
    ]


def check_command(
    siren: Annotated[str, typer.Argument(help="SIREN of the supplier")],
    buyer: Annotated[str, typer.Option(help="SIRET of the buyer")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run every check of one supplier for one buyer now, and print each requirement's outcome."""

    async def main() -> list[dict[str, Any]]:
        rt = await build_runtime(get_settings(), in_process=True, periodic=False)
        try:
            return await _check(rt, siren, buyer)
        finally:
            await rt.aclose()

    for value, parse, what in ((siren, parse_siren, "SIREN (9"), (buyer, parse_siret, "SIRET (14")):
        try:
            parse(value)
        except PydanticCustomError:
            err.print(
                f"[red]Error[/red]: {value!r} is not a {what} digits whose last is the Luhn check "
                "digit)."
            )
            raise typer.Exit(2) from None
    siren, buyer = parse_siren(siren), parse_siret(buyer)
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
