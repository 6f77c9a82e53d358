"""`vigie api-entreprise …`: diagnose the token, purge the call log."""

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from app.config import get_settings

api_entreprise_app = typer.Typer(help="API Entreprise: token, call log.", no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def token_claims(token: str) -> dict[str, Any]:
    """The JWT's claims, decoded WITHOUT verifying the signature (diagnosis only)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_expires_at(token: str) -> datetime | None:
    exp = token_claims(token).get("exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


@api_entreprise_app.command()
def privileges() -> None:
    """Call /privileges and print the token's rights and its expiry date."""
    from app.integrations.api_entreprise import OutcomeKind, build_client

    settings = get_settings()
    token = settings.api_entreprise.token
    if token is None:
        err.print("[red]API_ENTREPRISE__TOKEN is not set.[/red]")
        raise typer.Exit(1)
    expires = token_expires_at(token.get_secret_value())
    if expires is None:
        console.print("Token expiry: unknown (not a JWT)")
    else:
        days = (expires - datetime.now(UTC)).days
        console.print(f"Token expiry: {expires:%Y-%m-%d %H:%M} UTC ({days} days)")

    async def main() -> Any:
        server = None
        base_url = settings.api_entreprise.base_url
        if not base_url:
            from app.integrations.sandbox.config import SandboxConfig
            from app.integrations.sandbox.server import SandboxServer

            server = SandboxServer(SandboxConfig(tokens=(token.get_secret_value(),)))
            base_url = server.start()
            console.print(f"(local sandbox: {base_url})")
        client = build_client(settings, base_url=base_url)
        try:
            return await client.privileges()
        finally:
            await client.aclose()
            await client.limiter.aclose()
            if server is not None:
                server.stop()

    outcome = asyncio.run(main())
    if outcome.kind is not OutcomeKind.DELIVERED:
        err.print(
            f"[red]Failed ({outcome.kind}, HTTP {outcome.http_status})[/red]: {outcome.message}"
        )
        raise typer.Exit(1)
    console.print("Token rights:")
    for name in outcome.data.privileges:
        console.print(f"  - {name}")


@api_entreprise_app.command("purge-calls")
def purge_calls_command(
    months: Annotated[int, typer.Option(min=1, help="Retention in months")] = 36,
) -> None:
    """Delete the API Entreprise call log entries older than the retention period (36 months)."""
    from app.api_calls.service import purge_calls
    from app.db import make_engine, make_sessionmaker, unit_of_work

    async def main() -> int:
        engine = make_engine(get_settings().database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await purge_calls(session, months=months)
        finally:
            await engine.dispose()

    removed = asyncio.run(main())
    console.print(f"{removed} call(s) older than {months} months deleted.")
