"""Fixtures of the engine's tests: the app with its in-process runner started (embedded mode)."""

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.integrations.sandbox import DEMO_SIRENS
from tests.factories import random_siret


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests drive the in-process runner; the arq path has its own tests (tests/workers)."""
    return settings.model_copy(update={"redis_url": None})


@pytest.fixture
def runtime(app):  # type: ignore[no-untyped-def]
    rt = app.state.runtime
    if rt.runner is not None:
        rt.runner.start(periodic=False)
    return rt


async def settle(rt: Any, seconds: float = 60.0) -> None:
    """Wait until the in-process runner has nothing queued or running."""
    await asyncio.wait_for(rt.runner.join(), seconds)


def contract_for(*sirens: str, **overrides: Any) -> dict[str, Any]:
    today = date.today()
    payload: dict[str, Any] = {
        "reference": f"M-{random_siret()[:10]}",
        "object": "Entretien des espaces verts",
        "amount_ht": "25000.00",
        "notified_on": (today - timedelta(days=10)).isoformat(),
        "duration_months": 24,
        "holders": [{"siren": s} for s in sirens],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def profile() -> Callable[[str], str]:
    return DEMO_SIRENS.__getitem__
