"""Accounts, sign-in links and sessions: the domain side of signing in (no web import).

Links and session tokens are `secrets.token_urlsafe(32)` (256 bits): only their SHA-256 is
stored, so the database alone opens nothing. Every sign-in, sign-out and invitation is appended
to the tamper-evident journal (`app.documents.journal`), the buyer's audit trail.
"""

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow
from app.documents.journal import append_journal
from app.errors import AppError, ValidationFailed
from app.integrations.mail import Mail
from app.users.models import LOCAL_ISSUER, SignInLink, User, UserRole, WebSession

# Writing `last_seen_at` on every page would make each read a write: a minute is precise enough
# for a 30-minute idle limit.
SEEN_RESOLUTION = timedelta(minutes=1)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class InvalidLink(AppError):
    status_code, code, title = 400, "invalid_link", "Lien de connexion invalide"


def hash_token(token: str) -> str:
    # A 256-bit random secret needs no slow hash.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed(
            f"« {value.strip()[:80]} » n'est pas une adresse électronique valide.",
            code="invalid_email",
        )
    return email


async def audit(session: AsyncSession, kind: str, user: User, **data: Any) -> None:
    """One journal entry per sign-in event (the buyer's audit trail, hash-chained)."""
    payload = {"email": user.email, "role": user.role, **data}
    if user.buyer_id is not None:
        payload.setdefault("buyer_id", str(user.buyer_id))
    await append_journal(session, kind, f"user:{user.id}", payload)


async def invite_user(
    session: AsyncSession, *, email: str, buyer: Buyer, role: UserRole = UserRole.OFFICER
) -> tuple[User, bool]:
    """The buyer's local account for `email` (created if needed; an existing one keeps its
    role unless `role` is admin). Returns (user, created)."""
    if role not in {UserRole.OFFICER, UserRole.ADMIN}:
        raise ValidationFailed(
            "Un compte d'acheteur est « officer » ou « admin ».", code="invalid_role"
        )
    email = normalize_email(email)
    query = select(User).where(
        User.email == email, User.buyer_id == buyer.id, User.issuer == LOCAL_ISSUER
    )
    user = (await session.exec(query)).first()
    created = user is None
    if user is None:
        user = User(email=email, role=role.value, buyer_id=buyer.id, issuer=LOCAL_ISSUER)
    elif role is UserRole.ADMIN and user.role != UserRole.ADMIN:
        user.role = role.value
    user.disabled_at = None
    session.add(user)
    await session.flush()
    await audit(session, "auth.invited", user, created=created)
    return user, created


async def local_accounts(session: AsyncSession, email: str) -> list[User]:
    """The active local officer accounts of an address (one per buyer it was invited to);
    contractors ask for theirs on the portal (`/portail/connexion`)."""
    query = select(User).where(
        User.email == email.strip().lower(),
        User.issuer == LOCAL_ISSUER,
        User.role != UserRole.CONTRACTOR,
        col(User.disabled_at).is_(None),
    )
    return list((await session.exec(query.order_by(col(User.created_at)))).all())


async def issue_link(session: AsyncSession, user: User, *, minutes: int) -> str:
    """A new single-use link for `user`; returns its token (shown or sent once, never stored)."""
    token = new_token()
    link = SignInLink(
        token_hash=hash_token(token),
        user_id=user.id,
        expires_at=utcnow() + timedelta(minutes=minutes),
    )
    session.add(link)
    await session.flush()
    return token


@dataclass(frozen=True)
class LinkCheck:
    link: SignInLink | None
    user: User | None
    problem: str | None  # unknown | used | expired | disabled

    @property
    def valid(self) -> bool:
        return self.problem is None


