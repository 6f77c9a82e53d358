"""Verified API keys are cached per process, and a revocation takes effect at once everywhere."""

import uuid

import pytest

from app.db import unit_of_work
from app.keys.models import ApiKey, Role
from app.keys.service import (
    KEY_CACHE,
    REVOCATIONS_KEY,
    KeyCache,
    create_key,
    publish_revocation,
    revoke_key,
)
from tests.api.conftest import assert_problem
from tests.factories import prefix_of


def _record() -> ApiKey:
    return ApiKey(prefix="vg_000000000000", key_hash="0" * 64, role=Role.ADMIN.value)


@pytest.mark.redis
async def test_another_process_revoking_clears_this_cache(redis_url: str) -> None:
    """Two processes = two caches; the marker in Redis is what the revoking one moves."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    here, there = KeyCache(), KeyCache()
    record = _record()
    try:
        marker = await here.marker(redis)
        here.put("digest", record, marker)
        assert here.get("digest", await here.marker(redis)) is record
        await redis.incr(REVOCATIONS_KEY)  # what `publish_revocation` does in the other process
        del there
        assert here.get("digest", await here.marker(redis)) is None
    finally:
        await redis.aclose()


async def test_without_redis_the_marker_is_the_process_memory() -> None:
    cache = KeyCache()
    record = _record()
    cache.put("digest", record, await cache.marker(None))
    assert cache.get("digest", await cache.marker(None)) is record
    cache.revoked()
    assert cache.get("digest", await cache.marker(None)) is None


async def test_unreadable_marker_caches_nothing() -> None:
    class Down:
        async def get(self, _: str) -> None:
            raise ConnectionError("redis down")

    cache = KeyCache()
    marker = await cache.marker(Down())
    assert marker is None
    cache.put("digest", _record(), marker)
    assert cache.get("digest", marker) is None


async def test_a_cached_key_revoked_elsewhere_is_refused_at_once(
    client, make_key, make_buyer, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    """The key is verified (and cached) by a first request; revoked by another unit of work (the
    CLI's); the next request is a 401 without waiting for the cache to expire."""
    headers = await make_key("officer", buyer=await make_buyer())
    assert (await client.get("/v1/contracts", headers=headers)).status_code == 200
    assert (await client.get("/v1/contracts", headers=headers)).status_code == 200  # cached
    async with unit_of_work(sessionmaker) as session:
        await revoke_key(session, prefix_of(headers["Authorization"]))
    assert_problem(await client.get("/v1/contracts", headers=headers), 401, "revoked_api_key")


async def test_publish_revocation_forgets_this_process_keys(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        issued = await create_key(session, role=Role.ADMIN, label=f"t-{uuid.uuid4().hex[:6]}")
    marker = await KEY_CACHE.marker(None)
    KEY_CACHE.put("k", issued.record, marker)
    await publish_revocation(None)
    assert KEY_CACHE.get("k", await KEY_CACHE.marker(None)) is None


@pytest.mark.redis
async def test_the_pipelined_count_still_sees_another_process_revocation(
    make_app, settings, redis_url, make_key, make_buyer, sessionmaker
) -> None:  # type: ignore[no-untyped-def]
    """A cached key's rate-limit count and the revocation marker travel in one Redis round trip:
    the count goes on (RateLimit-Remaining falls by one a request) and a revocation published by
    another process (the marker moved in Redis, this process's memory untouched) is a 401 at once."""
    import httpx
    from sqlalchemy import update

    from app.common import utcnow
    from app.config import RateLimitSettings

    headers = await make_key("officer", buyer=await make_buyer())
    limited = settings.model_copy(
        update={"redis_url": redis_url, "rate_limit": RateLimitSettings(per_key_per_minute=10)}
    )
    async with make_app(limited) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            answers = [await client.get("/v1/contracts", headers=headers) for _ in range(3)]
            assert [r.status_code for r in answers] == [200, 200, 200]
            assert [r.headers["ratelimit-remaining"] for r in answers] == ["9", "8", "7"]
            async with unit_of_work(sessionmaker) as session:
                await session.exec(  # type: ignore[call-overload]
                    update(ApiKey)
                    .where(ApiKey.prefix == prefix_of(headers["Authorization"]))  # type: ignore[arg-type]
                    .values(revoked_at=utcnow())
                )
            await app.state.redis.incr(REVOCATIONS_KEY)  # the other process's publish_revocation
            assert_problem(
                await client.get("/v1/contracts", headers=headers), 401, "revoked_api_key"
            )
