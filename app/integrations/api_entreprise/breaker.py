"""A circuit breaker per provider (URSSAF, DGFIP, INSEE…): after `threshold` consecutive
5xx/timeouts we stop spending rate-limit budget on a provider that is down, until `cooldown`
has passed; then one trial call is let through (half-open) and its result closes or reopens it.

Kept per process: each worker learns on its own within a few calls, which is enough to protect
the budget, and a stale shared state could block a recovered provider everywhere."""

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.threshold = threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._states: dict[str, _State] = {}

    def _state(self, provider: str) -> _State:
        return self._states.setdefault(provider, _State())

    def state(self, provider: str) -> str:
        state = self._state(provider)
        if state.opened_at is None:
            return "closed"
        if self._clock() - state.opened_at >= self.cooldown_seconds:
            return "half_open"
        return "open"

    def before_call(self, provider: str) -> float | None:
        """None = go ahead; else the UNIX time at which to try again."""
        state = self._state(provider)
        current = self.state(provider)
        if current == "closed":
            return None
        assert state.opened_at is not None
        if current == "half_open" and not state.trial_in_flight:
            state.trial_in_flight = True
            return None
        return state.opened_at + self.cooldown_seconds if current == "open" else self._clock() + 5

    def record_success(self, provider: str) -> None:
        self._states[provider] = _State()

    def record_failure(self, provider: str) -> None:
        state = self._state(provider)
        state.failures += 1
        if state.trial_in_flight or state.failures >= self.threshold:
            state.opened_at = self._clock()
        state.trial_in_flight = False

    def record_neutral(self, provider: str) -> None:
        """An answer that says nothing about the provider's health (429, 409, 4xx)."""
        self._state(provider).trial_in_flight = False
