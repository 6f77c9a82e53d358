"""Sweep N suppliers against the sandbox at a given limit and print the figures.

    .venv/bin/python bench/sweep.py --suppliers 10000 --json-limit 500 --documents-limit 100 \
        --window 1 [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

The sandbox runs in its own process with the same limits (fixed windows of `--window` seconds,
instead of the real 60 s, so the run takes minutes); the engine runs in this process exactly as
`vigie sweep` does (in-process runner, shared limiter, archive, call log). Prints: total time vs
the rate-limit bound (calls per family / limit × window), 429s received (goal: 0), peak memory
of this process, and the time to recompute every status from the database.
"""

import argparse
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.integrations.sandbox import SANDBOX_TOKEN  # noqa: E402


def luhn(prefix: str) -> str:
    for digit in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(prefix + digit)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return prefix + digit
    raise AssertionError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(
    port: int, json_limit: int, doc_limit: int, window: float
) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn\n"
        "from app.integrations.sandbox import SandboxConfig, create_sandbox_app\n"
        f"cfg = SandboxConfig(json_per_minute={json_limit}, documents_per_minute={doc_limit}, "
        f"window_seconds={window})\n"
        f"uvicorn.run(create_sandbox_app(cfg), host='127.0.0.1', port={port}, "
        "log_level='warning', access_log=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/__sandbox/stats", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("sandbox did not start")


async def seed(rt, n: int) -> None:  # type: ignore[no-untyped-def]
    from app.buyers.models import Buyer
    from app.contracts.models import Contract, ContractHolder
    from app.suppliers.models import Supplier

    rng = random.Random(42)
    sirens: set[str] = set()
    while len(sirens) < n:
        sirens.add(luhn(f"{rng.randrange(1, 10)}{rng.randrange(10**7):07d}"))
    async with rt.sessionmaker() as session:
        buyer = Buyer(siret=luhn("21750001600" + "01"), name="Bench")
        session.add(buyer)
        await session.flush()
        for i, siren in enumerate(sorted(sirens)):
            if i % 50 == 0:  # 50 holders per contract
                contract = Contract(
                    buyer_id=buyer.id,
                    reference=f"BENCH-{i // 50}",
                    object="Bench",
                    amount_ht=Decimal(50000),
                    notified_on=date.today() - timedelta(days=5),
                    ends_on=date.today() + timedelta(days=700),
                    content_hash=uuid.uuid4().hex,
                )
                session.add(contract)
                await session.flush()
            supplier = Supplier(siren=siren)
            session.add(supplier)
            await session.flush()
            session.add(ContractHolder(contract_id=contract.id, supplier_id=supplier.id))
        await session.commit()


async def run(args: argparse.Namespace) -> None:
    from app.compliance.cli import sweep
    from app.compliance.planner import sync_pairs
    from app.migrate import upgrade
    from app.runtime import build_runtime

    tmp = Path(tempfile.mkdtemp(prefix="vigie-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    admin = None
    if url.startswith("postgres"):
        from tests.conftest import create_pg_database

        admin, url = url, await asyncio.to_thread(create_pg_database, url)
    await asyncio.to_thread(upgrade, url)
    port = free_port()
    sandbox = start_sandbox(port, args.json_limit, args.documents_limit, args.window)
    settings = Settings(
        environment="development",
        database_url=url,
        redis_url=None,
        api_entreprise={
            "base_url": f"http://127.0.0.1:{port}",
            "token": SANDBOX_TOKEN,
            "json_per_minute": args.json_limit,
            "documents_per_minute": args.documents_limit,
            "rate_window_seconds": args.window,
            "rate_margin_seconds": args.margin,
            "max_wait_seconds": 120,
        },
        archive={"dir": tmp / "archive", "key_file": tmp / "keys.json"},
        jobs={"max_jobs": args.concurrency, "short_retry_seconds": 3600, "max_tries": 20},
    )
    rt = await build_runtime(settings, in_process=True, periodic=False)
    try:
        t0 = time.perf_counter()
        await seed(rt, args.suppliers)
        print(
            f"seeded {args.suppliers} suppliers in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})"
        )
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                print(f"  {done}/{total} suppliers", flush=True)

        report = await sweep(rt, on_progress=progress, batch=args.concurrency * 4)
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"http://127.0.0.1:{port}/__sandbox/stats")).json()
        t1 = time.perf_counter()
        async with rt.sessionmaker() as session:
            await sync_pairs(session, None, policy=rt.compliance.policy)
            await session.rollback()
        recompute = time.perf_counter() - t1
    finally:
        await rt.aclose()
        sandbox.terminate()
        if admin:
            from tests.conftest import drop_pg_database

            await asyncio.to_thread(drop_pg_database, admin, url)
    requests = stats["requests"]
    docs_calls = sum(v for k, v in requests.items() if _is_document(k))
    json_calls = stats["total_requests"] - docs_calls
    span = args.window + args.margin
    bound = max(json_calls / args.json_limit, docs_calls / args.documents_limit) * span
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"suppliers checked          {report['suppliers']}")
    print(
        f"calls (json / documents)   {json_calls} / {docs_calls}  (sandbox total {stats['total_requests']})"
    )
    print(
        f"limits per {args.window:g}s window      {args.json_limit} json, {args.documents_limit} documents"
    )
    print(f"total time                 {report['seconds']:.1f} s")
    print(f"rate-limit bound           {bound:.1f} s  (ratio {report['seconds'] / bound:.2f})")
    print(f"429 received               {stats['rate_limited']}")
    # The budget actually used: calls over (limit x windows the run opened). Counting the run's
    # length in full windows instead reads 0.83 when the last window's calls all go out at its
    # start (every window was full: 1.00).
    for family, line in budget_use(stats["windows"]).items():
        print(f"budget used ({family:9s})    {line}")
    print(f"peak memory (this process) {peak_mb:.0f} MiB")
    print(f"recompute every status     {recompute:.2f} s")


def budget_use(windows: list[dict]) -> dict[str, str]:  # type: ignore[type-arg]
    """Per family: each window's count, and calls / (limit x windows used)."""
    out = {}
    for family in sorted({w["family"] for w in windows}):
        mine = sorted((w for w in windows if w["family"] == family), key=lambda w: w["start"])
        calls = sum(w["count"] for w in mine)
        room = sum(w["limit"] for w in mine)
        counts = " ".join(str(w["count"]) for w in mine)
        if len(mine) > 12:
            counts = (
                " ".join(str(w["count"]) for w in mine[:6])
                + " … "
                + " ".join(str(w["count"]) for w in mine[-3:])
            )
        out[family] = (
            f"{calls / room:.2f} over {len(mine)} windows ({counts}; limit {mine[0]['limit']})"
        )
    return out


def _is_document(name: str) -> bool:
    return any(
        k in name
        for k in (
            "urssaf",
            "dgfip",
            "fntp",
            "qualibat",
            "cnetp",
            "cibtp",
            "probtp_attestation",
            "/files/",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--json-limit", type=int, default=500)
    parser.add_argument("--documents-limit", type=int, default=100)
    parser.add_argument("--window", type=float, default=1.0, help="seconds (API Entreprise: 60)")
    parser.add_argument("--margin", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
