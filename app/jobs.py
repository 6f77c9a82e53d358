"""The seam to the queue: arq over Redis when REDIS_URL is set, an in-process runner otherwise.

The domain knows only what is here: `enqueue_after_commit` (a job leaves once its unit of work
has committed, and never after a rollback), `RetryLater(after=…)` (transient trouble: run me
again in `after` seconds) and the `JobQueue` protocol. arq is imported here and in `workers/`
only: `arq_job` wraps a domain job so arq sees its own `Retry`, and the in-process runner handles
`RetryLater` itself. Both honour the same contract: `async def job(ctx, *args)` with ids and
primitives as arguments, JSON on the wire (never pickle), deterministic job ids (no duplicate
while one is queued or running), `defer_by`, and `max_tries` counted by the queue, not the job.
"""

import asyncio
import functools
import json
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:  # arq loads only in the processes that talk to it (the API, the worker)
    from arq.connections import ArqRedis

log = logging.getLogger("vigie.jobs")

JobFunction = Callable[..., Awaitable[Any]]
PENDING_KEY = "vigie.pending_jobs"


class RetryLater(Exception):
    """Raised by a job for transient trouble: run it again in `after` seconds (same job id)."""

    def __init__(self, after: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {after:.1f}s")
        self.after = max(0.0, float(after))


# --- the wire format ----------------------------------------------------------------------------


def serialize_job(obj: Any) -> bytes:
    """Jobs carry ids and primitives only: JSON, so nothing executable crosses Redis."""
    return json.dumps(obj, separators=(",", ":")).encode()


def deserialize_job(data: bytes) -> Any:
    return json.loads(data)


# --- jobs sent after commit ---------------------------------------------------------------------


@dataclass(frozen=True)
class PendingJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None = None
    defer_by: float = 0.0


def enqueue_after_commit(
    session: AsyncSession,
    function: str,
    *args: Any,
    job_id: str | None = None,
    defer_by: float = 0.0,
) -> None:
    """Send `function(*args)` once this session's unit of work has committed (`app.db`); a
    rollback drops it. A fast worker never looks for rows that are not there yet."""
    session.info.setdefault(PENDING_KEY, []).append(PendingJob(function, args, job_id, defer_by))


def take_pending(session: AsyncSession) -> list[PendingJob]:
    pending: list[PendingJob] = session.info.pop(PENDING_KEY, [])
    return pending


class JobQueue(Protocol):
    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: float = 0.0
    ) -> bool:
        """Queue `function(ctx, *args)`; False when a job with this id is already queued/running."""
        ...

    async def ready(self) -> bool:
        """Can a job be queued now? (An enqueue-only route answers 503 when it cannot.)"""
        ...

    async def in_flight(self, job_ids: Collection[str]) -> set[str]:
        """Those of `job_ids` the queue holds (queued, deferred or running): the reconciler
        hands out again the claimed rows whose job is gone (a flushed Redis, a restart).
        Raises when the queue cannot tell (unreachable): nothing is assumed lost then."""
        ...

    async def aclose(self) -> None: ...


async def send_pending(queue: JobQueue, pending: list[PendingJob]) -> int:
    """Send the jobs of a committed unit of work. The queue down (Redis lost) loses no work: the
    rows are in the database, claimed with a lease or still due, and the tick and the hourly
    planning pass hand them out again once it is back — so the commit stands, with a warning."""
    sent = 0
    for i, job in enumerate(pending):
        try:
            queued = await queue.enqueue(
                job.function, *job.args, job_id=job.job_id, defer_by=job.defer_by
            )
        except Exception as exc:  # the queue, not the work: the database remembers what is due
            log.warning(
                "queue unavailable (%s): %d job(s) left to the reconciler",
                type(exc).__name__,
                len(pending) - i,
            )
            return sent
        sent += int(queued)
    return sent


# --- arq ----------------------------------------------------------------------------------------


