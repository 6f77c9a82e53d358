"""The limiter never lets any window of `window + margin` seconds hold more than the limit,
honours RateLimit-Remaining/Reset and 429 blocks, in memory and shared through Redis."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from app.integrations.api_entreprise import token_id_for
from app.integrations.api_entreprise.errors import UpstreamRateLimited
from app.integrations.api_entreprise.ratelimit import (
    Family,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from tests.integrations.api_entreprise.conftest import TOKEN

J, D = Family.JSON, Family.DOCUMENTS
TID = token_id_for(TOKEN)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def memory(limit: int = 5, window: float = 10, margin: float = 1, clock=None) -> MemoryRateLimiter:
    return MemoryRateLimiter(
        {J: limit, D: limit},
        window_seconds=window,
        margin_seconds=margin,
        clock=clock or FakeClock(),
    )


async def test_memory_never_overflows_any_window() -> None:
    clock = FakeClock()
    limiter = memory(limit=7, window=10, margin=1, clock=clock)
    granted: list[float] = []
    rng = random.Random(3)
    for _ in range(3000):
        clock.now += rng.expovariate(3.0)  # ~3 attempts a second against 7 per 11 s
        if await limiter._try_acquire(TID, J) == 0:
            granted.append(clock.now)
    for i, start in enumerate(granted):
        in_window = [t for t in granted[i:] if t < start + 11]
        assert len(in_window) <= 7
    # …and it is not idle either: close to 7 per 11 s over the run.
    assert len(granted) >= 0.95 * (granted[-1] - granted[0]) / 11 * 7


async def test_memory_wait_and_max_wait() -> None:
    clock = FakeClock()
    limiter = memory(limit=2, clock=clock)
    await limiter.acquire(TID, J, max_wait=0)
    await limiter.acquire(TID, J, max_wait=0)
    with pytest.raises(UpstreamRateLimited) as exc:
        await limiter.acquire(TID, J, max_wait=0)
    assert 10.5 < (exc.value.retry_at - datetime.now(UTC)).total_seconds() < 11.1
    await limiter.acquire(TID, D, max_wait=0)  # the other family has its own budget
    await limiter.acquire("another-token", J, max_wait=0)  # and so has another token
    clock.now += 11.01
    await limiter.acquire(TID, J, max_wait=0)


async def test_acquire_sleeps_until_a_slot_frees() -> None:
    limiter = MemoryRateLimiter({J: 2, D: 2}, window_seconds=0.2, margin_seconds=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(3):
        await limiter.acquire(TID, J, max_wait=2)
    assert loop.time() - started >= 0.25  # the third could not start before a slot freed


async def test_memory_observe_and_block() -> None:
    clock = FakeClock()
    limiter = memory(limit=100, clock=clock)
    await limiter.observe(TID, J, remaining=2, reset_at=clock.now + 20)
    assert await limiter._try_acquire(TID, J) == 0
    assert await limiter._try_acquire(TID, J) == 0
    assert await limiter._try_acquire(TID, J) > 0  # upstream said only 2 were left
    clock.now += 21.01
    assert await limiter._try_acquire(TID, J) == 0
    await limiter.observe(TID, D, remaining=0, reset_at=clock.now + 5)
    assert 5.9 < await limiter._try_acquire(TID, D) < 6.1  # reset + margin
    await limiter.block(TID, J, clock.now + 42)
    assert 41.9 < await limiter._try_acquire(TID, J) <= 42


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
async def redis_pair(redis_url: str) -> AsyncIterator[tuple[RateLimiter, RateLimiter, str]]:
    """Two limiters on two connections (as two processes would have), a unique key prefix."""
    import redis.asyncio as aioredis

    prefix = f"test:{uuid.uuid4().hex}"
    first, second = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    limits = {J: 10, D: 3}
    a = RedisRateLimiter(first, limits, window_seconds=5, margin_seconds=0.5, prefix=prefix)
    b = RedisRateLimiter(second, limits, window_seconds=5, margin_seconds=0.5, prefix=prefix)
    yield a, b, prefix
    async for key in first.scan_iter(match=f"{prefix}:*"):
        await first.delete(key)
    await first.aclose()
    await second.aclose()


async def _try(limiter: RateLimiter, family: Family) -> bool:
    try:
        await limiter.acquire(TID, family, max_wait=0)
    except UpstreamRateLimited:
        return False
    return True


async def test_redis_shared_budget_is_exact_under_contention(redis_pair) -> None:
    a, b, _ = redis_pair
    results = await asyncio.gather(*(_try(a if i % 2 else b, J) for i in range(40)))
    assert sum(results) == 10
    results = await asyncio.gather(*(_try(a if i % 2 else b, D) for i in range(10)))
    assert sum(results) == 3


async def test_redis_block_after_429_applies_to_every_process(redis_pair) -> None:
    a, b, _ = redis_pair
    import time

    await a.block(TID, D, time.time() + 30)
    assert not await _try(b, D)
    assert await _try(b, J)
    with pytest.raises(UpstreamRateLimited) as exc:
        await b.acquire(TID, D, max_wait=1)
    assert exc.value.retry_at.timestamp() > time.time() + 25


async def test_redis_observe_shrinks_the_shared_budget(redis_pair) -> None:
    a, b, _ = redis_pair
    import time

    await a.observe(TID, J, remaining=2, reset_at=time.time() + 30)
    assert [await _try(b, J) for _ in range(4)] == [True, True, False, False]
    await b.observe(TID, D, remaining=0, reset_at=time.time() + 30)
    assert not await _try(a, D)


async def test_redis_keys_hold_a_hash_never_the_token(redis_pair) -> None:
    a, _, prefix = redis_pair
    await _try(a, J)
    await a.block(TID, D, 4_000_000_000)
    keys = [k.decode() async for k in a.redis.scan_iter(match=f"{prefix}:*")]
    assert keys and all(TID in k for k in keys)
    assert not any(TOKEN in k for k in keys)
    for key in keys:
        dumped = await a.redis.dump(key)
        assert TOKEN.encode() not in dumped
