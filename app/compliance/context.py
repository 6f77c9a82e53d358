"""What the vigilance engine needs from the process, and nothing more: a transaction factory,
the API Entreprise client, the evidence archive, the job queue, the policy and the pacing.

`app/runtime.py` builds one per process; routes, jobs, the CLI and tests hand it to the engine's
functions (`scheduling`, `checks`), which therefore run the same way everywhere.
"""

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.compliance.rules import CompliancePolicy
from app.config import ApiEntrepriseSettings, JobsSettings
from app.db import SessionMaker, unit_of_work
from app.documents.archive import Archive
from app.integrations.api_entreprise import ApiEntrepriseClient
from app.jobs import JobQueue

# Calls per supplier for the base requirements (INSEE + RCS: JSON; URSSAF + DGFIP: documents).
JSON_PER_PAIR, DOCUMENTS_PER_PAIR = 2, 2


@dataclass
class ComplianceContext:
    sessionmaker: SessionMaker
    client: ApiEntrepriseClient
    archive: Archive
    jobs: JobQueue
    policy: CompliancePolicy
    limits: JobsSettings
    upstream: ApiEntrepriseSettings
    # SQLite has one writer and the journal's seq is taken under its write lock: the engine's
    # own write units take turns in this process (PostgreSQL: None, row locks do the work).
    write_lock: asyncio.Lock | None = None
    # The client talks to the built-in sandbox: what it archives is marked as invented data.
    sandbox: bool = False

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One unit of work of the engine: committed at the end, its jobs sent after."""
        return unit_of_work(self.sessionmaker, self.jobs, lock=self.write_lock)

    @property
    def seconds_per_pair(self) -> float:
        """How long the rate limits need for one supplier's calls: the spacing of due work."""
        ae = self.upstream
        window = ae.rate_window_seconds + ae.rate_margin_seconds
        return max(
            JSON_PER_PAIR * window / ae.json_per_minute,
            DOCUMENTS_PER_PAIR * window / ae.documents_per_minute,
        )

    @property
    def tick_capacity(self) -> int:
        """Pairs one tick hands out: what the limits absorb until the next tick, plus 10 %."""
        return max(1, int(self.limits.tick_seconds / self.seconds_per_pair * 1.1))
