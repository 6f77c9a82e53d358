"""Distributed mode with Redis lost (issue 9): the API starts anyway, `/healthz` answers 503 with
Redis down, reads and writes go on (a new contract's planning is left to the reconciler), the
route whose only effect is to queue a check answers 503 `queue_unavailable` with Retry-After, and
everything recovers by itself once Redis is back."""

import asyncio
import shutil
import socket

import httpx
import pytest
import redis

from app.keys.models import Role
from tests.conftest import unavailable
from tests.factories import random_siren

# /healthz opens a connection of its own: the test commits for real.
pytestmark = [pytest.mark.redis, pytest.mark.real_commits]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _contract(siren: str) -> dict[str, object]:
    return {
        "reference": "M-REDIS-1",
        "object": "Entretien",
        "amount_ht": "25000.00",
        "notified_on": "2026-11-01",
        "duration_months": 24,
        "holders": [{"siren": siren}],
    }


async def test_the_api_lives_through_a_lost_redis(make_app, settings, make_buyer, make_key):  # type: ignore[no-untyped-def]
    server = shutil.which("redis-server")
    if server is None:
        unavailable("redis-server is not installed")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    async with make_app(settings.model_copy(update={"redis_url": url})) as app:  # nothing there
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            r = await client.get("/healthz")
            assert r.status_code == 503 and r.json()["components"]["redis"]["status"] == "down"
            headers = await make_key(Role.OFFICER, buyer=await make_buyer())
            siren = random_siren()
            r = await client.post("/v1/contracts", json=_contract(siren), headers=headers)
            assert r.status_code == 201, r.text  # committed; its planning waits for the queue
            assert (await client.get("/v1/contracts", headers=headers)).status_code == 200
            r = await client.post(f"/v1/suppliers/{siren}/checks", headers=headers)
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "queue_unavailable" and r.headers["Retry-After"] == "60"

            args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            proc = await asyncio.create_subprocess_exec(
                server, *args, stdout=asyncio.subprocess.DEVNULL
            )
            try:
                for _ in range(50):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                r = await client.get("/healthz")
                assert r.status_code == 200, r.text  # recovered by itself, no restart
                r = await client.post(f"/v1/suppliers/{siren}/checks", headers=headers)
                assert r.status_code == 202, r.text
                queue = settings.jobs.queue_name
                assert redis.Redis(port=port).zcard(queue) == 1  # the check is queued
            finally:
                proc.terminate()
                await proc.wait()
