"""Throughput of the shared API Entreprise rate limiter against the sandbox.

Starts a sandbox limited to --limit calls per --window-seconds window (per token and family,
fixed windows opened by the first call, like the real API), then --processes OS processes each
run their share of --calls through `ApiEntrepriseClient` sharing one Redis limiter.
Prints the sustained calls per window as a fraction of the limit (goal >= 0.9) and the 429s
served by the sandbox (goal 0).

    .venv/bin/python bench/upstream_throughput.py --limit 50 --window-seconds 10 --calls 300 \
        --processes 2

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0) when --processes > 1.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUYER_SIRET = "10000001700010"


def luhn_siren(rng: random.Random) -> str:
    prefix = f"{rng.randrange(1, 10)}{rng.randrange(10**7):07d}"
    for digit in "0123456789":
        candidate = prefix + digit
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return candidate
    raise AssertionError


async def run_worker(args: argparse.Namespace) -> dict:
    from pydantic import SecretStr

    from app.config import ApiEntrepriseSettings
    from app.integrations.api_entreprise import (
        ApiEntrepriseClient,
        Family,
        MemoryRateLimiter,
        RedisRateLimiter,
    )

    settings = ApiEntrepriseSettings(
        base_url=args.base_url,
        token=SecretStr(args.token),
        json_per_minute=args.limit,
        documents_per_minute=args.limit,
        rate_window_seconds=args.window_seconds,
        rate_margin_seconds=args.margin,
        max_wait_seconds=600,
    )
    limits = {Family.JSON: args.limit, Family.DOCUMENTS: args.limit}
    window = {"window_seconds": args.window_seconds, "margin_seconds": args.margin}
    if args.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(args.redis_url)
        limiter = RedisRateLimiter(redis, limits, prefix=args.prefix, **window)
    else:
        redis = None
        limiter = MemoryRateLimiter(limits, **window)
    client = ApiEntrepriseClient(settings, limiter=limiter, production=False)
    rng = random.Random(args.seed)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for _ in range(args.calls):
        queue.put_nowait(luhn_siren(rng))
    statuses: dict[str, int] = {}
    times: list[float] = []

    async def task() -> None:
        while not queue.empty():
            siren = queue.get_nowait()
            outcome = await client.insee_unite_legale(siren, recipient=BUYER_SIRET, object="bench")
            times.append(time.time())
            key = str(outcome.http_status)
            statuses[key] = statuses.get(key, 0) + 1

    await asyncio.gather(*(task() for _ in range(args.concurrency)))
    await client.aclose()
    if redis is not None:
        await redis.aclose()
    return {"statuses": statuses, "times": times}


def start_workers(args: argparse.Namespace, base_url: str, token: str) -> list[dict]:
    prefix = f"bench:{uuid.uuid4().hex}"
    share = [
        args.calls // args.processes + (i < args.calls % args.processes)
        for i in range(args.processes)
    ]
    procs = []
    for i, calls in enumerate(share):
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            "--base-url",
            base_url,
            "--token",
            token,
            "--limit",
            str(args.limit),
            "--window-seconds",
            str(args.window_seconds),
            "--margin",
            str(args.margin),
            "--calls",
            str(calls),
            "--prefix",
            prefix,
            "--seed",
            str(i),
            "--concurrency",
            str(args.concurrency),
        ]
        if args.redis_url:
            cmd += ["--redis-url", args.redis_url]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT))
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"worker failed with {proc.returncode}")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


def summarize(results: list[dict], stats: dict, limit: int, window: float) -> dict:
    times = sorted(t for r in results for t in r["times"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    # Sustained rate: leave out the first window's burst (it says nothing about the pace).
    steady = (len(times) - limit) / (times[-1] - times[0]) * window if len(times) > limit else 0.0
    family = stats["families"]["json"]
    return {
        "calls": len(times),
        "seconds": round(times[-1] - times[0], 2),
        "calls_per_window": round(steady, 2),
        "fraction_of_limit": round(steady / limit, 3),
        "calls_per_minute": round(steady * 60 / window, 1),
        "rate_limited_429": stats["rate_limited"],
        "max_per_upstream_window": family["max_per_window"],
        "max_per_sliding_window": family["max_per_sliding_window"],
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--window-seconds", type=float, default=10.0)
    parser.add_argument("--margin", type=float, default=0.25)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(run_worker(args))))
        return

    import httpx

    from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
    from app.integrations.sandbox.server import SandboxServer

    config = SandboxConfig(
        json_per_minute=args.limit,
        documents_per_minute=args.limit,
        window_seconds=args.window_seconds,
    )
    with SandboxServer(config) as base_url:
        results = start_workers(args, base_url, SANDBOX_TOKEN)
        stats = httpx.get(f"{base_url}/__sandbox/stats").json()
    report = summarize(results, stats, args.limit, args.window_seconds)
    print(
        f"limit {args.limit}/{args.window_seconds:g}s, {args.processes} processes, "
        f"margin {args.margin:g}s"
    )
    for key, value in report.items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
