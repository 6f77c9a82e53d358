"""/healthz: each component with its state; 503 when a required one is down."""

from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

from app.config import Settings
from app.integrations.api_entreprise import ApiEntrepriseClient
from app.main import create_app


async def _healthz(
    settings: Settings,
    client: ApiEntrepriseClient,
    before: Callable[[FastAPI], Awaitable[None]] | None = None,
) -> httpx.Response:
    # Not `make_app`: /healthz opens a connection of its own, which on SQLite would wait for the
    # write lock of the test's rolled-back connection.
    app = create_app(settings, client=client)
    async with app.router.lifespan_context(app):
        if before is not None:
            await before(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            return await client.get("/healthz")


def _with(settings: Settings, **changes: object) -> Settings:
    return Settings(**{**settings.model_dump(), **changes})


async def test_healthz_embedded(settings, api_entreprise_client):
    r = await _healthz(_with(settings, redis_url=None), api_entreprise_client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["mode"] == "embedded"
    assert body["components"]["db"]["status"] == "ok"
    assert "redis" not in body["components"]


async def test_healthz_with_redis(settings, api_entreprise_client, redis_url):
    r = await _healthz(_with(settings, redis_url=redis_url), api_entreprise_client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "distributed"
    assert body["components"]["redis"]["status"] == "ok"


async def test_healthz_redis_down(settings, api_entreprise_client, redis_url):
    # Redis answers at startup (the job queue connects then), then goes away: 503.
    async def lose_redis(app: FastAPI) -> None:
        await app.state.redis.aclose()
        app.state.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)

    r = await _healthz(_with(settings, redis_url=redis_url), api_entreprise_client, lose_redis)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] != "ok"
    assert body["components"]["redis"]["status"] == "down"
    assert body["components"]["db"]["status"] == "ok"


async def test_healthz_db_down(settings, api_entreprise_client):
    nowhere = "postgresql://postgres@127.0.0.1:1/vigie"  # nothing listens on port 1
    r = await _healthz(_with(settings, database_url=nowhere, redis_url=None), api_entreprise_client)
    assert r.status_code == 503, r.text
    assert r.json()["components"]["db"]["status"] == "down"


def _jwt(days: float) -> str:
    """An unsigned JWT with an `exp` (Vigie reads it, it cannot verify the signature)."""
    import base64
    import json
    import time

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": "platform", "exp": int(time.time() + days * 86400)}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.signature"


async def test_healthz_warns_about_an_expiring_platform_token(settings, api_entreprise_client):
    token = _jwt(10)
    ae = {**settings.api_entreprise.model_dump(), "token": token}
    r = await _healthz(_with(settings, api_entreprise=ae, redis_url=None), api_entreprise_client)
    assert r.status_code == 200, r.text  # a warning never takes the API out of service
    body = r.json()
    assert body["status"] == "warning"
    component = body["components"]["api_entreprise_token"]
    assert component["status"] == "warning" and component["days_left"] in (9, 10)
    assert token not in r.text  # shown by its hash only
    ae["token"] = _jwt(200)
    r = await _healthz(_with(settings, api_entreprise=ae, redis_url=None), api_entreprise_client)
    assert r.json()["components"]["api_entreprise_token"]["status"] == "ok"
