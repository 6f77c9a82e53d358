"""What a buyer's admin manages (`/parametres`) and how a ProConnect agent is admitted.

An agent is keyed on (issuer, `sub`), never on e-mail; the `siret` claim (the establishment of
the agent's work structure) names the buyer. A first sign-in at a buyer is an access request
that the buyer's admin approves or refuses; the account exists once it is approved (or at once
with `PROCONNECT__AUTO_APPROVE`). Every request, approval, refusal, disabled account and key
created or revoked here is in the journal, the buyer's audit trail.
"""

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.buyers.service import get_buyer_by_siret
from app.common import utcnow
from app.documents.journal import append_journal
from app.errors import Conflict, NotFound, ValidationFailed
from app.keys.models import ApiKey, Role
from app.keys.service import IssuedKey, create_key, revoke_key
from app.users.models import AccessRequest, AccessStatus, User, UserRole
from app.users.service import audit, revoke_sessions

AdmissionKind = Literal["signed_in", "pending", "refused", "unknown_organisation", "disabled"]
BUYER_KEY_ROLES = (Role.OFFICER, Role.ERP)


@dataclass(frozen=True)
class Agent:
    """A verified identity, as the identity provider describes it."""

    issuer: str
    subject: str
    email: str
    name: str | None
    siret: str
    idp_id: str | None = None


@dataclass(frozen=True)
class Admission:
    kind: AdmissionKind
    user: User | None = None
    buyer: Buyer | None = None
    request: AccessRequest | None = None


def _valid_siret(value: str) -> bool:
    return len(value) == 14 and value.isdigit()


async def _request_for(session: AsyncSession, buyer: Buyer, agent: Agent) -> AccessRequest | None:
    query = select(AccessRequest).where(
        AccessRequest.buyer_id == buyer.id,
        AccessRequest.issuer == agent.issuer,
        AccessRequest.subject == agent.subject,
    )
    return (await session.exec(query)).first()


async def _journal_request(session: AsyncSession, kind: str, request: AccessRequest) -> None:
    await append_journal(
        session,
        kind,
        f"access_request:{request.id}",
        {
            "buyer_id": str(request.buyer_id),
            "email": request.email,
            "siret": request.siret,
            "issuer": request.issuer,
            "idp_id": request.idp_id,
        },
    )


async def admit_agent(session: AsyncSession, agent: Agent, *, auto_approve: bool) -> Admission:
    """Who this agent is to Vigie: an account to sign in, a request still pending or refused,
    or an organisation that does not use Vigie. Never a session by itself (the caller opens it)."""
    buyer = (
        await get_buyer_by_siret(session, agent.siret, missing_ok=True)
        if _valid_siret(agent.siret)
        else None
    )
    if buyer is None:
        return Admission("unknown_organisation")
    user = (
        await session.exec(
            select(User).where(User.issuer == agent.issuer, User.subject == agent.subject)
        )
    ).first()
    if user is not None and user.disabled_at is not None:
        return Admission("disabled", user=user, buyer=buyer)
    if user is not None and user.buyer_id == buyer.id:
        _refresh(user, agent)
        session.add(user)
        await session.flush()
        return Admission("signed_in", user=user, buyer=buyer)

    request = await _request_for(session, buyer, agent) or await _new_request(session, buyer, agent)
    if request is None:  # a concurrent sign-in of the same agent made it first: theirs
        request = await _request_for(session, buyer, agent)
        assert request is not None
    if request.status == AccessStatus.REFUSED:
        return Admission("refused", buyer=buyer, request=request)
    # Pending, or approved once but the account has since moved to another buyer.
    request.status = AccessStatus.PENDING.value
    request.email, request.name, request.idp_id = agent.email, agent.name, agent.idp_id
    request.last_attempt_at = utcnow()
    session.add(request)
    await session.flush()
    if auto_approve:
        user = await approve_request(session, request, by=None, role=UserRole.OFFICER)
        return Admission("signed_in", user=user, buyer=buyer, request=request)
    return Admission("pending", buyer=buyer, request=request)


async def _new_request(session: AsyncSession, buyer: Buyer, agent: Agent) -> AccessRequest | None:
    """A new pending request (None when a concurrent sign-in of the same agent made it)."""
    request = AccessRequest(
        buyer_id=buyer.id,
        issuer=agent.issuer,
        subject=agent.subject,
        email=agent.email,
        name=agent.name,
        siret=agent.siret,
        idp_id=agent.idp_id,
    )
    try:
        async with session.begin_nested():  # (buyer, issuer, subject) is unique
            session.add(request)
            await session.flush()
    except IntegrityError:
        return None
    await _journal_request(session, "auth.access_requested", request)
    return request


def _refresh(user: User, agent: Agent) -> None:
    # The identity provider is the source of truth for the address and the name.
    user.email = agent.email
    user.name = agent.name


async def pending_requests(session: AsyncSession, buyer_id: uuid.UUID) -> list[AccessRequest]:
    query = select(AccessRequest).where(
        AccessRequest.buyer_id == buyer_id, AccessRequest.status == AccessStatus.PENDING
    )
    return list((await session.exec(query.order_by(col(AccessRequest.created_at)))).all())


