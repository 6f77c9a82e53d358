"""The engine's jobs: ids and primitives in, a domain call out. The arq worker
(`workers/main.py`) and the in-process runner (`app/runtime.py`) run these same functions with
the same `ctx`, whose `"compliance"` is the process's `ComplianceContext`."""

import uuid
from dataclasses import asdict
from typing import Any

from app import metrics
from app.compliance import checks, scheduling
from app.compliance.context import ComplianceContext


def _ctx(ctx: dict[str, Any]) -> ComplianceContext:
    compliance: ComplianceContext = ctx["compliance"]
    return compliance


async def tick_job(ctx: dict[str, Any]) -> dict[str, int]:
    """Every minute: reclaim lost checks, claim what is due, enqueue it."""
    return asdict(await scheduling.tick(_ctx(ctx)))


async def plan_all_job(ctx: dict[str, Any]) -> dict[str, int]:
    """At minute 0 of every hour (and at start): plan every live contract, then tick."""
    synced = await scheduling.plan_all(_ctx(ctx))
    return {"synced": synced, **asdict(await scheduling.tick(_ctx(ctx)))}


async def plan_contract(ctx: dict[str, Any], contract_id: str) -> int:
    """After a contract is created or amended: its rows and its first checks, at once."""
    return await scheduling.plan_contract(_ctx(ctx), uuid.UUID(contract_id))


async def run_supplier_check(
    ctx: dict[str, Any], buyer_id: str, supplier_id: str
) -> dict[str, str]:
    """Every due requirement of one supplier for one buyer (job id: check:{b}:{s}:{due_on})."""
    run = await checks.run_supplier_check(_ctx(ctx), uuid.UUID(buyer_id), uuid.UUID(supplier_id))
    for requirement, outcome in (run.results if run else {}).items():
        metrics.CHECKS.labels(requirement, outcome).inc()
    return run.results if run else {}


JOBS = (run_supplier_check, plan_contract, tick_job, plan_all_job)
FUNCTIONS = {f.__name__: f for f in JOBS}
