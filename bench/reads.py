"""The read paths at the size of a region, each beside its anchor, in the same run.

    .venv/bin/python bench/reads.py [--suppliers 10000] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/0]

Seeds a fresh PostgreSQL database (bench/seed.py: one buyer, 10,000 suppliers, 200 contracts of
50 holders, ~30,000 requirement rows), then serves Vigie with uvicorn (`--workers` processes) and
a bare FastAPI anchor that answers `GET /v1/suppliers/{siren}/compliance` with the same JSON
(one dict, no database, no key). Prints:
- max req/s of both (wrk, 32 connections, one process each) and their ratio (goal ≥ 0.35);
- p50/p99 at a fixed rate (open loop, httpx over real TCP; goal p99 < 25 ms with 2 workers);
- `POST /v1/compliance/lookup` of 1,000 SIRENs: p50 (goal < 100 ms);
- the gaps CSV: time, rows and the server's peak memory growth while it streams (goal < 1 s).
The machine is shared: the load (`uptime`) is printed with the figures; only ratios hold.
"""

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
ANCHOR = """
import json, sys
from fastapi import FastAPI
BODY = json.load(open(sys.argv[1]))
app = FastAPI()

@app.get("/v1/suppliers/{siren}/compliance")
async def compliance(siren: str) -> dict:
    return BODY
"""
WRK_SCRIPT = """
sirens = {%s}
request = function()
  local s = sirens[math.random(#sirens)]
  return wrk.format("GET", "/v1/suppliers/" .. s .. "/compliance")
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited ({proc.returncode})")
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def wrk(port: int, key: str | None, script: Path, seconds: int, connections: int) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


async def closed_loop(port: int, key: str | None, sirens: list[str], seconds: float) -> float:
    """Without wrk: as many requests as 32 connections carry (the client shares the CPU)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    done = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:

        async def worker(i: int) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                r = await http.get(f"/v1/suppliers/{sirens[(i + done) % len(sirens)]}/compliance")
                r.raise_for_status()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(32)))
    return done / (time.perf_counter() - started)


