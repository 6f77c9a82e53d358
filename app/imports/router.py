"""`POST /v1/imports` and `GET /v1/imports/{id}`: a file in, a job, a report out."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status

from app.deps import ComplianceDep, SessionDep, SettingsDep, require_roles
from app.errors import ServiceUnavailable
from app.imports import service
from app.imports.models import ImportFormat, ImportPublic
from app.keys.models import ApiKey, Role

router = APIRouter(prefix="/v1/imports", tags=["imports"])

ImportCaller = Annotated[ApiKey, Depends(require_roles(Role.ADMIN, Role.OFFICER, Role.ERP))]


async def _read(file: UploadFile) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
        if size > service.MAX_IMPORT_BYTES:
            raise service.FileTooLarge(
                f"Le fichier dépasse {service.MAX_IMPORT_BYTES // (1024 * 1024)} Mo : "
                "découpez-le ou importez-le avec `vigie import`."
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ImportPublic)
async def create_import(
    caller: ImportCaller,
    session: SessionDep,
    settings: SettingsDep,
    compliance: ComplianceDep,
    response: Response,
    file: Annotated[UploadFile, File(description="DECP JSON (2019 or 2024) or `;` CSV")],
    dry_run: Annotated[bool, Form(description="Report what would happen, write nothing")] = False,
    format: Annotated[
        ImportFormat | None, Form(description="decp or csv (detected from the content)")
    ] = None,
) -> ImportPublic:
    """Import a DECP file or an ERP's CSV: 202 with the import's `id`; `GET /v1/imports/{id}`
    gives its state and report once its job has run.

    The file is stored with the import before the answer. An ERP or officer key imports its own
    buyer's records (the others are reported `other_buyer`); an admin key creates unknown
    buyers. 413 `file_too_large`, 422 `unreadable_file` for a format that is not recognised,
    503 `queue_unavailable` while the job queue is unreachable (nothing stored).
    """
    if not await compliance.jobs.ready():
        raise ServiceUnavailable(
            "La file des traitements est momentanément indisponible : réessayez dans une minute "
            "(le fichier n'a pas été enregistré).",
            code="queue_unavailable",
            headers={"Retry-After": "60"},
        )
    content = await _read(file)
    run = await service.create_import(
        session,
        content=content,
        filename=file.filename or "import",
        fmt=format,
        buyer_id=caller.buyer_id if caller.role != Role.ADMIN else None,
        by_key_prefix=caller.prefix,
        dry_run=dry_run,
        threshold=settings.vigilance_threshold_ht,
    )
    response.headers["Location"] = f"/v1/imports/{run.id}"
    return service.to_public(run)


@router.get("/{import_id}", response_model=ImportPublic)
async def get_import(
    import_id: uuid.UUID, caller: ImportCaller, session: SessionDep
) -> ImportPublic:
    """An import's state (`queued`, `running`, `completed`, `failed`) and, once run, its report:
    counts, skipped records by code, and one line per record."""
    buyer_id = caller.buyer_id if caller.role != Role.ADMIN else None
    return await service.get_import(session, import_id, buyer_id=buyer_id)