class ArqJobQueue:
    """Enqueue into arq (the worker process runs the jobs; see workers/main.py)."""

    def __init__(self, pool: "ArqRedis", queue_name: str, *, owns_pool: bool = False) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self.owns_pool = owns_pool

    @classmethod
    async def connect(cls, redis_url: str, queue_name: str) -> "ArqJobQueue":
        """A pool that connects on first use: the API starts while Redis is down (it answers
        `/healthz` with 503 and recovers by itself once Redis is back)."""
        from arq.connections import ArqRedis

        pool = ArqRedis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        pool.job_serializer = serialize_job
        pool.job_deserializer = deserialize_job
        pool.default_queue_name = queue_name
        return cls(pool, queue_name, owns_pool=True)

    async def ready(self) -> bool:
        """Can a job be queued now? (Redis answers.)"""
        try:
            return bool(await asyncio.wait_for(self.pool.ping(), 3))
        except Exception:
            return False

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: float = 0.0
    ) -> bool:
        job = await self.pool.enqueue_job(
            function,
            *args,
            _job_id=job_id,
            _queue_name=self.queue_name,
            _defer_by=defer_by if defer_by > 0 else None,
        )
        return job is not None

    async def in_flight(self, job_ids: Collection[str]) -> set[str]:
        """arq keeps `arq:job:<id>` from enqueue to the end (retries included) and
        `arq:in-progress:<id>` while a worker runs it; either means the job is not lost."""
        from arq.constants import in_progress_key_prefix, job_key_prefix

        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return set()
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
            counts = await asyncio.wait_for(pipe.execute(), 10)
        return {job_id for job_id, count in zip(ids, counts, strict=True) if count}

    async def depth(self) -> int:
        """Jobs waiting (queued or deferred) or running: the `vigie_queue_depth` gauge."""
        return int(await self.pool.zcard(self.queue_name))

    async def aclose(self) -> None:
        if self.owns_pool:
            await self.pool.aclose()


def arq_job(function: JobFunction) -> JobFunction:
    """The same job for arq: `RetryLater` becomes arq's `Retry(defer=…)` (arq counts the tries)."""
    from arq.worker import Retry

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any) -> Any:
        try:
            return await function(ctx, *args)
        except RetryLater as later:
            raise Retry(defer=later.after) from later

    return run


# --- in process ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Periodic:
    """A job the in-process runner starts on a clock, like an arq cron job: every `seconds`,
    or at minute 0 of every hour (`hourly`); both also run once at start."""

    function: str
    seconds: float = 60.0
    hourly: bool = False


