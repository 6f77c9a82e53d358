"""The import job: an id in, the import service out. Registered beside the engine's jobs in
`workers/main.py` (arq) and `app/runtime.py` (the in-process runner)."""

import uuid
from typing import Any

from app.compliance.context import ComplianceContext
from app.imports import service

# arq runs an import under JOBS__JOB_TIMEOUT_SECONDS like every job (see workers/main.py: one
# function with a longer timeout would make every job a killed worker held wait that long).


async def run_import(ctx: dict[str, Any], import_id: str) -> dict[str, Any] | None:
    """Import the file stored with the import `import_id` (job id: import:{id})."""
    compliance: ComplianceContext = ctx["compliance"]
    return await service.run_import(compliance, uuid.UUID(import_id))


async def resume_imports_job(ctx: dict[str, Any]) -> int:
    """Every few minutes (and at start): imports whose job was lost are sent again."""
    compliance: ComplianceContext = ctx["compliance"]
    return await service.resume_imports(compliance)


RESUME_SECONDS = 300
JOBS = (run_import,)  # queued jobs
FUNCTIONS = {f.__name__: f for f in (*JOBS, resume_imports_job)}
