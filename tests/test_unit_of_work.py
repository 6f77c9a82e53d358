"""One unit of work for requests, jobs and commands: jobs queued in it leave after a successful
commit, and a rollback drops them (app.db.unit_of_work, app.jobs.enqueue_after_commit)."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlmodel import select

from app.buyers.models import Buyer
from app.db import SessionMaker, unit_of_work
from app.jobs import InProcessRunner, enqueue_after_commit
from app.keys.models import Role
from tests.compliance.conftest import contract_for
from tests.factories import random_siren, random_siret
from tests.test_cli import cli_env  # noqa: F401 - the fixture is used by name


class RecordingQueue:
    """A queue that remembers what it was given, and when (was the buyer committed by then?)."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self.sessionmaker = sessionmaker
        self.sent: list[tuple[str, tuple[Any, ...], str | None, bool]] = []

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: float = 0.0
    ) -> bool:
        async with self.sessionmaker() as other:  # another connection: sees committed rows only
            seen = await other.get(Buyer, uuid.UUID(args[0])) is not None
        self.sent.append((function, args, job_id, seen))
        return True

    async def aclose(self) -> None:
        return None


@pytest.mark.real_commits  # the queue looks from another connection
async def test_jobs_leave_after_the_commit_and_see_its_rows(sessionmaker: SessionMaker) -> None:
    queue = RecordingQueue(sessionmaker)
    async with unit_of_work(sessionmaker, queue) as session:
        buyer = Buyer(siret=random_siret(), name="Commune")
        session.add(buyer)
        await session.flush()
        enqueue_after_commit(session, "plan_contract", str(buyer.id), job_id="job-1")
        assert queue.sent == []  # nothing leaves before the commit
    assert queue.sent == [("plan_contract", (str(buyer.id),), "job-1", True)]


async def test_a_rollback_drops_the_jobs(sessionmaker: SessionMaker) -> None:
    queue = RecordingQueue(sessionmaker)
    buyer_id = None
    with pytest.raises(RuntimeError, match="boom"):
        async with unit_of_work(sessionmaker, queue) as session:
            buyer = Buyer(siret=random_siret(), name="Commune")
            session.add(buyer)
            await session.flush()
            buyer_id = buyer.id
            enqueue_after_commit(session, "plan_contract", str(buyer.id))
            raise RuntimeError("boom")
    assert queue.sent == []
    async with sessionmaker() as session:
        assert await session.get(Buyer, buyer_id) is None


async def test_a_unit_without_a_queue_refuses_to_lose_a_job(sessionmaker: SessionMaker) -> None:
    siret = random_siret()
    with pytest.raises(RuntimeError, match="no job queue"):
        async with unit_of_work(sessionmaker) as session:
            session.add(Buyer(siret=siret, name="Commune"))
            enqueue_after_commit(session, "plan_contract", "x")
    async with sessionmaker() as session:  # rolled back: no row without its job
        assert (await session.exec(select(Buyer).where(Buyer.siret == siret))).first() is None


async def test_from_a_request_the_job_runs_after_the_response(
    settings, make_app, make_buyer, make_key
) -> None:  # type: ignore[no-untyped-def]
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    embedded = settings.model_copy(update={"redis_url": None})  # the in-process queue, even in CI
    async with make_app(embedded) as app:
        runner: InProcessRunner = app.state.runtime.runner  # held: nothing runs until start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            before = runner.pending
            payload = contract_for(random_siren())
            r = await client.post("/v1/contracts", json=payload, headers=headers)
            assert r.status_code == 201, r.text
            assert runner.pending == before + 1  # the planning job, sent after the commit
            failed = await client.post("/v1/contracts", json={"reference": "x"}, headers=headers)
    assert failed.status_code == 422 and runner.pending == before + 1  # nothing for a failure


@pytest.mark.real_commits  # the next job's session must see the first one's commit
async def test_from_a_job_the_next_job_runs(sessionmaker: SessionMaker) -> None:
    ran: list[str] = []

    async def first(ctx: dict[str, Any], siret: str) -> None:
        async with unit_of_work(sessionmaker, ctx["queue"]) as session:
            buyer = Buyer(siret=siret, name="Commune")
            session.add(buyer)
            await session.flush()
            enqueue_after_commit(session, "second", str(buyer.id))

    async def second(ctx: dict[str, Any], buyer_id: str) -> None:
        async with sessionmaker() as session:
            buyer = await session.get(Buyer, uuid.UUID(buyer_id))
            ran.append(buyer.name if buyer else "missing")

    runner = InProcessRunner({"first": first, "second": second}, {})
    runner.ctx["queue"] = runner
    runner.start(periodic=False)
    await runner.enqueue("first", random_siret())
    await asyncio.wait_for(runner.join(), 10)
    assert ran == ["Commune"] and runner.failed == 0
    await runner.aclose()


def test_from_a_command_the_job_runs(cli_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """`vigie check` on a tracked pair claims in one unit of work; its job runs after the commit
    (the outcome printed is the one the job recorded in its Check row)."""
    import json

    from app.integrations.sandbox import DEMO_SIRENS
    from tests.test_cli import invoke

    monkeypatch.setenv("DEMO", "true")
    assert invoke("migrate").exit_code == 0
    assert invoke("demo").exit_code == 0
    result = invoke("check", DEMO_SIRENS["compliant"], "--buyer", "21990000800018", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    outcomes = {r["type"]: r["outcome"] for r in body["requirements"]}
    assert outcomes == {
        "registration": "delivered",
        "urssaf_vigilance": "delivered",
        "dgfip_fiscal": "delivered",
    }
