"""Scheduling on the database: deterministic claims, leases, amendments and ends of execution,
and the in-process runner's contract (ids, RetryLater, defer)."""

import asyncio
from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.common import utcnow
from app.compliance import checks, scheduling
from app.compliance.models import RequirementState
from app.jobs import InProcessRunner, RetryLater
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle
from tests.factories import random_siren


async def _rows(sessionmaker, buyer_id):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        query = select(RequirementState).where(RequirementState.buyer_id == buyer_id)
        return list((await session.exec(query)).all())


@pytest.fixture
def committed_database_url(fresh_database_url: str) -> str:
    """The tick claims whatever is due in the whole database: give each test its own (these
    tests commit for real, so this is the database their settings use)."""
    return fresh_database_url


async def test_two_ticks_claim_once_and_reconciler_recovers(
    client, make_buyer, make_key, app, sessionmaker
):
    from app.integrations.sandbox import profile_for

    rt = app.state.runtime  # runner not started: jobs are held, nothing runs
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    # Compliant ones: a drawn profile whose source asks for a short wait would keep its rows
    # queued (by design) and make "every row idle" below a matter of luck.
    sirens: list[str] = []
    while len(sirens) < 3:
        siren = random_siren()
        if profile_for(siren) == "compliant":
            sirens.append(siren)
    r = await client.post("/v1/contracts", json=contract_for(*sirens), headers=headers)
    assert r.status_code == 201
    await scheduling.plan_all(rt.compliance)  # the hourly pass (the contract's own job is held)
    first = await scheduling.tick(rt.compliance)
    second = await scheduling.tick(rt.compliance)
    assert first.claimed >= 3 and second.claimed == 0
    rows = await _rows(sessionmaker, buyer.id)
    assert {r.run_state for r in rows} == {"queued"} and len(rows) == 9
    # Redis lost, worker dead: past the lease the reconciler hands them out again.
    later = await scheduling.tick(rt.compliance, now=utcnow() + timedelta(hours=2))
    assert later.reclaimed == 9
    rt.runner.start(periodic=False)
    await settle(rt)
    assert {r.run_state for r in await _rows(sessionmaker, buyer.id)} == {"idle"}


async def test_amendment_adds_and_end_stops(client, make_buyer, make_key, runtime, sessionmaker):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    r = await client.post("/v1/contracts", json=contract_for(random_siren()), headers=headers)
    contract = r.json()
    await settle(runtime)
    assert {x.requirement for x in await _rows(sessionmaker, buyer.id)} == {
        "registration",
        "urssaf_vigilance",
        "dgfip_fiscal",
    }
    r = await client.patch(
        f"/v1/contracts/{contract['id']}",
        json={"extra_requirements": ["qualibat"]},
        headers=headers,
    )
    assert r.status_code == 200
    await settle(runtime)
    rows = {x.requirement: x for x in await _rows(sessionmaker, buyer.id)}
    assert rows["qualibat"].active and rows["qualibat"].status is not None
    # Execution over: no more checks, the history stays.
    ended = (date.today() - timedelta(days=1)).isoformat()
    r = await client.patch(
        f"/v1/contracts/{contract['id']}", json={"ends_on": ended}, headers=headers
    )
    assert r.status_code == 200
    await settle(runtime)
    await scheduling.plan_all(runtime.compliance, now=utcnow() + timedelta(days=2))
    rows = await _rows(sessionmaker, buyer.id)
    assert rows and all(not x.active and x.next_due_at is None and x.status for x in rows)


async def test_in_process_runner_dedupes_retries_and_defers():
    calls: list[tuple[str, int]] = []

    async def flaky(ctx, name):  # type: ignore[no-untyped-def]
        calls.append((name, ctx["job_try"]))
        if ctx["job_try"] < 3:
            raise RetryLater(0.01)

    runner = InProcessRunner({"flaky": flaky}, {}, max_tries=5)
    assert await runner.enqueue("flaky", "a", job_id="same")
    assert not await runner.enqueue("flaky", "a", job_id="same")  # held: still a duplicate
    runner.start(periodic=False)
    assert not await runner.enqueue("flaky", "a", job_id="same")  # running: still a duplicate
    assert await runner.enqueue("flaky", "b", job_id="other", defer_by=0.05)
    await asyncio.wait_for(runner.join(), 5)
    assert calls.count(("a", 3)) == 1 and [t for n, t in calls if n == "a"] == [1, 2, 3]
    assert runner.completed == 2 and runner.failed == 0
    assert await runner.enqueue("flaky", "a", job_id="same")  # done: may run again
    await runner.aclose()


