"""A real arq worker (subprocess) on PostgreSQL + Redis against the sandbox.

Each test gets its own database, its own arq queue name, and its own empty Redis db number, so
FLUSHDB only touches this test's keys. Skips on a bare machine, fails under CI.
"""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from app.config import Settings
from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, SandboxServer
from app.migrate import upgrade
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerEnv:
    settings: Settings
    env: dict[str, str]
    redis_url: str
    sandbox: SandboxServer

    def start(self, *, burst: bool) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "workers.main", *(["--burst"] if burst else [])]
        return subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True)

    def run_burst(self, timeout: float = 120) -> None:
        proc = self.start(burst=True)
        try:
            assert proc.wait(timeout) == 0
        finally:
            kill(proc)

    def flushdb(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _free_db(base_url: str) -> str:
    """A Redis db number nobody uses right now (1..14)."""
    for number in range(14, 0, -1):
        url = base_url.rsplit("/", 1)[0] + f"/{number}"
        client = redis.Redis.from_url(url)
        try:
            if client.dbsize() == 0:
                return url
        finally:
            client.close()
    unavailable("no empty Redis db number for this test")
    raise AssertionError


@pytest.fixture
def worker_env(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[WorkerEnv]:
    upgrade(postgres_url)
    url = _free_db(redis_url)
    sandbox = SandboxServer(SandboxConfig(window_seconds=1.0))
    base_url = sandbox.start()
    queue = f"vigie-test:{uuid.uuid4().hex[:10]}"
    values: dict[str, Any] = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": postgres_url,
        "REDIS_URL": url,
        "API_ENTREPRISE__BASE_URL": base_url,
        "API_ENTREPRISE__TOKEN": SANDBOX_TOKEN,
        "API_ENTREPRISE__RATE_WINDOW_SECONDS": "1",
        "API_ENTREPRISE__RATE_MARGIN_SECONDS": "0.1",
        "API_ENTREPRISE__MAINTENANCE_WINDOWS": "false",  # the sandbox has none
        "ARCHIVE__DIR": str(tmp_path / "archive"),
        "ARCHIVE__KEY_FILE": str(tmp_path / "archive-keys.json"),
        "JOBS__QUEUE_NAME": queue,
        "JOBS__JOB_TIMEOUT_SECONDS": "20",
        "LOG_LEVEL": "WARNING",
    }
    env = {**os.environ, **values}
    settings = Settings(
        environment="test",
        database_url=postgres_url,
        redis_url=url,
        api_entreprise={
            "base_url": base_url,
            "token": SANDBOX_TOKEN,
            "rate_window_seconds": 1,
            "rate_margin_seconds": 0.1,
            "maintenance_windows": False,
        },
        archive={"dir": tmp_path / "archive", "key_file": tmp_path / "archive-keys.json"},
        jobs={"queue_name": queue, "job_timeout_seconds": 20},
    )
    yield WorkerEnv(settings, env, url, sandbox)
    sandbox.stop()
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
