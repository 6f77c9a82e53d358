"""API keys: 256-bit random, shown once, stored as SHA-256 only, revocable."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from pydantic_core import PydanticCustomError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from app.identifiers import parse_optional_siren, parse_optional_siret
from app.keys.models import ApiKey, Role

KEY_SCHEME = "vg"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # avoid a write on every request
# RFC 6750 §3: every 401 names the scheme; a key that was sent but refused is an invalid_token.
INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def hash_key(key: str) -> str:
    # A 256-bit random secret needs no slow hash: nobody brute-forces 2**256.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    record: ApiKey


async def create_key(
    session: AsyncSession,
    *,
    role: Role,
    buyer_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
    label: str | None = None,
) -> IssuedKey:
    if role in {Role.OFFICER, Role.ERP} and (buyer_id is None or supplier_id is not None):
        raise ValidationFailed(
            "Une clé « officer » ou « erp » est rattachée à un acheteur (et à lui seul).",
            code="invalid_scope",
        )
    if role is Role.CONTRACTOR and (supplier_id is None or buyer_id is not None):
        raise ValidationFailed(
            "Une clé « contractor » est rattachée à un fournisseur (et à lui seul).",
            code="invalid_scope",
        )
    if role is Role.ADMIN and (buyer_id or supplier_id):
        raise ValidationFailed(
            "Une clé « admin » n'est rattachée à aucun acheteur ni fournisseur.",
            code="invalid_scope",
        )
    prefix = f"{KEY_SCHEME}_{secrets.token_hex(6)}"  # 48 bits: no collision in practice
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey(
        prefix=prefix,
        key_hash=hash_key(key),
        role=role.value,
        buyer_id=buyer_id,
        supplier_id=supplier_id,
        label=label,
    )
    session.add(record)
    await session.flush()
    return IssuedKey(key=key, record=record)


async def authenticate(session: AsyncSession, key: str) -> ApiKey:
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != KEY_SCHEME:
        raise Unauthorized(
            "Clé d'API inconnue ou mal formée.", code="invalid_api_key", headers=INVALID_TOKEN
        )
    prefix = f"{parts[0]}_{parts[1]}"
    record = (await session.exec(select(ApiKey).where(ApiKey.prefix == prefix))).first()
    if record is None or not hmac.compare_digest(record.key_hash, hash_key(key)):
        raise Unauthorized(
            "Clé d'API inconnue ou mal formée.", code="invalid_api_key", headers=INVALID_TOKEN
        )
    if record.revoked_at is not None:
        raise Unauthorized(
            "Cette clé d'API a été révoquée.", code="revoked_api_key", headers=INVALID_TOKEN
        )
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        record.last_used_at = now
        session.add(record)
        await session.flush()
    return record


async def revoke_key(session: AsyncSession, prefix: str) -> ApiKey:
    record = (await session.exec(select(ApiKey).where(ApiKey.prefix == prefix))).first()
    if record is None:
        raise NotFound(f"Aucune clé d'API de préfixe « {prefix} ».", code="api_key_not_found")
    if record.revoked_at is None:
        if record.role == Role.ADMIN and await _active_admins(session) <= 1:
            # Nobody could create a key again (nor revoke a leaked one) through the API.
            raise Conflict(
                "C'est la dernière clé d'administration active de la plateforme : créez-en une "
                "autre (vigie keys create --role admin) avant de révoquer celle-ci.",
                code="last_admin_key",
            )
        record.revoked_at = utcnow()
        session.add(record)
        await session.flush()
    return record


async def _active_admins(session: AsyncSession) -> int:
    from sqlalchemy import func

    query = select(func.count()).where(ApiKey.role == Role.ADMIN, col(ApiKey.revoked_at).is_(None))
    return int((await session.exec(query)).one())


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.exec(select(ApiKey).order_by(col(ApiKey.id)))).all())


async def create_key_for(
    session: AsyncSession,
    *,
    role: Role,
    buyer_siret: str | None = None,
    supplier_siren: str | None = None,
    label: str | None = None,
) -> IssuedKey:
    """Create a key from the identifiers people know (the buyer's SIRET, the supplier's SIREN)."""
    from app.buyers.service import get_buyer_by_siret
    from app.contracts.models import HolderIn
    from app.suppliers.service import ensure_supplier

    try:  # "" means "not given", as before
        buyer_siret = parse_optional_siret(buyer_siret or None)
        supplier_siren = parse_optional_siren(supplier_siren or None)
    except PydanticCustomError as exc:
        raise ValidationFailed(exc.message(), code="invalid_identifier") from None
    buyer_id = supplier_id = None
    if buyer_siret:
        buyer = await get_buyer_by_siret(session, buyer_siret)
        buyer_id = buyer.id if buyer else None
    if supplier_siren:
        supplier_id = (await ensure_supplier(session, HolderIn(siren=supplier_siren))).id
    return await create_key(
        session, role=role, buyer_id=buyer_id, supplier_id=supplier_id, label=label
    )
