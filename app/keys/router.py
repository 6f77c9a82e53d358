from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlmodel import SQLModel

from app.deps import AdminCaller, SessionDep
from app.identifiers import OptionalSiren, OptionalSiret
from app.keys import service
from app.keys.models import ApiKeyPublic, Role

router = APIRouter(prefix="/v1/keys", tags=["admin"])


_KEY_CREATE_SCHEMA: dict[str, Any] = {
    "description": "Une clé d'API : son rôle et son périmètre (un acheteur, ou un "
    "fournisseur pour `contractor`).",
    "examples": [{"role": "erp", "buyer_siret": "21750001600019", "label": "ERP finances"}],
}


class KeyCreate(SQLModel):
    model_config = {"json_schema_extra": _KEY_CREATE_SCHEMA}

    role: Role
    buyer_siret: OptionalSiret = None
    supplier_siren: OptionalSiren = None
    label: str | None = None


class KeyCreated(ApiKeyPublic):
    key: str


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
async def create_key(data: KeyCreate, caller: AdminCaller, session: SessionDep) -> KeyCreated:
    """Create an API key. The `key` is shown in this answer only: store it now."""
    issued = await service.create_key_for(
        session,
        role=data.role,
        buyer_siret=data.buyer_siret,
        supplier_siren=data.supplier_siren,
        label=data.label,
    )
    return KeyCreated(**issued.record.model_dump(), key=issued.key)


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(caller: AdminCaller, session: SessionDep) -> list[ApiKeyPublic]:
    """Every key, without its secret."""
    return [
        ApiKeyPublic.model_validate(k, from_attributes=True)
        for k in await service.list_keys(session)
    ]


@router.delete("/{prefix}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(
    prefix: str, request: Request, caller: AdminCaller, session: SessionDep
) -> Response:
    """Revoke a key at once; it answers 401 from now on."""
    await service.revoke_key(session, prefix, redis=request.app.state.redis)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
