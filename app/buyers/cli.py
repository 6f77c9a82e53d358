"""`vigie buyers token …`: a buyer's own API Entreprise token, read from standard input."""

import getpass
import sys
import uuid
from datetime import datetime
from typing import Annotated

import typer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cli_common import console, err, run_db, siret_option
from app.config import get_settings

token_app = typer.Typer(
    help="A buyer's own API Entreprise token (else the platform's is used).",
    no_args_is_help=True,
)


SiretOption = Annotated[str, typer.Option(help="SIRET of the buyer", parser=siret_option)]


async def _buyer_id(session: AsyncSession, siret: str) -> uuid.UUID:
    from app.buyers.service import get_buyer_by_siret

    buyer = await get_buyer_by_siret(session, siret)
    assert buyer is not None
    return buyer.id


@token_app.command("set")
def token_set(siret: SiretOption) -> None:
    """Store the buyer's token, read from standard input (never from the command line),
    encrypted under the archive's master keys."""
    from app.buyers.tokens import clean_token, days_left, set_token
    from app.documents.crypto import load_keyring
    from app.errors import AppError

    raw = getpass.getpass("Token: ") if sys.stdin.isatty() else sys.stdin.read()
    try:
        token = clean_token(raw)
    except AppError as exc:
        err.print(f"[red]Error ({exc.code})[/red]: {exc.detail}")
        raise typer.Exit(1) from None
    keyring = load_keyring(get_settings())

    async def work(session: AsyncSession) -> tuple[str, datetime | None]:
        row = await set_token(session, keyring, await _buyer_id(session, siret), token)
        return row.token_hash, row.expires_at

    digest, expires_at = run_db(work)
    console.print(f"Token {digest} stored for buyer {siret}.")
    if expires_at is None:
        console.print("[yellow]Expiry unknown: not a JWT with an `exp`.[/yellow]")
    else:
        console.print(f"Expires {expires_at:%Y-%m-%d} ({days_left(expires_at)} days).")


@token_app.command("clear")
def token_clear(siret: SiretOption) -> None:
    """Remove the buyer's token: its checks use the platform's token from the next call."""
    from app.buyers.tokens import clear_token

    async def work(session: AsyncSession) -> bool:
        return await clear_token(session, await _buyer_id(session, siret))

    if run_db(work):
        console.print(f"Token cleared for buyer {siret}: the platform token applies.")
    else:
        console.print(f"Buyer {siret} had no token of its own.")
