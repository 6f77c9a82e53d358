"""Fixtures for the sandbox tests: an ASGI client on a sandbox with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI

from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, create_sandbox_app

TODAY = date(2026, 3, 10)
PARAMS = {"context": "Marchés publics", "recipient": "21750001600019", "object": "MARCHE-2026-001"}
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}


class FakeClock:
    def __init__(self, start: float = 1_770_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(clock: FakeClock) -> SandboxConfig:
    return SandboxConfig(clock=clock, today=lambda: TODAY)


@pytest.fixture
def sandbox_app(config: SandboxConfig) -> FastAPI:
    return create_sandbox_app(config)


@pytest.fixture
async def sandbox(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox.test", headers=AUTH
    ) as client:
        yield client
