"""Per-token, per-family fixed-window rate limiting, as the real API does (research notes §4).

A window opens with the first call of a token in a family and lasts `window_seconds`; past the
limit every call gets 429 until the window ends. The limiter also keeps what tests and
benchmarks assert on: every window's count, the 429s served, and the busiest 60 seconds.
"""

from __future__ import annotations

import hashlib
import math
import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Window:
    token_id: str
    family: str
    start: float
    limit: int
    count: int = 0  # calls let through
    rejected: int = 0  # calls answered 429

    def reset_at(self, length: float) -> float:
        return self.start + length


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # UNIX timestamp of the window's end (RateLimit-Reset)
    retry_after: int  # seconds until the window ends (Retry-After on a 429)


def token_id(token: str) -> str:
    """A short, non-reversible label for a token (stats never show tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class FixedWindowLimiter:
    clock: Callable[[], float]
    limits: dict[str, int]
    window_seconds: float = 60.0
    _current: dict[tuple[str, str], Window] = field(default_factory=dict)
    _history: list[Window] = field(default_factory=list)
    _accepted_at: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, token: str, family: str) -> Decision:
        now = self.clock()
        key = (token_id(token), family)
        with self._lock:
            window = self._current.get(key)
            if window is None or now >= window.reset_at(self.window_seconds):
                window = Window(key[0], family, now, self.limits[family])
                self._current[key] = window
                self._history.append(window)
            reset = window.reset_at(self.window_seconds)
            if window.count >= window.limit:
                window.rejected += 1
                return Decision(False, window.limit, 0, math.ceil(reset), _ceil_pos(reset - now))
            window.count += 1
            self._accepted_at.setdefault(key, []).append(now)
            return Decision(
                True,
                window.limit,
                window.limit - window.count,
                math.ceil(reset),
                _ceil_pos(reset - now),
            )

    def reset(self) -> None:
        with self._lock:
            self._current.clear()
            self._history.clear()
            self._accepted_at.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            windows = [
                {
                    "token": w.token_id,
                    "family": w.family,
                    "start": w.start,
                    "reset": w.reset_at(self.window_seconds),
                    "limit": w.limit,
                    "count": w.count,
                    "rejected": w.rejected,
                }
                for w in self._history
            ]
            families: dict[str, dict[str, Any]] = {}
            for family, limit in self.limits.items():
                mine = [w for w in self._history if w.family == family]
                busiest = max(
                    (
                        _max_in_sliding(times, self.window_seconds)
                        for (_, fam), times in self._accepted_at.items()
                        if fam == family
                    ),
                    default=0,
                )
                families[family] = {
                    "limit": limit,
                    "accepted": sum(w.count for w in mine),
                    "rejected": sum(w.rejected for w in mine),
                    "windows": len(mine),
                    "max_per_window": max((w.count for w in mine), default=0),
                    "max_per_sliding_window": busiest,
                }
        return {"windows": windows, "families": families}


def _ceil_pos(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _max_in_sliding(times: list[float], length: float) -> int:
    """Most calls let through within any `length` seconds, i.e. in (end - length, end]."""
    best = 0
    for index, end in enumerate(times):
        start = bisect_right(times, end - length, 0, index + 1)
        best = max(best, index - start + 1)
    return best
