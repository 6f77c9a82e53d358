"""Rate limits of API Entreprise, shared by every process that uses the same token.

Upstream counts calls per token in FIXED one-minute windows opened by the first call, per family
(JSON 250/min, documents 50/min); past the limit it answers 429 + Retry-After, and a client that
keeps calling gets its IP banned for 12 hours (DINUM developer doc, "Respecter la volumétrie").
We cannot know when the upstream window opened, so we enforce the stronger property: in ANY
interval of `window + margin` seconds at most `limit` calls start. Every upstream window is such
an interval (the margin absorbs the transit time between our count and the upstream's), so no
upstream window can overflow, whatever its phase. A sliding log does exactly that (a token bucket
with a full burst does not: it allows 2x the limit across a window boundary).

On top of it: `observe()` reads `RateLimit-Remaining/Reset` from every answer and caps the local
budget until the reset; `block()` (after a 429) stops every process until Retry-After has passed.
With Redis the state lives in Redis (one Lua script, atomic, Redis clock); without it, in memory.
"""

import asyncio
import math
import random
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from app.integrations.api_entreprise.errors import UpstreamRateLimited

# The longest a caller is told to wait for a slot: a block comes from a 429's Retry-After or a
# RateLimit-Reset, both bounded by the client (API_ENTREPRISE__MAX_RETRY_SECONDS); this only
# guards the date arithmetic against a corrupt store.
MAX_SLOT_WAIT_SECONDS = 7 * 86400.0


def _bounded(wait: float) -> float:
    return min(wait, MAX_SLOT_WAIT_SECONDS) if math.isfinite(wait) else MAX_SLOT_WAIT_SECONDS


class Family(StrEnum):
    JSON = "json"
    DOCUMENTS = "documents"


class RateLimiter(ABC):
    def __init__(
        self,
        limits: dict[Family, int],
        *,
        window_seconds: float = 60.0,
        margin_seconds: float = 1.0,
    ) -> None:
        self.limits = dict(limits)
        self.window_seconds = window_seconds
        self.margin_seconds = margin_seconds

    @property
    def span_seconds(self) -> float:
        """The sliding interval actually enforced: the window plus the safety margin."""
        return self.window_seconds + self.margin_seconds

    async def acquire(self, token_id: str, family: Family, *, max_wait: float = 30.0) -> None:
        """Take one slot, sleeping (asynchronously) until one is free; raise
        `UpstreamRateLimited(retry_at)` when none frees up within `max_wait` seconds."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = await self._try_acquire(token_id, family)
            if wait <= 0:
                return
            if not time.monotonic() + wait <= deadline:  # also a NaN wait
                raise UpstreamRateLimited(datetime.now(UTC) + timedelta(seconds=_bounded(wait)))
            # A little jitter so that processes woken for the same freed slot do not stampede.
            await asyncio.sleep(wait + random.uniform(0, 0.02))

    @abstractmethod
    async def _try_acquire(self, token_id: str, family: Family) -> float:
        """0 when a slot was taken, else the seconds to wait before trying again."""

    @abstractmethod
    async def observe(
        self, token_id: str, family: Family, *, remaining: int | None, reset_at: float | None
    ) -> None:
        """Shrink the budget to what upstream says is left (`RateLimit-Remaining`) until
        `RateLimit-Reset` (a UNIX timestamp); 0 left blocks the family until then."""

    @abstractmethod
    async def block(self, token_id: str, family: Family, until: float) -> None:
        """No call of this family before `until` (UNIX time), in any process (after a 429)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        pass


