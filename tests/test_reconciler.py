"""The reconciler (each tick): a claimed row whose job the queue no longer holds, and a contract
whose planning job was lost, are handed out within a tick — not after the 900-second lease or
at the next hourly pass (issue 14: after a FLUSHDB, 20 of 90 rows stayed `queued` for 1,041 s
and 15 contracts stayed unplanned past 230 s).

The ticks are called with a `now` past the reconciler's grace (a fresh claim's job may still be
on its way to the queue), as the minute clock would call them."""

import dataclasses
from datetime import timedelta

import pytest
import redis
from sqlmodel import select

from app.common import utcnow
from app.compliance import scheduling
from app.compliance.models import RequirementState
from app.compliance.scheduling import RECONCILE_GRACE
from app.compliance.tasks import FUNCTIONS
from app.jobs import InProcessRunner
from app.keys.models import Role
from tests.factories import random_siren

STEP = RECONCILE_GRACE + timedelta(seconds=1)


def _contract(*sirens: str) -> dict[str, object]:
    today = utcnow().date()
    return {
        "reference": f"M-RECON-{random_siren()}",
        "object": "Entretien",
        "amount_ht": "25000.00",
        "notified_on": (today - timedelta(days=10)).isoformat(),
        "duration_months": 24,
        "holders": [{"siren": s} for s in sirens],
    }


async def _states(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        rows = (await session.exec(select(RequirementState))).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.run_state] = counts.get(row.run_state, 0) + 1
    return counts


@pytest.mark.redis
async def test_flushdb_while_checks_are_queued(make_app, settings, make_buyer, make_key, redis_url):  # type: ignore[no-untyped-def]
    # A Redis database of its own: FLUSHDB touches nobody else's queue.
    url = redis_url.rsplit("/", 1)[0] + "/14"
    store = redis.Redis.from_url(url)
    store.flushdb()
    queue = settings.jobs.queue_name
    async with make_app(settings.model_copy(update={"redis_url": url})) as app:
        ctx = app.state.compliance
        headers = await make_key(Role.OFFICER, buyer=await make_buyer())
        for _ in range(3):
            body = _contract(random_siren(), random_siren())
            r = await app_client_post(app, "/v1/contracts", body, headers)
            assert r.status_code == 201, r.text
        assert store.zcard(queue) == 3  # the contracts' planning jobs

        store.flushdb()  # the planning jobs are lost: no row exists for the 6 holders
        now = utcnow() + STEP
        first = await scheduling.tick(ctx, now=now)
        assert first.planned == 6 and first.claimed == 6, first
        assert store.zcard(queue) == 6  # one check job per holder
        assert await _states(app) == {"queued": 18}

        store.flushdb()  # now the check jobs are lost: 18 rows claimed, no job anywhere
        second = await scheduling.tick(ctx, now=now + STEP)
        assert second.recovered == 18 and second.claimed == 6, second
        assert store.zcard(queue) == 6

        # Jobs in the queue are not lost: nothing is released or sent twice.
        third = await scheduling.tick(ctx, now=now + 2 * STEP)
        assert (third.recovered, third.planned, third.claimed) == (0, 0, 0), third
        assert store.zcard(queue) == 6 and await _states(app) == {"queued": 18}
    store.flushdb()
    store.close()


async def test_a_restarted_runner_has_lost_its_jobs(make_app, settings, make_buyer, make_key):  # type: ignore[no-untyped-def]
    """Embedded mode: the in-process runner's jobs die with its process; the next process's
    first tick hands the claimed rows out again."""
    async with make_app(settings.model_copy(update={"redis_url": None})) as app:
        ctx = app.state.compliance
        headers = await make_key(Role.OFFICER, buyer=await make_buyer())
        r = await app_client_post(app, "/v1/contracts", _contract(random_siren()), headers)
        assert r.status_code == 201, r.text
        now = utcnow() + STEP
        first = await scheduling.tick(ctx, now=now)  # its planning job is held, not run
        assert first.planned == 1 and first.claimed == 1, first
        again = await scheduling.tick(ctx, now=now + STEP)
        assert (again.recovered, again.claimed) == (0, 0), again  # held by this runner

        restarted = InProcessRunner(FUNCTIONS, {})  # a new process: it knows no job
        ctx = dataclasses.replace(ctx, jobs=restarted)
        after = await scheduling.tick(ctx, now=now + 2 * STEP)
        assert after.recovered == 3 and after.claimed == 1, after
        assert restarted.pending == 1


async def test_the_queue_down_releases_nothing(make_app, settings, make_buyer, make_key):  # type: ignore[no-untyped-def]
    """A queue that cannot tell (Redis unreachable) is not a queue that lost everything."""

    class Unreachable(InProcessRunner):
        async def in_flight(self, job_ids):  # type: ignore[no-untyped-def]
            raise ConnectionError("redis down")

    async with make_app(settings.model_copy(update={"redis_url": None})) as app:
        ctx = app.state.compliance
        headers = await make_key(Role.OFFICER, buyer=await make_buyer())
        r = await app_client_post(app, "/v1/contracts", _contract(random_siren()), headers)
        assert r.status_code == 201, r.text
        now = utcnow() + STEP
        assert (await scheduling.tick(ctx, now=now)).claimed == 1
        ctx = dataclasses.replace(ctx, jobs=Unreachable(FUNCTIONS, {}))
        report = await scheduling.tick(ctx, now=now + STEP)
        assert (report.recovered, report.claimed) == (0, 0), report
        assert await _states(app) == {"queued": 3}


async def app_client_post(app, path: str, body: object, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
        return await client.post(path, json=body, headers=headers)
