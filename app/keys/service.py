"""API keys: 256-bit random, shown once, stored as SHA-256 only, revocable."""

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import event
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.db import unit_of_work
from app.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from app.identifiers import parse_optional_siren, parse_optional_siret
from app.keys.models import ApiKey, Role

log = logging.getLogger(__name__)

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


def _refuse_malformed(key: str) -> str:
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != KEY_SCHEME:
        raise Unauthorized(
            "Clé d'API inconnue ou mal formée.", code="invalid_api_key", headers=INVALID_TOKEN
        )
    return f"{parts[0]}_{parts[1]}"


async def authenticate(session: AsyncSession, key: str) -> ApiKey:
    prefix = _refuse_malformed(key)
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


# --- verified keys, cached per process ---------------------------------------------------------

REVOCATIONS_KEY = "vigie:keys:revocations"
CACHE_SECONDS = 30.0  # below LAST_USED_RESOLUTION: a cached key still refreshes last_used_at


@dataclass(frozen=True, slots=True)
class _Verified:
    record: ApiKey
    marker: tuple[int, int]  # the revocation marker when it was verified
    until: float  # time.monotonic()


class KeyCache:
    """Keys this process verified in the last seconds, by hash: a request with a known key reads
    no key row. A revocation takes effect at once in every process: it increments a marker (in
    Redis when there is one, and in this process's memory) that each request reads (one GET)
    before trusting an entry; an entry verified under another marker is verified again. Without
    Redis, another process (the CLI) revokes a cached key within CACHE_SECONDS."""

    def __init__(self) -> None:
        self._entries: dict[str, _Verified] = {}
        self._local = 0
        self._tasks: set[Any] = set()

    def clear(self) -> None:
        self._entries.clear()

    async def marker(self, redis: Any | None) -> tuple[int, int] | None:
        """The current revocation marker; None when Redis cannot say (then nothing is cached)."""
        if redis is None:
            return (0, self._local)
        try:
            value = await redis.get(REVOCATIONS_KEY)
        except Exception as exc:  # Redis down: every request reads its key row, as before
            log.warning("key cache off: revocation marker unreadable (%s)", type(exc).__name__)
            return None
        return (int(value or 0), self._local)

    def peek(self, digest: str) -> ApiKey | None:
        """The entry of `digest` whatever its marker (`get` decides whether to trust it)."""
        entry = self._entries.get(digest)
        return entry.record if entry is not None else None

    def local_marker(self, value: bytes | str | None) -> tuple[int, int]:
        """The marker from the Redis value read elsewhere (in a pipeline of the caller)."""
        return (int(value or 0), self._local)

    def get(self, digest: str, marker: tuple[int, int] | None) -> ApiKey | None:
        entry = self._entries.get(digest)
        if entry is None or marker is None or entry.marker != marker:
            return None
        if entry.until < time.monotonic():
            del self._entries[digest]
            return None
        return entry.record

    def put(self, digest: str, record: ApiKey, marker: tuple[int, int] | None) -> None:
        if marker is None:
            return
        if len(self._entries) > 10_000:  # keys are few; a flood of distinct ones is not cached
            self._entries.clear()
        self._entries[digest] = _Verified(record, marker, time.monotonic() + CACHE_SECONDS)

    def revoked(self) -> None:
        """This process forgets every verified key (the revocation's own process, at once)."""
        self._local += 1
        self._entries.clear()


KEY_CACHE = KeyCache()


async def publish_revocation(redis: Any | None) -> None:
    """Tell every process that a key was revoked (their caches verify keys again)."""
    KEY_CACHE.revoked()
    if redis is not None:
        await redis.incr(REVOCATIONS_KEY)


async def authenticate_cached(
    sessionmaker: Any,
    redis: Any | None,
    key: str,
    *,
    read_marker: Callable[[ApiKey], Awaitable[tuple[bytes | None, bool]]] | None = None,
) -> ApiKey:
    """`authenticate` through the process's cache: a key verified in the last seconds, under the
    current revocation marker, reads nothing; otherwise a short unit of work of its own reads the
    key row (and records its use), so read-only routes need no transaction for their caller.

    `read_marker(cached record)`: reads the Redis marker (value, whether Redis answered) in a round
    trip the caller makes anyway (its rate-limit count); only used for a key already in the cache,
    so nothing is done for an unverified key."""
    _refuse_malformed(key)
    digest = hash_key(key)
    cached = KEY_CACHE.peek(digest) if redis is not None and read_marker is not None else None
    if cached is not None and read_marker is not None:
        value, answered = await read_marker(cached)
        marker = KEY_CACHE.local_marker(value) if answered else None
    else:
        marker = await KEY_CACHE.marker(redis)
    record = KEY_CACHE.get(digest, marker)
    used = record.last_used_at if record is not None else None
    if record is not None and used is not None and utcnow() - used <= LAST_USED_RESOLUTION:
        return record
    async with unit_of_work(sessionmaker) as session:
        record = await authenticate(session, key)
    KEY_CACHE.put(digest, record, marker)
    return record


async def revoke_key(session: AsyncSession, prefix: str, redis: Any | None = None) -> ApiKey:
    """Revoke at once: every process's key cache forgets its verified keys before the commit
    (so none re-reads the key as valid from then on) and again once it is committed."""
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
        await publish_revocation(redis)
        _publish_after_commit(session, redis)
    return record


def _publish_after_commit(session: AsyncSession, redis: Any | None) -> None:
    """A process that read the key between the first marker and the commit cached it as valid:
    the marker moves again once the revocation is committed."""

    def after_commit(_: Any) -> None:
        KEY_CACHE.revoked()
        if redis is not None:
            task = asyncio.get_running_loop().create_task(redis.incr(REVOCATIONS_KEY))
            KEY_CACHE._tasks.add(task)
            task.add_done_callback(KEY_CACHE._tasks.discard)

    event.listen(session.sync_session, "after_commit", after_commit, once=True)


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
