"""Wiring: the limiter (Redis when configured, else in memory) and the per-process client."""

from typing import Any

import httpx
from pydantic import SecretStr

from app.config import Settings
from app.integrations.api_entreprise.client import ApiEntrepriseClient, Recorder
from app.integrations.api_entreprise.ratelimit import (
    Family,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)


def build_limiter(
    settings: Settings, redis: Any | None = None, *, prefix: str = "vigie:api_entreprise"
) -> RateLimiter:
    """`redis`: a `redis.asyncio.Redis` shared by the app; without one, `settings.redis_url`
    is used if set, else the in-process limiter (embedded mode, a single process)."""
    ae = settings.api_entreprise
    limits = {Family.JSON: ae.json_per_minute, Family.DOCUMENTS: ae.documents_per_minute}
    window, margin = ae.rate_window_seconds, ae.rate_margin_seconds
    owns = False
    if redis is None and settings.redis_url:
        import redis.asyncio as aioredis

        redis, owns = aioredis.from_url(settings.redis_url), True
    if redis is not None:
        return RedisRateLimiter(
            redis,
            limits,
            prefix=prefix,
            window_seconds=window,
            margin_seconds=margin,
            owns_redis=owns,
        )
    return MemoryRateLimiter(limits, window_seconds=window, margin_seconds=margin)


def build_client(
    settings: Settings,
    redis: Any | None = None,
    recorder: Recorder | None = None,
    *,
    base_url: str | None = None,
    token: str | SecretStr | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    limiter: RateLimiter | None = None,
) -> ApiEntrepriseClient:
    """The one client of this process. `base_url` overrides the setting (the in-process
    sandbox's URL when `API_ENTREPRISE__BASE_URL` is unset)."""
    return ApiEntrepriseClient(
        settings.api_entreprise,
        limiter=limiter or build_limiter(settings, redis),
        transport=transport,
        token=token,
        recorder=recorder,
        base_url=base_url,
        production=settings.is_production,
    )
