"""Reminders to contractors by e-mail: one daily digest per contact naming what became due since
the last one (a document missing, awaiting upload or rejected: a request, recorded as such) and
the certificates that expire within 30 days (a courtesy notice, which the contact may turn off:
`List-Unsubscribe`, one click, RFC 8058). Nothing is sent, nor recorded, without SMTP.
"""

import base64
import hashlib
import hmac
import html
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.evaluation import today_in_paris
from app.compliance.models import RequestChannel, RequirementState
from app.compliance.requests import record_request
from app.compliance.rules import RequirementStatus, RequirementType
from app.compliance.rules.labels import requirement_label_fr
from app.integrations.mail import Mail, Mailer
from app.uploads.models import ContractorInvitation, ReminderOptOut, ReminderSending
from app.uploads.service import guidance_fr
from app.users.models import LOCAL_ISSUER, User, UserRole

S = RequirementStatus
GAPS = frozenset({S.MISSING, S.AWAITING_UPLOAD, S.REJECTED, S.EXPIRED})
EXPIRY_NOTICE_DAYS = 30
_HISTORY = timedelta(days=400)  # what was announced before: a gap is announced once


@dataclass(frozen=True)
class Item:
    buyer_id: uuid.UUID
    buyer_name: str
    requirement: str
    status: str
    valid_until: date | None
    legal: bool  # a request for a document (not a courtesy notice)

    @property
    def key(self) -> str:
        what = self.status if self.legal else f"expiry:{self.valid_until}"
        return f"{self.buyer_id}:{self.requirement}:{what}"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "buyer_id": str(self.buyer_id),
            "requirement": self.requirement,
            "status": self.status,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }


def unsubscribe_token(secret: str, user_id: uuid.UUID) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{user_id}".encode(), hashlib.sha256)
    return f"{user_id}.{base64.urlsafe_b64encode(digest.digest()[:18]).decode()}"


def user_of_token(secret: str, token: str) -> uuid.UUID | None:
    """The contact an unsubscribe link names, or None when it was not signed by this instance."""
    head, _, _ = token.partition(".")
    try:
        user_id = uuid.UUID(head)
    except ValueError:
        return None
    return user_id if hmac.compare_digest(unsubscribe_token(secret, user_id), token) else None


async def opt_out(session: AsyncSession, user_id: uuid.UUID) -> None:
    known = await session.get(User, user_id)
    if known is not None and await session.get(ReminderOptOut, user_id) is None:
        session.add(ReminderOptOut(user_id=user_id))
        await session.flush()


async def digest_items(session: AsyncSession, user: User, today: date) -> list[Item]:
    """What the buyers that invited this contact wait for, and what expires within 30 days."""
    query = (
        select(RequirementState, Buyer)
        .join(Buyer, col(Buyer.id) == RequirementState.buyer_id)
        .join(ContractorInvitation, col(ContractorInvitation.buyer_id) == Buyer.id)
        .where(
            ContractorInvitation.user_id == user.id,
            RequirementState.supplier_id == user.supplier_id,
            col(RequirementState.active),
        )
        .order_by(col(Buyer.name), col(RequirementState.requirement))
    )
    items = []
    for state, buyer in (await session.exec(query)).all():
        status = S(state.status) if state.status else None
        if status in GAPS:
            items.append(
                Item(buyer.id, buyer.name, state.requirement, status, state.valid_until, True)
            )
        elif (
            status in (S.VALID, S.EXPIRING)
            and state.valid_until is not None
            and 0 <= (state.valid_until - today).days <= EXPIRY_NOTICE_DAYS
        ):
            items.append(
                Item(buyer.id, buyer.name, state.requirement, status, state.valid_until, False)
            )
    return items