async def get_request(
    session: AsyncSession, buyer_id: uuid.UUID, request_id: uuid.UUID
) -> AccessRequest:
    """One of the buyer's requests (another buyer's is not found)."""
    request = await session.get(AccessRequest, request_id)
    if request is None or request.buyer_id != buyer_id:
        raise NotFound("Cette demande d'accès n'existe pas.", code="access_request_not_found")
    return request


def _still_pending(request: AccessRequest) -> None:
    if request.status != AccessStatus.PENDING:
        raise Conflict("Cette demande d'accès a déjà été traitée.", code="access_request_decided")


async def approve_request(
    session: AsyncSession, request: AccessRequest, *, by: User | None, role: UserRole
) -> User:
    """Grant the request: the agent's account (created, or moved to this buyer: its sessions
    elsewhere end), with `role`. `by` None: `PROCONNECT__AUTO_APPROVE`."""
    _still_pending(request)
    if role not in {UserRole.OFFICER, UserRole.ADMIN}:
        raise ValidationFailed("Un agent est « officer » ou « admin ».", code="invalid_role")
    user = (
        await session.exec(
            select(User).where(User.issuer == request.issuer, User.subject == request.subject)
        )
    ).first()
    if user is None:
        user = User(issuer=request.issuer, subject=request.subject, email="", role=role.value)
    elif user.buyer_id != request.buyer_id:
        await revoke_sessions(session, user.id)
    user.email, user.name = request.email, request.name
    user.buyer_id, user.role, user.disabled_at = request.buyer_id, role.value, None
    session.add(user)
    await session.flush()
    request.status = AccessStatus.APPROVED.value
    request.decided_at, request.decided_by, request.user_id = (
        utcnow(),
        by.id if by else None,
        user.id,
    )
    session.add(request)
    await session.flush()
    await audit(
        session,
        "auth.access_approved",
        user,
        request_id=str(request.id),
        by=by.email if by else "auto_approve",
    )
    return user


async def refuse_request(session: AsyncSession, request: AccessRequest, *, by: User) -> None:
    _still_pending(request)
    request.status = AccessStatus.REFUSED.value
    request.decided_at, request.decided_by = utcnow(), by.id
    session.add(request)
    await session.flush()
    await append_journal(
        session,
        "auth.access_refused",
        f"access_request:{request.id}",
        {"buyer_id": str(request.buyer_id), "email": request.email, "by": by.email},
    )


# --- the buyer's accounts ------------------------------------------------------------------


async def buyer_users(session: AsyncSession, buyer_id: uuid.UUID) -> list[User]:
    query = select(User).where(User.buyer_id == buyer_id).order_by(col(User.email))
    return list((await session.exec(query)).all())


async def get_buyer_user(session: AsyncSession, buyer_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or user.buyer_id != buyer_id:
        raise NotFound("Ce compte n'existe pas.", code="user_not_found")
    return user


async def disable_user(session: AsyncSession, user: User, *, by: User) -> int:
    """Disable an account: its sessions end now; returns how many were open."""
    if user.id == by.id:
        raise Conflict(
            "Vous ne pouvez pas désactiver votre propre compte.", code="cannot_disable_self"
        )
    user.disabled_at = user.disabled_at or utcnow()
    session.add(user)
    await session.flush()
    ended = await revoke_sessions(session, user.id)
    await audit(session, "auth.user_disabled", user, by=by.email, sessions_ended=ended)
    return ended


async def enable_user(session: AsyncSession, user: User, *, by: User) -> None:
    """Give a disabled account its access back (it signs in again: no session is revived)."""
    if user.disabled_at is None:
        return
    user.disabled_at = None
    session.add(user)
    await session.flush()
    await audit(session, "auth.user_enabled", user, by=by.email)


# --- the buyer's API keys ------------------------------------------------------------------


async def buyer_keys(session: AsyncSession, buyer_id: uuid.UUID) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.buyer_id == buyer_id)
    return list((await session.exec(query.order_by(col(ApiKey.created_at).desc()))).all())


async def create_buyer_key(
    session: AsyncSession, buyer: Buyer, *, role: Role, label: str | None, by: User
) -> IssuedKey:
    """An officer or ERP key of this buyer (the key itself is shown once, never stored)."""
    if role not in BUYER_KEY_ROLES:
        raise ValidationFailed(
            "Une clé d'acheteur est « officer » ou « erp ».", code="invalid_role"
        )
    label = (label or "").strip() or None
    if label is not None and len(label) > 200:
        raise ValidationFailed("Le libellé fait au plus 200 caractères.", code="label_too_long")
    issued = await create_key(session, role=role, buyer_id=buyer.id, label=label)
    await audit(
        session, "keys.created", by, prefix=issued.record.prefix, key_role=role.value, label=label
    )
    return issued


async def revoke_buyer_key(
    session: AsyncSession, buyer_id: uuid.UUID, prefix: str, *, by: User
) -> ApiKey:
    key = (
        await session.exec(
            select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.buyer_id == buyer_id)
        )
    ).first()
    if key is None:  # another buyer's key is not found either
        raise NotFound(f"Aucune clé d'API de préfixe « {prefix[:20]} ».", code="api_key_not_found")
    was_active = key.revoked_at is None
    key = await revoke_key(session, key.prefix)
    if was_active:
        await audit(session, "keys.revoked", by, prefix=key.prefix, key_role=key.role)
    return key
