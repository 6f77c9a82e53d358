"""The components of one process, built the same way by the API's lifespan, the arq worker's
startup and the CLI: engine and sessions, Redis, the API Entreprise client (against the
in-process sandbox when no API_ENTREPRISE__BASE_URL is set), the evidence archive, the job queue
(arq when REDIS_URL is set, the in-process runner otherwise)."""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.compliance.evaluation import policy_from
from app.compliance.rules import CompliancePolicy
from app.config import Settings
from app.db import SessionMaker, is_sqlite, make_engine, make_sessionmaker
from app.documents.archive import Archive
from app.integrations.api_entreprise import ApiEntrepriseClient, build_client, build_limiter
from app.jobs import ArqJobQueue, InProcessRunner, JobQueue

log = logging.getLogger("vigie")
FULL_PLAN_SECONDS = 3600.0


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    redis: Redis | None
    client: ApiEntrepriseClient
    archive: Archive
    policy: CompliancePolicy
    jobs: JobQueue = field(init=False)
    sandbox: Any | None = None  # SandboxServer when the sandbox runs in this process
    # SQLite has one writer and the journal's seq is taken under its write lock: the engine's
    # own write units take turns in this process (PostgreSQL: None, row locks do the work).
    write_lock: asyncio.Lock | None = None
    last_full_plan: float = 0.0  # monotonic time of the last full planning pass

    def should_plan_fully(self, every: float = FULL_PLAN_SECONDS) -> bool:
        """The tick plans every live contract on its first run, then hourly (amendments and new
        contracts are planned at once by their own job; this pass catches anything missed)."""
        now = time.monotonic()
        if self.last_full_plan and now - self.last_full_plan < every:
            return False
        self.last_full_plan = now
        return True

    @property
    def runner(self) -> InProcessRunner | None:
        return self.jobs if isinstance(self.jobs, InProcessRunner) else None

    async def aclose(self) -> None:
        if self.runner is not None:
            await self.runner.aclose()
        else:
            await self.jobs.aclose()
        await self.client.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)
        await self.engine.dispose()


def in_process_runner(runtime: Runtime, *, with_tick: bool) -> InProcessRunner:
    from workers.checks import FUNCTIONS, tick_job

    jobs = runtime.settings.jobs
    return InProcessRunner(
        FUNCTIONS,
        {"runtime": runtime},
        max_jobs=jobs.max_jobs,
        max_tries=jobs.max_tries,
        tick=tick_job.__name__ if with_tick else None,
        tick_seconds=jobs.tick_seconds,
    )


async def build_runtime(
    settings: Settings,
    *,
    arq_pool: Any | None = None,
    in_process: bool | None = None,
    with_tick: bool = True,
    engine: AsyncEngine | None = None,
) -> Runtime:
    """Build every shared component once. `arq_pool`: the worker's own pool (workers/main.py);
    `in_process=True` forces the in-process runner (`vigie sweep`, `vigie check`)."""
    from app.api_calls.service import ApiCallRecorder

    engine = engine or make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    sandbox = None
    base_url, token = settings.api_entreprise.base_url, None
    if not base_url:
        from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, SandboxServer

        ae = settings.api_entreprise
        sandbox = SandboxServer(
            SandboxConfig(
                json_per_minute=ae.json_per_minute,
                documents_per_minute=ae.documents_per_minute,
                window_seconds=ae.rate_window_seconds,
            )
        )
        base_url, token = await asyncio.to_thread(sandbox.start), SANDBOX_TOKEN
        log.info("API Entreprise: in-process sandbox at %s", base_url)
    # The limiter lives beside the queue: every process of a deployment shares both.
    limiter = build_limiter(settings, redis, prefix=f"{settings.jobs.queue_name}:ratelimit")
    client = build_client(
        settings,
        redis,
        ApiCallRecorder(sessionmaker),
        base_url=base_url,
        token=token,
        limiter=limiter,
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        redis=redis,
        client=client,
        archive=Archive.from_settings(settings),
        policy=policy_from(settings),
        sandbox=sandbox,
        write_lock=asyncio.Lock() if is_sqlite(settings.database_url) else None,
    )
    queue = settings.jobs.queue_name
    if in_process or (in_process is None and settings.embedded):
        runtime.jobs = in_process_runner(runtime, with_tick=with_tick)
    elif arq_pool is not None:
        runtime.jobs = ArqJobQueue(arq_pool, queue)
    else:
        from arq import create_pool
        from arq.connections import RedisSettings

        from workers.main import job_serializer

        assert settings.redis_url is not None
        pool = await create_pool(
            RedisSettings.from_dsn(settings.redis_url),
            job_serializer=job_serializer,
            default_queue_name=queue,
        )
        runtime.jobs = ArqJobQueue(pool, queue, owns_pool=True)
    return runtime
