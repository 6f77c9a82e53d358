"""The composition root: the components of one process, built the same way by the API's
lifespan, the arq worker's startup and the CLI — engine and sessions, Redis, the API Entreprise
client (against the in-process sandbox when no API_ENTREPRISE__BASE_URL is set), the evidence
archive, the job queue (arq when REDIS_URL is set, the in-process runner otherwise) — and the
narrow contexts the domain takes from them (`ComplianceContext`).

Imported only by `app/main.py`, `workers/` and the CLI: the domain never sees a Runtime.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api_calls.service import ApiCallRecorder
from app.buyers.tokens import warn_if_platform_token_expiring
from app.compliance.context import ComplianceContext
from app.compliance.evaluation import policy_from
from app.compliance.tasks import FUNCTIONS, plan_all_job, tick_job
from app.config import Settings
from app.db import SessionMaker, is_sqlite, make_engine, make_sessionmaker
from app.documents.archive import Archive
from app.events.tasks import DISPATCH_SECONDS, dispatch_webhooks_job, purge_events_job
from app.events.tasks import FUNCTIONS as EVENT_FUNCTIONS
from app.imports.tasks import FUNCTIONS as IMPORT_FUNCTIONS
from app.imports.tasks import RESUME_SECONDS, resume_imports_job
from app.integrations.api_entreprise import ApiEntrepriseClient, build_client, build_limiter
from app.integrations.urssaf import UrssafClient, build_urssaf_client
from app.integrations.webhooks import WebhookSender
from app.jobs import ArqJobQueue, InProcessRunner, JobQueue, Periodic
from app.uploads.tasks import FUNCTIONS as UPLOAD_FUNCTIONS
from app.uploads.tasks import send_reminders_job

log = logging.getLogger("vigie")


class UnsafeConfiguration(RuntimeError):
    """The process must not start with this configuration (one sentence, the variable to set)."""


def refuse_unsafe_production(settings: Settings) -> None:
    """Production never runs on invented data: no built-in sandbox, a real upstream and a token.
    Documents the sandbox served are legal evidence nowhere (the rules ignore them outside
    development); this keeps a production process from creating any."""
    if not settings.is_production:
        return
    if settings.urssaf.sandbox:
        raise UnsafeConfiguration(
            "ENVIRONMENT=production with URSSAF__SANDBOX=true: unset it (production never "
            "verifies security codes against the built-in sandbox)."
        )
    ae = settings.api_entreprise
    if not ae.base_url:
        raise UnsafeConfiguration(
            "ENVIRONMENT=production without API_ENTREPRISE__BASE_URL: set it to "
            "https://entreprise.api.gouv.fr (production never starts the built-in sandbox)."
        )
    if ae.token is None or not ae.token.get_secret_value():
        raise UnsafeConfiguration(
            "ENVIRONMENT=production without API_ENTREPRISE__TOKEN: set the platform's API "
            "Entreprise token (production never calls the upstream without one)."
        )


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    redis: Redis | None
    client: ApiEntrepriseClient
    archive: Archive
    jobs: JobQueue
    webhooks: WebhookSender
    compliance: ComplianceContext = field(init=False)
    sandbox: Any | None = None  # SandboxServer when the sandbox runs in this process
    write_lock: asyncio.Lock | None = None
    urssaf: UrssafClient | None = None  # security-code verification, when configured

    def __post_init__(self) -> None:
        self.compliance = ComplianceContext(
            sessionmaker=self.sessionmaker,
            client=self.client,
            archive=self.archive,
            jobs=self.jobs,
            policy=policy_from(self.settings),
            limits=self.settings.jobs,
            upstream=self.settings.api_entreprise,
            write_lock=self.write_lock,
            sandbox=self.sandbox is not None,
        )

    @property
    def job_context(self) -> dict[str, Any]:
        """What every job finds in its `ctx` (arq's and the in-process runner's alike)."""
        return {"compliance": self.compliance, "webhooks": self.webhooks}

    @property
    def runner(self) -> InProcessRunner | None:
        return self.jobs if isinstance(self.jobs, InProcessRunner) else None

    async def aclose(self) -> None:
        await self.jobs.aclose()
        await self.webhooks.aclose()
        await self.client.aclose()
        if self.urssaf is not None:
            await self.urssaf.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)
        await self.engine.dispose()


def in_process_runner(settings: Settings, *, periodic: bool) -> InProcessRunner:
    """Embedded mode's queue: the same jobs as the arq worker, the same two clocks (the planning
    pass every hour, the tick every `JOBS__TICK_SECONDS`)."""
    jobs = settings.jobs
    clocks = (
        Periodic(plan_all_job.__name__, hourly=True),
        Periodic(tick_job.__name__, seconds=jobs.tick_seconds),
        Periodic(resume_imports_job.__name__, seconds=RESUME_SECONDS),
        Periodic(dispatch_webhooks_job.__name__, seconds=DISPATCH_SECONDS),
        Periodic(purge_events_job.__name__, hourly=True),
        Periodic(send_reminders_job.__name__, hourly=True),
    )
    return InProcessRunner(
        {**FUNCTIONS, **IMPORT_FUNCTIONS, **EVENT_FUNCTIONS, **UPLOAD_FUNCTIONS},
        {},  # filled with the runtime's job context once it exists
        max_jobs=jobs.max_jobs,
        max_tries=jobs.max_tries,
        periodic=clocks if periodic else (),
    )


async def build_runtime(
    settings: Settings,
    *,
    jobs: JobQueue | None = None,
    in_process: bool | None = None,
    periodic: bool = True,
    engine: AsyncEngine | None = None,
    client: ApiEntrepriseClient | None = None,
) -> Runtime:
    """Build every shared component once. `jobs`: a queue made by the caller (the arq worker's
    own pool); `in_process=True` forces the in-process runner (`vigie sweep`, `vigie check`);
    `client`: an API Entreprise client made by the caller (tests), so no sandbox starts.
    Raises `UnsafeConfiguration` for a production configuration that would use invented data."""
    if client is None:
        refuse_unsafe_production(settings)
        warn_if_platform_token_expiring(settings)  # its hash and expiry in the log, never it
    engine = engine or make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    sandbox = None
    if client is None:
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
            # The sandbox keeps no maintenance window: a night-time start must not wait for one.
            upstream = ae.model_copy(update={"maintenance_windows": False})
            settings = settings.model_copy(update={"api_entreprise": upstream})
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
    runner: InProcessRunner | None = None
    if jobs is None:
        if in_process or (in_process is None and settings.embedded):
            jobs = runner = in_process_runner(settings, periodic=periodic)
        else:
            assert settings.redis_url is not None
            jobs = await ArqJobQueue.connect(settings.redis_url, settings.jobs.queue_name)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        redis=redis,
        client=client,
        archive=Archive.from_settings(settings),
        jobs=jobs,
        webhooks=WebhookSender(production=settings.is_production),
        sandbox=sandbox,
        write_lock=asyncio.Lock() if is_sqlite(settings.database_url) else None,
        urssaf=build_urssaf_client(settings.urssaf),
    )
    if runner is not None:
        runner.ctx.update(runtime.job_context)
    return runtime
