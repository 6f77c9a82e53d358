"""The arq worker: `arq workers.main.WorkerSettings` (or `python -m workers.main [--burst]`).

Components are built once per process by `app.runtime.build_runtime` (the same as the API's);
jobs are JSON-serialised (ids and primitives only, never pickle); the cron tick runs every
minute on one worker at a time (arq's cron job ids are unique per run time).
"""

import json
import logging
import sys
from typing import Any

from arq import cron
from arq.connections import RedisSettings

from app.config import get_settings
from app.runtime import build_runtime
from workers.checks import plan_contract, run_supplier_check, tick_job

log = logging.getLogger("vigie.worker")


def job_serializer(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def job_deserializer(data: bytes) -> Any:
    return json.loads(data)


async def startup(ctx: dict[str, Any]) -> None:
    ctx["runtime"] = await build_runtime(get_settings(), arq_pool=ctx["redis"], in_process=False)
    log.info("worker ready on queue %s", get_settings().jobs.queue_name)


async def shutdown(ctx: dict[str, Any]) -> None:
    runtime = ctx.get("runtime")
    if runtime is not None:
        await runtime.aclose()


_settings = get_settings()


class WorkerSettings:
    functions = [run_supplier_check, plan_contract, tick_job]
    cron_jobs = [cron(tick_job, second=0, run_at_startup=True)]
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = job_serializer
    job_deserializer = job_deserializer
    redis_settings = RedisSettings.from_dsn(_settings.redis_url or "redis://127.0.0.1:6379/0")
    queue_name = _settings.jobs.queue_name
    health_check_key = f"{_settings.jobs.queue_name}:health-check"
    health_check_interval = 30
    max_jobs = _settings.jobs.max_jobs
    max_tries = _settings.jobs.max_tries
    job_timeout = _settings.jobs.job_timeout_seconds
    keep_result = 0  # a deterministic id can be enqueued again once its job has finished
    allow_abort_jobs = False


def main(argv: list[str]) -> None:
    from arq import run_worker

    logging.basicConfig(level=_settings.log_level)
    run_worker(WorkerSettings, burst="--burst" in argv)  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1:])
