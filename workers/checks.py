"""Thin job functions: ids and primitives in, a service call out. The arq worker and the
in-process runner run these same functions with the same `ctx` (`ctx["runtime"]`)."""

import uuid
from typing import Any

from app.compliance import service


async def tick_job(ctx: dict[str, Any]) -> dict[str, int]:
    """Every minute: reclaim lost checks, plan, claim what is due, enqueue it."""
    runtime = ctx["runtime"]
    report = await service.tick(runtime, full=runtime.should_plan_fully())
    return vars(report)


async def plan_contract(ctx: dict[str, Any], contract_id: str) -> int:
    """After a contract is created or amended: its rows and its first checks, at once."""
    return await service.plan_contract(ctx["runtime"], uuid.UUID(contract_id))


async def run_supplier_check(
    ctx: dict[str, Any], buyer_id: str, supplier_id: str
) -> dict[str, str]:
    """Every due requirement of one supplier for one buyer (job id: check:{b}:{s}:{due_on})."""
    run = await service.run_supplier_check(
        ctx["runtime"],
        uuid.UUID(buyer_id),
        uuid.UUID(supplier_id),
        job_try=int(ctx.get("job_try") or 1),
    )
    return run.results if run else {}


FUNCTIONS = {f.__name__: f for f in (tick_job, plan_contract, run_supplier_check)}
