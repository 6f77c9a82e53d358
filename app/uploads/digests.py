"""The officers' optional weekly digest of new gaps (`UPLOADS__OFFICER_DIGEST=true`): to each
officer and admin of a buyer, at most once every 7 days, the requirements of the buyer's
suppliers that became a gap (missing, awaiting upload, rejected, expired, refused) since the
previous digest. A courtesy notice: `List-Unsubscribe` (one click, RFC 8058, the portal's
signed link; the opt-out is `reminder_opt_outs`), each sending recorded in `reminder_sendings`
(its `items` name what was announced, so a gap is announced once). Nothing without SMTP."""

import html
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.evaluation import today_in_paris
from app.compliance.models import RequirementState
from app.compliance.rules import RequirementStatus, RequirementType
from app.compliance.rules.labels import requirement_label_fr
from app.integrations.mail import Mail, Mailer
from app.suppliers.models import Supplier
from app.uploads.models import ReminderOptOut, ReminderSending
from app.uploads.reminders import unsubscribe_token
from app.users.models import User, UserRole

S = RequirementStatus
OFFICER_GAPS = frozenset({S.MISSING, S.AWAITING_UPLOAD, S.REJECTED, S.EXPIRED, S.REFUSED})
EVERY = timedelta(days=7)
_HISTORY = timedelta(days=400)
_STATUS_FR = {
    S.MISSING: "manquant",
    S.AWAITING_UPLOAD: "à déposer par le titulaire",
    S.REJECTED: "refusé",
    S.EXPIRED: "expiré",
    S.REFUSED: "refusé par l'organisme émetteur",
}


@dataclass(frozen=True)
class Gap:
    supplier_id: uuid.UUID
    supplier_name: str
    supplier_key: str
    requirement: str
    status: str

    @property
    def key(self) -> str:
        return f"gap:{self.supplier_id}:{self.requirement}:{self.status}"

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "requirement": self.requirement, "status": self.status}

    def line(self) -> str:
        label = requirement_label_fr(RequirementType(self.requirement))
        state = _STATUS_FR.get(S(self.status), self.status)
        return f"{self.supplier_name} ({self.supplier_key}) : {label} — {state}"


async def buyer_gaps(session: AsyncSession, buyer_id: uuid.UUID) -> list[Gap]:
    query = (
        select(RequirementState, Supplier)
        .join(Supplier, col(Supplier.id) == RequirementState.supplier_id)
        .where(
            RequirementState.buyer_id == buyer_id,
            col(RequirementState.active),
            col(RequirementState.status).in_([s.value for s in OFFICER_GAPS]),
        )
        .order_by(col(Supplier.name), col(RequirementState.requirement))
    )
    return [
        Gap(
            supplier.id,
            supplier.name or "Entreprise sans nom",
            supplier.siren or str(supplier.foreign_id),
            state.requirement,
            str(state.status),
        )
        for state, supplier in (await session.exec(query)).all()
    ]


async def send_officer_digests(
    session: AsyncSession,
    *,
    mailer: Mailer,
    public_url: str,
    secret: str,
    now: datetime | None = None,
) -> int:
    """Send the digests due (7 days after each officer's previous one); returns how many were
    sent (0 without SMTP: nothing recorded)."""
    if not mailer.enabled:
        return 0
    now = now or utcnow()
    today = today_in_paris(now)
    officers = select(User).where(
        col(User.role).in_([UserRole.OFFICER.value, UserRole.ADMIN.value]),
        col(User.buyer_id).is_not(None),
        col(User.disabled_at).is_(None),
    )
    sent = 0
    for user in (await session.exec(officers)).all():
        if await session.get(ReminderOptOut, user.id) is not None:
            continue
        history = (
            await session.exec(
                select(ReminderSending).where(
                    ReminderSending.user_id == user.id, ReminderSending.at >= now - _HISTORY
                )
            )
        ).all()
        if any(s.at > now - EVERY for s in history):
            continue
        announced = {i.get("key") for s in history for i in s.items}
        assert user.buyer_id is not None
        fresh = [g for g in await buyer_gaps(session, user.buyer_id) if g.key not in announced]
        if not fresh:
            continue
        unsubscribe = f"{public_url}/portail/desabonnement/{unsubscribe_token(secret, user.id)}"
        if not await mailer.send(officer_digest_mail(user.email, fresh, public_url, unsubscribe)):
            continue  # logged by the mailer; tried again at the next run
        session.add(
            ReminderSending(
                user_id=user.id,
                sent_on=today,
                items=[g.as_json() for g in fresh],
                legal=False,
                at=now,
            )
        )
        await session.flush()
        sent += 1
    return sent


def officer_digest_mail(to: str, gaps: list[Gap], public_url: str, unsubscribe: str) -> Mail:
    page = f"{public_url}/ecarts"
    lines = [g.line() for g in gaps]
    text = (
        "Bonjour,\n\n"
        f"{len(gaps)} nouvel(s) écart(s) de vigilance depuis le dernier récapitulatif :\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + f"\n\nTous les écarts : {page}\n"
        + f"\nPour ne plus recevoir ce récapitulatif hebdomadaire : {unsubscribe}\n"
        + "\nVigie — obligation de vigilance des acheteurs publics\n"
    )
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = (
        '<!DOCTYPE html><html lang="fr"><body><p>Bonjour,</p>'
        f"<p>{len(gaps)} nouvel(s) écart(s) de vigilance depuis le dernier récapitulatif :</p>"
        f'<ul>{items}</ul><p><a href="{html.escape(page)}">Voir tous les écarts</a></p>'
        f'<p><a href="{html.escape(unsubscribe)}">Ne plus recevoir ce récapitulatif</a></p>'
        "<p>Vigie — obligation de vigilance des acheteurs publics</p></body></html>"
    )
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    subject = "Vigie : nouveaux écarts de vigilance de la semaine"
    return Mail(to=to, subject=subject, text=text, html=body, headers=headers)
