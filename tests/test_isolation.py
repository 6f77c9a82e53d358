"""One rollback per test (tests/conftest.py): the test's and its app's units of work share one
connection whose outer transaction is rolled back, so every test finds the database empty."""

import asyncio

import pytest
from sqlmodel import func, select

from app.buyers.models import Buyer
from app.db import unit_of_work

SIRET = "21750001600019"  # the same in every run of the test: no other test's row may hold it


@pytest.mark.parametrize("run", [1, 2])
async def test_every_test_finds_the_database_empty(client, make_key, sessionmaker, run) -> None:
    admin = await make_key("admin")
    r = await client.post("/v1/buyers", json={"siret": SIRET, "name": "Paris"}, headers=admin)
    assert r.status_code == 201, r.text  # the request's commit is seen by the test's sessions
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(func.count()).select_from(Buyer))).one() == 1


async def test_the_session_fixture_sees_what_requests_commit(client, make_key, session) -> None:
    admin = await make_key("admin")  # units of work nest in the fixture's open one
    r = await client.post("/v1/buyers", json={"siret": SIRET, "name": "Paris"}, headers=admin)
    assert r.status_code == 201, r.text
    assert (await session.exec(select(Buyer.name).where(Buyer.siret == SIRET))).one() == "Paris"


async def test_a_failed_unit_of_work_rolls_back_only_itself(sessionmaker) -> None:
    async with unit_of_work(sessionmaker) as session:
        session.add(Buyer(siret=SIRET, name="Paris"))
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as session:
            session.add(Buyer(siret="21690123100011", name="Lyon"))
            await session.flush()
            raise RuntimeError
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(Buyer.siret))).all() == [SIRET]


async def test_overlapping_units_of_work_fail_clearly(sessionmaker) -> None:
    started = asyncio.Event()

    async def first() -> None:
        async with unit_of_work(sessionmaker):
            started.set()
            await asyncio.sleep(0.05)

    task = asyncio.create_task(first())
    await started.wait()
    with pytest.raises(RuntimeError, match="real_commits"):
        async with unit_of_work(sessionmaker):
            pass
    await task


async def test_jobs_do_not_run(settings, make_app) -> None:
    async with make_app(settings.model_copy(update={"redis_url": None})) as app:
        with pytest.raises(RuntimeError, match="real_commits"):
            app.state.runtime.runner.start(periodic=False)
