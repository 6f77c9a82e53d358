"""`vigie contractors …`: invite a supplier's contact to the portal (prints its sign-in link)."""

import asyncio
from typing import Annotated

import typer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.buyers.service import get_buyer_by_siret
from app.cli_common import console, err, run_db, siren_option, siret_option
from app.config import get_settings
from app.contracts.models import Contract, ContractHolder
from app.errors import NotFound, ValidationFailed
from app.integrations.mail import Mailer
from app.suppliers.models import Supplier
from app.users.contractors import invitation_mail, invite_contractor
from app.users.service import issue_link, link_url

contractors_app = typer.Typer(help="Suppliers' contacts on the portal.", no_args_is_help=True)


async def _buyers_of(session: AsyncSession, supplier: Supplier, siret: str | None) -> list[Buyer]:
    """The named buyer (it must hold a contract with the supplier), or every buyer that does."""
    query = (
        select(Buyer)
        .join(Contract, col(Contract.buyer_id) == Buyer.id)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .where(ContractHolder.supplier_id == supplier.id)
        .distinct()
    )
    if siret is not None:
        buyer = await get_buyer_by_siret(session, siret)
        assert buyer is not None  # missing: NotFound, printed by run_db
        query = query.where(Buyer.id == buyer.id)
    buyers = list((await session.exec(query.order_by(col(Buyer.name)))).all())
    if not buyers:
        raise ValidationFailed(
            "No buyer holds a contract with this supplier"
            + (" under this SIRET." if siret else "."),
            code="no_contract",
        )
    return buyers


@contractors_app.command("invite")
def invite(
    supplier: Annotated[str, typer.Option(help="SIREN of the supplier", parser=siren_option)],
    email: Annotated[str, typer.Option(help="The contact's e-mail address")],
    buyer: Annotated[
        str | None,
        typer.Option(
            help="SIRET of the inviting buyer (default: every buyer holding a contract with it)",
            parser=siret_option,
        ),
    ] = None,
) -> None:
    """Invite the contact and print a portal sign-in link (alone on the last line); with SMTP
    configured it is e-mailed too. Single-use, valid WEB__LINK_MINUTES."""
    settings = get_settings()
    mailer = Mailer(settings.smtp)
    minutes = settings.web.link_minutes

    async def work(session: AsyncSession) -> tuple[str, str, list[str], str | None, bool]:
        found = (await session.exec(select(Supplier).where(Supplier.siren == supplier))).first()
        if found is None:
            raise NotFound(f"No supplier with SIREN {supplier}.", code="supplier_not_found")
        buyers = await _buyers_of(session, found, buyer)
        user = None
        created = False
        for one in buyers:
            user, new = await invite_contractor(
                session,
                email=email,
                supplier=found,
                buyer=one,
                invited_by="cli",
                mailed=mailer.enabled,
            )
            created = created or new
        assert user is not None
        token = await issue_link(session, user, minutes=minutes)
        return user.email, token, [b.name for b in buyers], found.name, created

    address, token, names, supplier_name, created = run_db(work)
    url = link_url(settings.public_url, token, portal=True)
    sent = mailer.enabled and asyncio.run(
        mailer.send(
            invitation_mail(
                address,
                url,
                buyer_name=", ".join(names),
                supplier_name=supplier_name,
                minutes=minutes,
            )
        )
    )
    console.print(
        f"{'Contact created' if created else 'Existing contact'}: {address} for supplier "
        f"{supplier}, invited by {', '.join(names)}."
    )
    if mailer.enabled and not sent:
        err.print(
            "[yellow]The e-mail could not be sent (see the log); use the link below.[/yellow]"
        )
    elif sent:
        console.print(f"Portal link e-mailed to {address}.")
    console.print(f"Portal sign-in link (single use, valid {minutes} minutes):", highlight=False)
    print(url)