async def _announced(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> set[str]:
    query = select(ReminderSending.items).where(
        ReminderSending.user_id == user_id, ReminderSending.at >= now - _HISTORY
    )
    return {i["key"] for items in (await session.exec(query)).all() for i in items}


async def send_digests(
    session: AsyncSession,
    *,
    mailer: Mailer,
    public_url: str,
    secret: str,
    now: datetime | None = None,
) -> int:
    """Send today's digests; returns how many were sent (0 without SMTP: nothing recorded)."""
    if not mailer.enabled:
        return 0
    now = now or utcnow()
    today = today_in_paris(now)
    contacts = select(User).where(
        User.role == UserRole.CONTRACTOR,
        User.issuer == LOCAL_ISSUER,
        col(User.disabled_at).is_(None),
        col(User.supplier_id).is_not(None),
    )
    sent = 0
    for user in (await session.exec(contacts)).all():
        done_today = select(ReminderSending.id).where(
            ReminderSending.user_id == user.id, ReminderSending.sent_on == today
        )
        if (await session.exec(done_today)).first() is not None:
            continue
        announced = await _announced(session, user.id, now)
        fresh = [i for i in await digest_items(session, user, today) if i.key not in announced]
        if await session.get(ReminderOptOut, user.id) is not None:
            fresh = [i for i in fresh if i.legal]
        if not fresh:
            continue
        legal = any(i.legal for i in fresh)
        unsubscribe = (
            None
            if legal
            else f"{public_url}/portail/desabonnement/" + (unsubscribe_token(secret, user.id))
        )
        if not await mailer.send(digest_mail(user.email, fresh, public_url, unsubscribe)):
            continue  # logged by the mailer; tried again at the next run
        session.add(
            ReminderSending(
                user_id=user.id,
                sent_on=today,
                items=[i.as_json() for i in fresh],
                legal=legal,
                at=now,
            )
        )
        for buyer_id in dict.fromkeys(i.buyer_id for i in fresh if i.legal):
            await record_request(
                session,
                buyer_id,
                user.supplier_id,  # type: ignore[arg-type]
                channel=RequestChannel.EMAIL,
                by="vigie:rappel",
                note=f"Rappel quotidien envoyé à {user.email}",
                requirements=[
                    RequirementType(i.requirement)
                    for i in fresh
                    if i.legal and i.buyer_id == buyer_id
                ],
                now=now,
            )
        await session.flush()
        sent += 1
    return sent


def _line(item: Item) -> str:
    label = requirement_label_fr(RequirementType(item.requirement))
    if item.legal:
        return f"{item.buyer_name} : {label} — à fournir : {guidance_fr(item.requirement)}."
    until = item.valid_until.strftime("%d/%m/%Y") if item.valid_until else ""
    return f"{item.buyer_name} : {label} expire le {until} — pensez à déposer la suivante."


def digest_mail(to: str, items: list[Item], public_url: str, unsubscribe: str | None) -> Mail:
    portal = f"{public_url}/portail/connexion"
    lines = [_line(i) for i in items]
    text = (
        "Bonjour,\n\n"
        "Des acheteurs publics attendent des documents de vigilance de votre entreprise :\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + f"\n\nDéposez-les une seule fois pour tous ces acheteurs sur le portail : {portal}\n"
        + (
            f"\nPour ne plus recevoir ces rappels d'échéance : {unsubscribe}\n"
            if unsubscribe
            else ""
        )
        + "\nVigie — obligation de vigilance des acheteurs publics\n"
    )
    items_html = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = (
        '<!DOCTYPE html><html lang="fr"><body><p>Bonjour,</p>'
        "<p>Des acheteurs publics attendent des documents de vigilance de votre entreprise :</p>"
        f"<ul>{items_html}</ul>"
        f'<p><a href="{html.escape(portal)}">Déposer les documents sur le portail</a>, une seule '
        "fois pour tous ces acheteurs.</p>"
        + (
            f'<p><a href="{html.escape(unsubscribe)}">Ne plus recevoir ces rappels</a></p>'
            if unsubscribe
            else ""
        )
        + "<p>Vigie — obligation de vigilance des acheteurs publics</p></body></html>"
    )
    headers = {}
    if unsubscribe:
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    legal = any(i.legal for i in items)
    subject = (
        "Documents de vigilance attendus par vos acheteurs publics"
        if legal
        else "Vos attestations de vigilance arrivent à échéance"
    )
    return Mail(to=to, subject=subject, text=text, html=body, headers=headers)
