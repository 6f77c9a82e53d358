"""`vigie users …`: invite an officer or an admin of a buyer (prints a sign-in link)."""

import asyncio
from typing import Annotated

import typer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.service import get_buyer_by_siret
from app.cli_common import console, err, run_db, siret_option
from app.config import get_settings
from app.integrations.mail import Mailer
from app.users.models import UserRole
from app.users.service import invite_user, issue_link, link_url, sign_in_mail

users_app = typer.Typer(help="People who sign in to the pages.", no_args_is_help=True)


@users_app.command("invite")
def invite(
    email: Annotated[str, typer.Option(help="The person's e-mail address")],
    buyer: Annotated[str, typer.Option(help="SIRET of the buyer", parser=siret_option)],
    role: Annotated[UserRole, typer.Option(help="officer or admin")] = UserRole.OFFICER,
) -> None:
    """Create the account if needed and print a sign-in link (alone on the last line); with
    SMTP configured it is e-mailed too. The link is single-use and valid WEB__LINK_MINUTES."""
    settings = get_settings()
    if role is UserRole.CONTRACTOR:
        raise typer.BadParameter("contractors are invited with `vigie contractors invite`")

    async def work(session: AsyncSession) -> tuple[str, str, str, bool]:
        found = await get_buyer_by_siret(session, buyer)
        assert found is not None  # missing: NotFound, printed by run_db
        user, created = await invite_user(session, email=email, buyer=found, role=role)
        token = await issue_link(session, user, minutes=settings.web.link_minutes)
        return user.email, found.name, token, created

    address, buyer_name, token, created = run_db(work)
    url = link_url(settings.public_url, token)
    mailer = Mailer(settings.smtp)
    sent = mailer.enabled and asyncio.run(
        mailer.send(
            sign_in_mail(address, url, buyer_name=buyer_name, minutes=settings.web.link_minutes)
        )
    )
    console.print(
        f"{'Account created' if created else 'Existing account'}: {address} ({role.value}) "
        f"for {buyer_name}."
    )
    if mailer.enabled and not sent:
        err.print(
            "[yellow]The e-mail could not be sent (see the log); use the link below.[/yellow]"
        )
    elif sent:
        console.print(f"Sign-in link e-mailed to {address}.")
    console.print(
        f"Sign-in link (single use, valid {settings.web.link_minutes} minutes):", highlight=False
    )
    print(url)