async def fixed_rate(
    port: int, key: str | None, sirens: list[str], rate: int, seconds: float
) -> tuple[float, float]:
    """Open loop: one request every 1/rate s whatever the answers; latency from its start."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    latencies: list[float] = []
    errors: list[int] = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=30
    ) as http:
        for s in sirens[:50]:  # warm the connections and the server
            (await http.get(f"/v1/suppliers/{s}/compliance")).raise_for_status()

        async def one(siren: str) -> None:
            t = time.perf_counter()
            try:
                r = await http.get(f"/v1/suppliers/{siren}/compliance")
            except httpx.TransportError:  # a kept-alive connection the server closed: counted
                errors.append(1)
                return
            r.raise_for_status()
            latencies.append(time.perf_counter() - t)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(sirens[i % len(sirens)])))
        await asyncio.gather(*tasks)
    latencies.sort()
    if errors:
        print(f"  ({len(errors)} of {len(latencies) + len(errors)} requests lost their connection)")
    return latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000


async def lookups(port: int, key: str, sirens: list[str], times: int) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {key}"}
    spent = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
    ) as http:
        for i in range(times + 2):
            batch = sirens[(i * 1000) % len(sirens) :][:1000]
            t = time.perf_counter()
            r = await http.post("/v1/compliance/lookup", json={"sirens": batch})
            r.raise_for_status()
            if i >= 2:  # the first two warm the server
                spent.append(time.perf_counter() - t)
    return statistics.median(spent) * 1000, len(r.json()["results"])


def gaps_csv(port: int, key: str, server: psutil.Process) -> tuple[float, int, float]:
    """Seconds, data rows, and the server's peak RSS growth (MiB) while the CSV streams."""
    procs = [server, *server.children(recursive=True)]
    base = sum(p.memory_info().rss for p in procs)
    peak = base
    rows = 0
    t = time.perf_counter()
    with httpx.stream(
        "GET",
        f"http://127.0.0.1:{port}/v1/gaps?format=csv",
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\r\n")
            peak = max(peak, sum(p.memory_info().rss for p in procs))
    spent = time.perf_counter() - t
    return spent, rows - 1, (peak - base) / 2**20


async def prepare(url: str, suppliers: int) -> tuple[str, list[str]]:
    from app.compliance.evaluation import policy_from
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, unit_of_work
    from app.keys.models import Role
    from app.keys.service import create_key
    from app.migrate import upgrade
    from bench.seed import analyze, seed_region

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    t = time.perf_counter()
    seeded = await seed_region(engine, policy_from(Settings()), suppliers=suppliers)
    await analyze(engine)
    print(f"seeded {suppliers} suppliers, {seeded.states} rows in {time.perf_counter() - t:.1f} s")
    async with unit_of_work(make_sessionmaker(engine)) as session:
        issued = await create_key(session, role=Role.OFFICER, buyer_id=seeded.buyer_id)
    await engine.dispose()
    return issued.key, seeded.sirens


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--seconds", type=int, default=8, help="per throughput measure")
    parser.add_argument("--rate", type=int, default=200, help="fixed rate, requests/s")
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn processes at the fixed rate"
    )
    parser.add_argument("--lookups", type=int, default=15)
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""), help="off by default"
    )
    args = parser.parse_args()

    from tests.conftest import create_pg_database, drop_pg_database

    workdir = Path(tempfile.mkdtemp(prefix="vigie-reads-"))
    url = create_pg_database(args.database_url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        key, sirens = asyncio.run(prepare(url, args.suppliers))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "ENVIRONMENT": "development",
            "JOBS__AUTOSTART": "false",
            "DEMO": "false",
            "LOG_LEVEL": "WARNING",
            "ARCHIVE__DIR": str(workdir / "archive"),
            "ARCHIVE__KEY_FILE": str(workdir / "keys.json"),
            # Counted as in production, but above what one key sends here (the default 1,200 a
            # minute would answer 429 to most of the load).
            "RATE_LIMIT__PER_KEY_PER_MINUTE": "100000000",
        }
        env.pop("REDIS_URL", None)
        if args.redis_url:  # the shared rate-limit count and key-cache marker, as in production
            env["REDIS_URL"] = args.redis_url

        def serve(workers: int) -> tuple[int, subprocess.Popen[bytes]]:
            port = free_port()
            cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
            cmd += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
            cmd += ["--workers", str(workers)]
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
            procs.append(proc)
            wait_up(port, proc)
            return port, proc

        def stop(proc: subprocess.Popen[bytes]) -> None:
            os.killpg(proc.pid, signal.SIGTERM)  # uvicorn and its worker processes
            proc.wait(timeout=30)

        vigie_port, vigie = serve(1)
        sample = httpx.get(
            f"http://127.0.0.1:{vigie_port}/v1/suppliers/{sirens[0]}/compliance",
            headers={"Authorization": f"Bearer {key}"},
        )
        sample.raise_for_status()
        (workdir / "body.json").write_bytes(sample.content)
        anchor_port = free_port()
        (workdir / "anchor.py").write_text(
            ANCHOR + f"\nimport uvicorn\nuvicorn.run(app, port={anchor_port}, log_level='warning', "
            "access_log=False)\n"
        )
        anchor = subprocess.Popen(
            [sys.executable, str(workdir / "anchor.py"), str(workdir / "body.json")],
            cwd=ROOT,
            start_new_session=True,
        )
        procs.append(anchor)
        wait_up(anchor_port, anchor)

        script = workdir / "sirens.lua"
        script.write_text(WRK_SCRIPT % ", ".join(f'"{s}"' for s in sirens[:2000]))
        print(f"load before: {load()}  (cores: {os.cpu_count()})")
        if shutil.which("wrk"):
            wrk(anchor_port, None, script, 2, 32)  # warm-up
            wrk(vigie_port, key, script, 2, 32)
            anchor_rps = wrk(anchor_port, None, script, args.seconds, 32)
            vigie_rps = wrk(vigie_port, key, script, args.seconds, 32)
            tool = "wrk -t1 -c32"
        else:
            anchor_rps = asyncio.run(closed_loop(anchor_port, None, sirens, args.seconds))
            vigie_rps = asyncio.run(closed_loop(vigie_port, key, sirens, args.seconds))
            tool = "httpx, 32 connections"
        print(f"supplier compliance, 1 process, max req/s ({tool}); load {load()}")
        print(f"  anchor (bare FastAPI, same JSON) {anchor_rps:8.0f} req/s")
        print(f"  vigie                            {vigie_rps:8.0f} req/s")
        print(f"  ratio                            {vigie_rps / anchor_rps:8.2f}   (goal >= 0.35)")

        p50, _ = asyncio.run(lookups(vigie_port, key, sirens, args.lookups))
        print(f"lookup of 1,000 SIRENs: p50 {p50:.0f} ms over {args.lookups} calls (goal < 100 ms)")
        seconds, rows, grown = gaps_csv(vigie_port, key, psutil.Process(vigie.pid))
        print(
            f"gaps CSV: {rows} rows in {seconds:.2f} s, server peak memory +{grown:.1f} MiB "
            "while streaming (goal < 1 s)"
        )
        stop(vigie)

        a50, a99 = asyncio.run(fixed_rate(anchor_port, None, sirens, args.rate, args.seconds))
        stop(anchor)
        port, multi = serve(args.workers)
        v50, v99 = asyncio.run(fixed_rate(port, key, sirens, args.rate, args.seconds))
        stop(multi)
        print(f"at {args.rate} req/s for {args.seconds} s (httpx, open loop); load {load()}")
        print(f"  anchor (1 process)    p50 {a50:6.1f} ms   p99 {a99:6.1f} ms")
        print(
            f"  vigie ({args.workers} workers)     p50 {v50:6.1f} ms   p99 {v99:6.1f} ms   (goal p99 < 25 ms)"
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        drop_pg_database(args.database_url, url)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