class InProcessRunner:
    """Embedded mode: jobs run as asyncio tasks of this process, periodic ones on a timer.

    `ctx` is shared like arq's; each run gets `job_id` and `job_try`. A job that raises
    `RetryLater` runs again after its delay, up to `max_tries`; the database's leases take over
    after that (the row is reclaimed by the next tick once its lease is over).
    """

    def __init__(
        self,
        functions: Mapping[str, JobFunction],
        ctx: dict[str, Any],
        *,
        max_jobs: int = 20,
        max_tries: int = 5,
        periodic: tuple[Periodic, ...] = (),
    ) -> None:
        self.functions = functions
        self.ctx = ctx
        self.max_tries = max_tries
        self.periodic = periodic
        self._slots = asyncio.Semaphore(max_jobs)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._held: dict[str, tuple[str, tuple[Any, ...], float]] = {}
        self._deferred: set[str] = set()  # jobs sleeping until their (re)try time
        self._started = False
        self.completed = 0
        self.failed = 0

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: float = 0.0
    ) -> bool:
        if function not in self.functions:
            raise KeyError(f"unknown job function {function!r}")
        deserialize_job(serialize_job(list(args)))  # the same wire rules as arq: JSON or nothing
        job_id = job_id or f"{function}:{random.getrandbits(64):016x}"
        if job_id in self._tasks or job_id in self._held:
            return False
        if not self._started:  # held until start(): nothing runs behind a paused runner
            self._held[job_id] = (function, args, defer_by)
            return True
        self._launch(job_id, function, args, defer_by)
        return True

    def _launch(self, job_id: str, function: str, args: tuple[Any, ...], defer: float) -> None:
        self._idle.clear()
        task = asyncio.create_task(self._run(job_id, function, args, defer), name=job_id)
        self._tasks[job_id] = task

    async def _run(self, job_id: str, function: str, args: tuple[Any, ...], defer: float) -> None:
        try:
            for job_try in range(1, self.max_tries + 1):
                if defer > 0:
                    self._deferred.add(job_id)
                    try:
                        await asyncio.sleep(defer)
                    finally:
                        self._deferred.discard(job_id)
                async with self._slots:
                    ctx = {**self.ctx, "job_id": job_id, "job_try": job_try}
                    try:
                        await self.functions[function](ctx, *args)
                    except RetryLater as later:
                        defer = later.after
                        log.info("job %s: retry %d in %.1fs", job_id, job_try, defer)
                        continue
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        self.failed += 1
                        log.exception("job %s failed", job_id)
                        return
                self.completed += 1
                return
            self.failed += 1
            log.warning("job %s: gave up after %d tries", job_id, self.max_tries)
        finally:
            self._tasks.pop(job_id, None)
            if not self._tasks:
                self._idle.set()

    async def run_periodic(self, function: str) -> Any:
        """Run one periodic job now, in the caller's task (tests, `vigie sweep`)."""
        ctx = {**self.ctx, "job_id": f"cron:{function}", "job_try": 1}
        return await self.functions[function](ctx)

    async def _timer_loop(self) -> None:
        last_run: dict[str, float] = {}
        last_hour: dict[str, tuple[int, int, int, int]] = {}
        loop = asyncio.get_running_loop()
        while True:
            now, hour = loop.time(), datetime.now(UTC).timetuple()[:4]
            for job in self.periodic:  # in order: the hourly planning pass before the tick
                if job.hourly:
                    due = last_hour.get(job.function) != hour
                else:
                    due = now - last_run.get(job.function, -1e18) >= job.seconds
                if not due:
                    continue
                last_run[job.function], last_hour[job.function] = now, hour
                try:
                    await self.run_periodic(job.function)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s failed", job.function)
            await asyncio.sleep(min([1.0, *(j.seconds for j in self.periodic if not j.hourly)]))

    def start(self, *, periodic: bool = True) -> None:
        """Run jobs (those held so far first) and, with `periodic`, the clock (its jobs run once
        at once, the hourly ones first)."""
        self._started = True
        held, self._held = self._held, {}
        for job_id, (function, args, defer) in held.items():
            self._launch(job_id, function, args, defer)
        if periodic and self.periodic and self._timer is None:
            self._timer = asyncio.create_task(self._timer_loop(), name="vigie-periodic")

    async def join(self) -> None:
        """Wait until no job is queued or running (tests, `vigie sweep`)."""
        await self._idle.wait()

    async def ready(self) -> bool:
        return True

    async def in_flight(self, job_ids: Collection[str]) -> set[str]:
        """The jobs this process holds, runs or waits to retry (a restart forgets them all)."""
        return {j for j in job_ids if j in self._tasks or j in self._held}

    async def depth(self) -> int:
        return self.pending

    @property
    def pending(self) -> int:
        return len(self._tasks) + len(self._held)

    @property
    def deferred(self) -> int:
        """Jobs waiting for their (re)try time, e.g. a short upstream retry."""
        return len(self._deferred)

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop the clock; let running jobs finish for `grace` seconds, then cancel them.

        A cancelled job leaves its rows `queued`/`running`: the reconciler of the next start
        hands them out again once their lease is over.
        """
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        tasks = list(self._tasks.values())
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
