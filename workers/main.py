"""The arq worker: `arq workers.main.WorkerSettings` (or `python -m workers.main [--burst]`).

Only wiring: the jobs are the domain's (`app.compliance.tasks`), wrapped so arq sees its own
`Retry`; components are built once per process by `app.runtime.build_runtime` (the same as the
API's); jobs travel as JSON (`app.jobs`). Two cron jobs and no scheduler state in a process: the
tick every minute, the full planning pass at minute 0 of every hour (both also at start; arq's
cron job ids are unique per run time, so one worker of many runs each).
"""

import logging
import sys
from typing import Any, cast

from arq import cron
from arq.connections import RedisSettings
from arq.typing import WorkerCoroutine

from app.compliance.tasks import JOBS, plan_all_job, tick_job
from app.config import get_settings
from app.events.tasks import DISPATCH_SECONDS, dispatch_webhooks_job, purge_events_job
from app.events.tasks import JOBS as EVENT_JOBS
from app.imports.tasks import JOBS as IMPORT_JOBS
from app.imports.tasks import RESUME_SECONDS, resume_imports_job
from app.jobs import ArqJobQueue, arq_job, deserialize_job, serialize_job
from app.runtime import UnsafeConfiguration, build_runtime, refuse_unsafe_production
from app.uploads.tasks import JOBS as UPLOAD_JOBS
from app.uploads.tasks import send_reminders_job

log = logging.getLogger("vigie.worker")
_settings = get_settings()


def _refuse_without_redis() -> None:
    if not _settings.redis_url:
        raise UnsafeConfiguration(
            "REDIS_URL is not set: the arq worker needs the deployment's Redis (without it, "
            "`vigie serve` runs the jobs in its own process)."
        )


async def startup(ctx: dict[str, Any]) -> None:
    _refuse_without_redis()
    queue = ArqJobQueue(ctx["redis"], _settings.jobs.queue_name)
    runtime = await build_runtime(_settings, jobs=queue)
    ctx["runtime"] = runtime
    ctx.update(runtime.job_context)
    log.info("worker ready on queue %s", _settings.jobs.queue_name)


async def shutdown(ctx: dict[str, Any]) -> None:
    runtime = ctx.get("runtime")
    if runtime is not None:
        await runtime.aclose()


class WorkerSettings:
    # Every job shares JOBS__JOB_TIMEOUT_SECONDS: arq keeps a job's in-progress key for the
    # longest timeout of all functions (+10 s), so one long-timeout function would make every
    # check a SIGKILLed worker held wait that long before it runs again (30 min for 1,800 s).
    functions = [*(arq_job(f) for f in JOBS), *(arq_job(f) for f in IMPORT_JOBS)]
    cron_jobs = [
        cron(
            cast(WorkerCoroutine, arq_job(tick_job)),
            name="cron:tick",
            second=0,
            run_at_startup=True,
        ),
        cron(
            cast(WorkerCoroutine, arq_job(plan_all_job)),
            name="cron:plan",
            minute=0,
            second=0,
            run_at_startup=True,
        ),
    ]
    # Webhooks: the due deliveries claimed every few seconds; the feed purged hourly.
    functions += [arq_job(f) for f in EVENT_JOBS]
    cron_jobs += [
        cron(
            cast(WorkerCoroutine, arq_job(dispatch_webhooks_job)),
            name="cron:webhooks",
            second=set(range(0, 60, int(DISPATCH_SECONDS))),
        ),
        cron(
            cast(WorkerCoroutine, arq_job(purge_events_job)),
            name="cron:purge-events",
            minute=30,
            second=0,
        ),
    ]
    # Imports whose job was lost (Redis flushed, a restart) are sent again (the file is stored).
    cron_jobs += [
        cron(
            cast(WorkerCoroutine, arq_job(resume_imports_job)),
            name="cron:imports",
            minute=set(range(0, 60, RESUME_SECONDS // 60)),
            second=30,
            run_at_startup=True,
        )
    ]
    # The contractors' reminder digests (at most one a day per contact, from 8:00 Paris time).
    functions += [arq_job(f) for f in UPLOAD_JOBS]
    cron_jobs += [
        cron(
            cast(WorkerCoroutine, arq_job(send_reminders_job)),
            name="cron:reminders",
            minute=15,
            second=0,
        )
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = serialize_job
    job_deserializer = deserialize_job
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
    try:
        _refuse_without_redis()
        refuse_unsafe_production(_settings)
    except UnsafeConfiguration as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    run_worker(WorkerSettings, burst="--burst" in argv)  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1:])