async def test_sweep_does_not_wait_for_a_short_upstream_retry(
    client, make_buyer, make_key, app, sessionmaker, monkeypatch
):
    """One supplier's source asks to come back in 10 minutes: the sweep checks everyone else
    and returns; that row stays claimed (with a lease) for the next tick."""
    from app.compliance.cli import sweep
    from app.compliance.fetch import Fetched
    from app.compliance.rules import EvidenceKind

    rt = app.state.runtime
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    slow, *others = [random_siren() for _ in range(4)]
    r = await client.post("/v1/contracts", json=contract_for(slow, *others), headers=headers)
    assert r.status_code == 201
    real_fetch = checks.fetch_requirement

    async def flaky(client_, rtype, subject, today):  # type: ignore[no-untyped-def]
        if subject.siren == slow:
            retry_at = utcnow() + timedelta(minutes=10)
            return Fetched(
                rtype,
                EvidenceKind.PENDING,
                "pending",
                {"obtained_on": today},
                retry_at=retry_at,
                message="connexion perdue",
            )
        return await real_fetch(client_, rtype, subject, today)

    monkeypatch.setattr(checks, "fetch_requirement", flaky)
    report = await asyncio.wait_for(sweep(rt, batch=10), 60)
    assert report["deferred"] == 1  # the others ran (claimed by the sweep or the planner job)
    rows = await _rows(sessionmaker, buyer.id)
    by_state: dict[str, int] = {}
    for row in rows:
        by_state[row.run_state] = by_state.get(row.run_state, 0) + 1
    assert by_state == {"idle": 9, "queued": 3}, by_state
    # Meanwhile the waiting supplier reads `upstream_pending` with its next try, not `missing`.
    r = await client.get(f"/v1/suppliers/{slow}/compliance", headers=headers)
    statuses = {q["status"] for q in r.json()["requirements"]}
    assert statuses == {"upstream_pending"}, r.json()
    assert all(q["reasons"][0]["code"] == "upstream_pending" for q in r.json()["requirements"])
    # The officer's re-check does not wait for the source's 10 minutes: it runs now.
    monkeypatch.setattr(checks, "fetch_requirement", real_fetch)
    r = await client.post(f"/v1/suppliers/{slow}/checks", headers=headers)
    assert r.status_code == 202 and ":now-" in r.json()["job_id"], r.text
    for _ in range(300):
        r = await client.get(f"/v1/suppliers/{slow}/compliance", headers=headers)
        if "upstream_pending" not in {q["status"] for q in r.json()["requirements"]}:
            break
        await asyncio.sleep(0.1)
    assert {q["status"] for q in r.json()["requirements"]} != {"upstream_pending"}, r.json()


async def test_two_processes_planning_a_new_pair_at_once(
    client, make_buyer, make_key, app, sessionmaker
):
    """The tick and a contract's own planning job may create the same rows at the same time."""
    import uuid

    from app.compliance.planner import sync_pairs
    from app.db import unit_of_work

    rt = app.state.runtime  # runner paused: the contract's planning job is held
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    r = await client.post("/v1/contracts", json=contract_for(random_siren()), headers=headers)
    pair = (buyer.id, uuid.UUID(r.json()["holders"][0]["supplier_id"]))

    async def plan() -> None:
        async with unit_of_work(sessionmaker) as session:
            await sync_pairs(session, [pair], policy=rt.compliance.policy)

    await asyncio.gather(plan(), plan(), plan())
    rows = await _rows(sessionmaker, buyer.id)
    assert sorted(r.requirement for r in rows) == [
        "dgfip_fiscal",
        "registration",
        "urssaf_vigilance",
    ]
