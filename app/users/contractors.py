"""Contractors: a supplier's contact invited to the portal by a buyer (or several).

One local account per (e-mail, supplier), role `contractor`, tied to its supplier and to no buyer;
each buyer's invitation is a row of `contractor_invitations`. The contact's session sees that one
supplier and, of it, only what the buyers that invited it ask for. Inviting is asking the
contractor for its documents: a request is recorded (the grace period runs from it, as for any
request, app/compliance/requests.py).
"""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.compliance.models import RequestChannel
from app.compliance.requests import record_request
from app.integrations.mail import Mail
from app.suppliers.models import Supplier
from app.uploads.models import ContractorInvitation
from app.users.models import LOCAL_ISSUER, User, UserRole
from app.users.service import audit, normalize_email


async def invite_contractor(
    session: AsyncSession,
    *,
    email: str,
    supplier: Supplier,
    buyer: Buyer,
    invited_by: str | None,
    mailed: bool = False,
) -> tuple[User, bool]:
    """The contact's account for this supplier (created if needed) and `buyer`'s invitation.
    Returns (user, created). Records the request to the contractor (e-mail or handed link)."""
    address = normalize_email(email)
    query = select(User).where(
        User.email == address,
        User.supplier_id == supplier.id,
        User.role == UserRole.CONTRACTOR,
        User.issuer == LOCAL_ISSUER,
    )
    user = (await session.exec(query)).first()
    created = user is None
    if user is None:
        user = User(email=address, role=UserRole.CONTRACTOR.value, supplier_id=supplier.id)
    user.disabled_at = None
    session.add(user)
    await session.flush()
    invitation = (
        await session.exec(
            select(ContractorInvitation).where(
                ContractorInvitation.user_id == user.id, ContractorInvitation.buyer_id == buyer.id
            )
        )
    ).first()
    if invitation is None:
        session.add(
            ContractorInvitation(
                user_id=user.id, buyer_id=buyer.id, supplier_id=supplier.id, invited_by=invited_by
            )
        )
        await session.flush()
    await audit(
        session,
        "auth.invited",
        user,
        created=created,
        buyer_id=str(buyer.id),
        supplier_id=str(supplier.id),
        by=invited_by,
    )
    await record_request(
        session,
        buyer.id,
        supplier.id,
        channel=RequestChannel.EMAIL if mailed else RequestChannel.LINK,
        by=invited_by,
        note=f"Invitation au portail des titulaires ({address})",
    )
    return user, created


async def contractor_accounts(session: AsyncSession, email: str) -> list[User]:
    """The active contractor accounts of an address (one per supplier it was invited for)."""
    query = select(User).where(
        User.email == email.strip().lower(),
        User.role == UserRole.CONTRACTOR,
        User.issuer == LOCAL_ISSUER,
        col(User.disabled_at).is_(None),
    )
    return list((await session.exec(query.order_by(col(User.created_at)))).all())


async def inviting_buyers(session: AsyncSession, user_id: uuid.UUID) -> list[Buyer]:
    """The buyers that invited this contact, by name."""
    query = (
        select(Buyer)
        .join(ContractorInvitation, col(ContractorInvitation.buyer_id) == Buyer.id)
        .where(ContractorInvitation.user_id == user_id)
        .order_by(col(Buyer.name))
    )
    return list((await session.exec(query)).all())


def invitation_mail(
    to: str, url: str, *, buyer_name: str, supplier_name: str | None, minutes: int
) -> Mail:
    company = f" ({supplier_name})" if supplier_name else ""
    return Mail(
        to=to,
        subject=f"{buyer_name} vous invite à déposer vos documents de vigilance",
        text=(
            "Bonjour,\n\n"
            f"{buyer_name} vous demande les documents de vigilance de votre entreprise{company} "
            "(articles L8222-1 et D8222-5 du code du travail). Vous pouvez les déposer sur "
            "Vigie, une seule fois pour tous les acheteurs qui les attendent :\n\n"
            f"{url}\n\n"
            f"Ce lien est valable {minutes} minutes et ne sert qu'une fois. Ensuite, demandez un "
            "nouveau lien depuis la page de connexion du portail avec cette même adresse.\n\n"
            "Vigie — obligation de vigilance des acheteurs publics\n"
        ),
    )


def portal_sign_in_mail(to: str, url: str, *, minutes: int) -> Mail:
    return Mail(
        to=to,
        subject="Votre lien de connexion au portail des titulaires",
        text=(
            "Bonjour,\n\n"
            f"Voici votre lien de connexion au portail des titulaires de Vigie :\n\n{url}\n\n"
            f"Il est valable {minutes} minutes et ne sert qu'une fois. Si vous n'avez rien "
            "demandé, ignorez ce message : personne ne peut se connecter sans ce lien.\n\n"
            "Vigie — obligation de vigilance des acheteurs publics\n"
        ),
    )
