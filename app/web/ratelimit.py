"""Attempts per address and per IP (sign-in link requests): Redis when present, so every
process counts together; memory otherwise. Keys are hashed: no address is stored in clear."""

import hashlib
import time
from typing import Any


class AttemptLimiter:
    def __init__(self, redis: Any | None, *, prefix: str = "vigie:attempts") -> None:
        self.redis = redis
        self.prefix = prefix
        self._memory: dict[str, tuple[float, int]] = {}

    def _key(self, scope: str, value: str) -> str:
        digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
        return f"{self.prefix}:{scope}:{digest}"

    async def hit(self, scope: str, value: str, *, limit: int, window: int) -> bool:
        """Count one attempt; False when the limit is already reached in this window."""
        key = self._key(scope, value)
        if self.redis is not None:
            try:
                count = await self.redis.incr(key)
                if count == 1:
                    await self.redis.expire(key, window)
                return int(count) <= limit
            except Exception:  # Redis down: count here rather than refuse every sign-in
                pass
        now = time.monotonic()
        started, count = self._memory.get(key, (now, 0))
        if now - started >= window:
            started, count = now, 0
        self._memory[key] = (started, count + 1)
        if len(self._memory) > 10_000:  # forget finished windows
            self._memory = {k: v for k, v in self._memory.items() if now - v[0] < window}
        return count + 1 <= limit
