"""The per-API-key rate limit: `RATE_LIMIT__PER_KEY_PER_MINUTE` requests in each one-minute
window (fixed windows), counted in Redis when the deployment has one (every process shares the
count), in this process's memory otherwise. 0 turns it off.

Over the limit: 429 problem+json `rate_limited` with `Retry-After`; every answer to a key carries
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (IETF httpapi ratelimit headers).
Redis unreachable: the request goes through (the limit protects the service, it must not take it
down), with a warning in the log.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from app.errors import AppError

log = logging.getLogger("vigie.ratelimit")
WINDOW = 60


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    title = "Trop de requêtes"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    @property
    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={WINDOW}",
        }

    def refusal(self) -> RateLimited:
        return RateLimited(
            f"Cette clé d'API a dépassé {self.limit} requêtes par minute : réessayez dans "
            f"{self.reset} s.",
            headers={**self.headers, "Retry-After": str(self.reset)},
        )


class RateLimiter:
    def __init__(self, per_minute: int, redis: Any | None = None, prefix: str = "vigie") -> None:
        self.per_minute = per_minute
        self.redis = redis
        self.prefix = f"{prefix}:ratelimit:key"
        self._memory: dict[str, tuple[int, int]] = {}  # key -> (window, count)

    async def hit(self, key: str, now: float | None = None) -> Decision | None:
        """Count one request of `key`; None when the limit is off."""
        if self.per_minute <= 0:
            return None
        now = time.time() if now is None else now
        window = int(now // WINDOW)
        reset = max(1, int((window + 1) * WINDOW - now))
        count = await self._count(key, window)
        if count is None:
            return None
        remaining = max(0, self.per_minute - count)
        return Decision(count <= self.per_minute, self.per_minute, remaining, reset)

    async def hit_and_get(
        self, key: str, name: str, now: float | None = None
    ) -> tuple[Decision | None, bytes | None, bool]:
        """`hit` (Redis only), with a GET of `name` in the same round trip (the key cache's
        revocation marker): (decision, the value, whether Redis answered)."""
        if self.redis is None or self.per_minute <= 0:
            raise ValueError("hit_and_get needs Redis and a limit")
        now = time.time() if now is None else now
        window = int(now // WINDOW)
        reset = max(1, int((window + 1) * WINDOW - now))
        counter = f"{self.prefix}:{key}:{window}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(name)
                pipe.incr(counter)
                pipe.expire(counter, WINDOW * 2)
                value, count, _ = await pipe.execute()
        except Exception as exc:  # as `hit` and the key cache: neither takes the API down
            log.warning("rate limit not counted (%s): Redis unavailable", type(exc).__name__)
            return None, None, False
        count = int(count)
        remaining = max(0, self.per_minute - count)
        return Decision(count <= self.per_minute, self.per_minute, remaining, reset), value, True

    async def _count(self, key: str, window: int) -> int | None:
        if self.redis is None:
            current = self._memory.get(key)
            count = current[1] + 1 if current and current[0] == window else 1
            if len(self._memory) > 100_000:  # old windows of idle keys
                self._memory = {k: v for k, v in self._memory.items() if v[0] == window}
            self._memory[key] = (window, count)
            return count
        name = f"{self.prefix}:{key}:{window}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW * 2)
                count, _ = await pipe.execute()
        except Exception as exc:  # the limit must not take the API down with Redis
            log.warning("rate limit not counted (%s): Redis unavailable", type(exc).__name__)
            return None
        return int(count)
