"""The seam to the queue: arq over Redis when REDIS_URL is set, an in-process runner otherwise.

Both run the same job functions (`workers.checks`), `async def job(ctx, *args)`, with the same
contract: deterministic job ids (no duplicate while one is queued or running), `defer_by`,
`arq.worker.Retry(defer=…)` for transient trouble, `max_tries`. Jobs are enqueued only after the
unit of work that created their rows has committed (`app.deps.after_commit`).
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from arq.connections import ArqRedis
from arq.worker import Retry

log = logging.getLogger("vigie.jobs")

JobFunction = Callable[..., Awaitable[Any]]


class JobQueue(Protocol):
    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: float = 0.0
    ) -> bool:
        """Queue `function(ctx, *args)`; False when a job with this id is already queued/running."""
        ...

    async def aclose(self) -> None: ...


class ArqJobQueue:
    """Enqueue into arq (the worker process runs the jobs; see workers/main.py)."""

    def __init__(self, pool: ArqRedis, queue_name: str, *, owns_pool: bool = False) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self.owns_pool = owns_pool

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

    async def aclose(self) -> None:
        if self.owns_pool:
            await self.pool.aclose()


class InProcessRunner:
    """Embedded mode: jobs run as asyncio tasks of the API process, `tick` on a timer.

    `ctx` is shared like arq's (`ctx["runtime"]`); each run gets `job_id` and `job_try`.
    """

    def __init__(
        self,
        functions: Mapping[str, JobFunction],
        ctx: dict[str, Any],
        *,
        max_jobs: int = 20,
        max_tries: int = 5,
        tick: str | None = None,
        tick_seconds: float = 60.0,
    ) -> None:
        self.functions = functions
        self.ctx = ctx
        self.max_tries = max_tries
        self.tick_name = tick
        self.tick_seconds = tick_seconds
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
                    except Retry as retry:
                        defer = (retry.defer_score or 0) / 1000
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

    async def run_tick(self) -> None:
        if self.tick_name:
            await self.functions[self.tick_name]({**self.ctx, "job_id": "tick", "job_try": 1})

    async def _timer_loop(self) -> None:
        while True:
            try:
                await self.run_tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("tick failed")
            await asyncio.sleep(self.tick_seconds)

    def start(self, *, tick: bool = True) -> None:
        """Run jobs (those held so far first) and, with `tick`, the planner's timer (its first
        tick runs at once)."""
        self._started = True
        held, self._held = self._held, {}
        for job_id, (function, args, defer) in held.items():
            self._launch(job_id, function, args, defer)
        if tick and self.tick_name and self._timer is None:
            self._timer = asyncio.create_task(self._timer_loop(), name="vigie-tick")

    async def join(self) -> None:
        """Wait until no job is queued or running (tests, `vigie sweep`)."""
        await self._idle.wait()

    @property
    def pending(self) -> int:
        return len(self._tasks) + len(self._held)

    @property
    def deferred(self) -> int:
        """Jobs waiting for their (re)try time, e.g. a short upstream retry."""
        return len(self._deferred)

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop the timer; let running jobs finish for `grace` seconds, then cancel them.

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
