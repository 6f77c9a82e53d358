"""Per-API-key rate limit: RateLimit-* headers on every answer to a key, 429 problem+json with
Retry-After beyond the limit, each key counted apart (Redis when the suite has it, memory
otherwise), 0 turns it off."""

import httpx

from app.config import RateLimitSettings
from app.keys.models import Role
from app.ratelimit import RateLimiter
from tests.api.conftest import assert_problem


async def test_beyond_the_limit_is_a_429(make_app, settings, make_buyer, make_key):
    buyer = await make_buyer()
    first, second = await make_key(Role.OFFICER, buyer=buyer), await make_key(Role.ERP, buyer=buyer)
    limited = settings.model_copy(update={"rate_limit": RateLimitSettings(per_key_per_minute=3)})
    async with make_app(limited) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            answers = [await client.get("/v1/contracts", headers=first) for _ in range(4)]
            assert [r.status_code for r in answers[:3]] == [200, 200, 200]
            assert answers[0].headers["ratelimit-limit"] == "3"
            assert [r.headers["ratelimit-remaining"] for r in answers[:3]] == ["2", "1", "0"]
            body = assert_problem(answers[3], 429, "rate_limited")
            assert "3 requêtes par minute" in body["detail"]
            assert 1 <= int(answers[3].headers["retry-after"]) <= 60
            assert answers[3].headers["ratelimit-remaining"] == "0"
            other = await client.get("/v1/contracts", headers=second)  # another key: its own count
            assert other.status_code == 200 and other.headers["ratelimit-remaining"] == "2"


async def test_zero_turns_it_off(make_app, settings, make_buyer, make_key):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    off = settings.model_copy(update={"rate_limit": RateLimitSettings(per_key_per_minute=0)})
    async with make_app(off) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            r = await client.get("/v1/contracts", headers=headers)
            assert r.status_code == 200 and "ratelimit-limit" not in r.headers


async def test_windows_are_fixed_minutes_in_memory():
    limiter = RateLimiter(2)
    start = 120.0  # the start of a minute
    got = [await limiter.hit("vg_a", now=start + i) for i in range(3)]
    assert [d.allowed for d in got if d] == [True, True, False]
    assert got[2] is not None and got[2].reset == 58
    later = await limiter.hit("vg_a", now=start + 60)  # the next minute starts afresh
    assert later is not None and later.allowed and later.remaining == 1