class MemoryRateLimiter(RateLimiter):
    """Same semantics in one process (the embedded mode, without Redis)."""

    def __init__(
        self,
        limits: dict[Family, int],
        *,
        window_seconds: float = 60.0,
        margin_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(limits, window_seconds=window_seconds, margin_seconds=margin_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, Family], deque[float]] = {}
        self._blocked: dict[tuple[str, Family], float] = {}
        self._caps: dict[tuple[str, Family], tuple[int, float]] = {}  # (left, until)

    async def _try_acquire(self, token_id: str, family: Family) -> float:
        key = (token_id, family)
        with self._lock:
            now = self._clock()
            blocked = self._blocked.get(key, 0.0)
            if blocked > now:
                return blocked - now
            cap = self._caps.get(key)
            if cap is not None and cap[1] <= now:
                cap = None
                self._caps.pop(key, None)
            if cap is not None and cap[0] <= 0:
                return cap[1] - now
            log = self._logs.setdefault(key, deque())
            while log and log[0] <= now - self.span_seconds:
                log.popleft()
            if len(log) < self.limits[family]:
                log.append(now)
                if cap is not None:
                    self._caps[key] = (cap[0] - 1, cap[1])
                return 0.0
            return max(log[0] + self.span_seconds - now, 0.001)

    async def observe(
        self, token_id: str, family: Family, *, remaining: int | None, reset_at: float | None
    ) -> None:
        if remaining is None or reset_at is None:
            return
        key = (token_id, family)
        with self._lock:
            now = self._clock()
            if reset_at <= now:
                return
            if remaining <= 0:
                self._blocked[key] = max(
                    self._blocked.get(key, 0.0), reset_at + self.margin_seconds
                )
                return
            current = self._caps.get(key)
            if current is not None and current[1] > now:
                remaining = min(remaining, current[0])
            self._caps[key] = (remaining, reset_at + self.margin_seconds)

    async def block(self, token_id: str, family: Family, until: float) -> None:
        key = (token_id, family)
        with self._lock:
            self._blocked[key] = max(self._blocked.get(key, 0.0), until)


# KEYS: log (zset), blocked (string, ms), cap (string counter with TTL)
# ARGV: limit, span_ms, member.  Returns ms to wait (0 = slot taken).  Uses the Redis clock so
# that every process shares one time base.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return blocked - now end
local cap = redis.call('GET', KEYS[3])
if cap and tonumber(cap) <= 0 then
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > 0 then return ttl end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], span + 1000)
  if cap then redis.call('DECR', KEYS[3]) end
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + span - now
if wait < 1 then wait = 1 end
return wait
"""

# KEYS: blocked, cap.  ARGV: mode ("block" | "cap"), until_ms, remaining.
_OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = tonumber(ARGV[2])
if until_ms <= now then return 0 end
if ARGV[1] == 'block' then
  local current = tonumber(redis.call('GET', KEYS[1]) or '0')
  if until_ms > current then redis.call('SET', KEYS[1], until_ms, 'PX', until_ms - now) end
  return 1
end
local remaining = tonumber(ARGV[3])
local cap = redis.call('GET', KEYS[2])
if cap and tonumber(cap) < remaining then remaining = tonumber(cap) end
redis.call('SET', KEYS[2], remaining, 'PX', until_ms - now)
return 1
"""


class RedisRateLimiter(RateLimiter):
    """The limiter shared by every process (API and workers) through Redis.

    Keys hold a hash of the token (`token_id`), never the token itself."""

    def __init__(
        self,
        redis: Any,
        limits: dict[Family, int],
        *,
        window_seconds: float = 60.0,
        margin_seconds: float = 1.0,
        prefix: str = "vigie:api_entreprise",
        owns_redis: bool = False,
    ) -> None:
        super().__init__(limits, window_seconds=window_seconds, margin_seconds=margin_seconds)
        self.redis = redis
        self.prefix = prefix
        self.owns_redis = owns_redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)

    def _keys(self, token_id: str, family: Family) -> tuple[str, str, str]:
        base = f"{self.prefix}:rl:{token_id}:{family.value}"
        return f"{base}:log", f"{base}:blocked", f"{base}:cap"

    async def _try_acquire(self, token_id: str, family: Family) -> float:
        keys = self._keys(token_id, family)
        span_ms = int(self.span_seconds * 1000)
        wait_ms = await self._acquire(
            keys=list(keys), args=[self.limits[family], span_ms, uuid.uuid4().hex]
        )
        return int(wait_ms) / 1000

    async def observe(
        self, token_id: str, family: Family, *, remaining: int | None, reset_at: float | None
    ) -> None:
        if remaining is None or reset_at is None:
            return
        _, blocked, cap = self._keys(token_id, family)
        until_ms = int((reset_at + self.margin_seconds) * 1000)
        mode = "block" if remaining <= 0 else "cap"
        await self._observe(keys=[blocked, cap], args=[mode, until_ms, max(remaining, 0)])

    async def block(self, token_id: str, family: Family, until: float) -> None:
        _, blocked, cap = self._keys(token_id, family)
        await self._observe(keys=[blocked, cap], args=["block", int(until * 1000), 0])

    async def aclose(self) -> None:
        if self.owns_redis:
            await self.redis.aclose()