async def inspect_link(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> LinkCheck:
    """What a link is worth, without spending it (the GET of the confirmation page)."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return LinkCheck(None, None, "unknown")
    link = (
        await session.exec(select(SignInLink).where(SignInLink.token_hash == hash_token(token)))
    ).first()
    if link is None:
        return LinkCheck(None, None, "unknown")
    user = await session.get(User, link.user_id)
    if link.used_at is not None:
        return LinkCheck(link, user, "used")
    if link.expires_at <= now:
        return LinkCheck(link, user, "expired")
    if user is None or user.disabled_at is not None:
        return LinkCheck(link, user, "disabled")
    return LinkCheck(link, user, None)


LINK_PROBLEMS = {
    "unknown": "Ce lien de connexion n'existe pas. Demandez-en un nouveau.",
    "used": "Ce lien de connexion a déjà servi : chaque lien ne sert qu'une fois. "
    "Demandez-en un nouveau.",
    "expired": "Ce lien de connexion a expiré. Demandez-en un nouveau.",
    "disabled": "Ce compte est désactivé. Adressez-vous à l'administrateur de votre organisation.",
}


async def use_link(session: AsyncSession, token: str) -> User:
    """Spend a link (the POST of its confirmation page): the user it signs in."""
    check = await inspect_link(session, token)
    if check.problem is not None or check.link is None or check.user is None:
        raise InvalidLink(LINK_PROBLEMS[check.problem or "unknown"])
    # Single use even under a double click: the UPDATE only wins while used_at is still NULL.
    from sqlalchemy import update

    result = await session.exec(
        update(SignInLink)
        .where(col(SignInLink.id) == check.link.id, col(SignInLink.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:
        raise InvalidLink(LINK_PROBLEMS["used"])
    return check.user


async def open_session(
    session: AsyncSession,
    user: User,
    *,
    method: str,
    absolute_hours: int,
    buyer_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
    id_token: str | None = None,
) -> str:
    """A new session for `user` (a new id at every sign-in); returns the cookie's token."""
    token = new_token()
    now = utcnow()
    record = WebSession(
        token_hash=hash_token(token),
        user_id=user.id,
        buyer_id=buyer_id if buyer_id is not None else user.buyer_id,
        supplier_id=supplier_id if supplier_id is not None else user.supplier_id,
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=absolute_hours),
        id_token=id_token,
    )
    user.last_sign_in_at = now
    session.add_all([record, user])
    await session.flush()
    await audit(session, "auth.sign_in", user, method=method)
    return token


@dataclass(frozen=True)
class SignedIn:
    session: WebSession
    user: User


async def resolve_session(
    session: AsyncSession, token: str, *, idle_minutes: int, now: datetime | None = None
) -> SignedIn | None:
    """The live session behind a cookie, or None (unknown, revoked, idle, past its end)."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    record = (
        await session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    ).first()
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    if now - record.last_seen_at > timedelta(minutes=idle_minutes):
        return None
    user = await session.get(User, record.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - record.last_seen_at > SEEN_RESOLUTION:
        record.last_seen_at = now
        session.add(record)
        await session.flush()
    return SignedIn(record, user)


async def close_session(session: AsyncSession, token: str) -> WebSession | None:
    """Sign out: the session is revoked server-side (a copied cookie opens nothing after)."""
    record = (
        await session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    ).first()
    if record is None or record.revoked_at is not None:
        return None
    record.revoked_at = utcnow()
    session.add(record)
    await session.flush()
    user = await session.get(User, record.user_id)
    if user is not None:
        await audit(session, "auth.sign_out", user, method=record.method)
    return record


async def revoke_sessions(session: AsyncSession, user_id: uuid.UUID) -> int:
    """End every session of a user (disabled account, role change)."""
    from sqlalchemy import update

    result = await session.exec(
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


def link_url(public_url: str, token: str, *, portal: bool = False) -> str:
    """The address of a sign-in link (`/connexion/lien/…`, or the portal's `/portail/lien/…`)."""
    return f"{public_url}/{'portail' if portal else 'connexion'}/lien/{token}"


def sign_in_mail(to: str, url: str, *, buyer_name: str | None, minutes: int) -> Mail:
    whom = f" pour {buyer_name}" if buyer_name else ""
    return Mail(
        to=to,
        subject="Votre lien de connexion à Vigie",
        text=(
            "Bonjour,\n\n"
            f"Voici votre lien de connexion à Vigie{whom} :\n\n{url}\n\n"
            f"Il est valable {minutes} minutes et ne sert qu'une fois. Si vous n'avez rien "
            "demandé, ignorez ce message : personne ne peut se connecter sans ce lien.\n\n"
            "Vigie — obligation de vigilance des acheteurs publics\n"
        ),
    )
