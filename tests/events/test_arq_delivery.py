"""The webhook jobs through a real arq worker process (PostgreSQL + Redis): the dispatcher
claims the due delivery, its job signs and POSTs it to a real receiver."""

import asyncio

import pytest
from standardwebhooks import Webhook

from app.buyers.models import Buyer
from app.db import unit_of_work
from app.events import webhooks
from app.events.service import record_event
from app.runtime import build_runtime
from tests.factories import random_siret
from tests.workers.conftest import WorkerEnv, worker_env  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


async def test_a_real_worker_delivers_a_webhook(worker_env: WorkerEnv, receiver) -> None:  # noqa: F811
    rt = await build_runtime(worker_env.settings)
    try:
        async with unit_of_work(rt.sessionmaker) as session:
            buyer = Buyer(siret=random_siret(), name="Commune de Test")
            session.add(buyer)
            await session.flush()
            registered = await webhooks.create_endpoint(
                session, rt.archive.keyring, rt.webhooks, buyer.id, url=receiver.url, events=["*"]
            )
            event = await record_event(session, buyer.id, "token.expiring", {"days_left": 12})
        # What the worker's 5-second clock does; the delivery's job follows in the same burst.
        await rt.jobs.enqueue("dispatch_webhooks_job")
        await asyncio.to_thread(worker_env.run_burst)
    finally:
        await rt.aclose()
    [got] = receiver.received
    payload = Webhook(registered.secret).verify(got.body, got.headers)
    assert got.headers["webhook-id"] == str(event.id) == payload["id"]
    assert payload["data"]["days_left"] == 12
