"""Two OS processes sharing one Redis limiter against a real sandbox set to a low limit (20 calls
per 2-second window): no window ever holds more than 20 calls, and the sandbox serves zero 429s."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
from app.integrations.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[3]
LIMIT, WINDOW, CALLS_EACH = 20, 2.0, 30


@pytest.mark.slow
def test_two_processes_never_exceed_the_shared_limit(redis_url: str) -> None:
    config = SandboxConfig(json_per_minute=LIMIT, documents_per_minute=LIMIT, window_seconds=WINDOW)
    prefix = f"test:mp:{uuid.uuid4().hex}"
    with SandboxServer(config) as base_url:
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "upstream_throughput.py"),
                    "--worker",
                    "--base-url",
                    base_url,
                    "--token",
                    SANDBOX_TOKEN,
                    "--limit",
                    str(LIMIT),
                    "--window-seconds",
                    str(WINDOW),
                    "--margin",
                    "0.1",
                    "--calls",
                    str(CALLS_EACH),
                    "--prefix",
                    prefix,
                    "--seed",
                    str(seed),
                    "--redis-url",
                    redis_url,
                    "--concurrency",
                    "6",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
            )
            for seed in (1, 2)
        ]
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0
            results.append(json.loads(out.decode().splitlines()[-1]))
        stats = httpx.get(f"{base_url}/__sandbox/stats").json()

    json_family = stats["families"]["json"]
    assert stats["rate_limited"] == 0
    assert json_family["rejected"] == 0
    assert json_family["max_per_window"] <= LIMIT
    # Not asserted: the sliding-window maximum. The upstream counts fixed windows (the sandbox
    # too), and two processes on a busy machine may legitimately straddle a window's edge;
    # it failed under load (21 > 20) while no fixed window was exceeded and no 429 was served.
    assert all(w["count"] <= LIMIT for w in stats["windows"])
    # Both processes really competed for the budget, and it was used: several full windows.
    assert json_family["accepted"] == 2 * CALLS_EACH
    assert json_family["windows"] >= 3
    assert json_family["max_per_window"] == LIMIT
    statuses = [s for r in results for s in r["statuses"]]
    assert "429" not in statuses
