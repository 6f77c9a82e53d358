"""`vigie api-entreprise …`: diagnose the tokens and the configuration, purge the call log."""

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console

from app.buyers.tokens import token_claims, token_expiry
from app.config import Settings, get_settings

token_expires_at = token_expiry  # the names tests and scripts know
__all__ = ["api_entreprise_app", "token_claims", "token_expires_at"]

if TYPE_CHECKING:
    from app.api_calls.doctor import Report

api_entreprise_app = typer.Typer(
    help="API Entreprise: tokens, doctor, call log.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


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


@api_entreprise_app.command()
def doctor(
    as_json: Annotated[
        bool, typer.Option("--json", help="End with the report as one JSON line")
    ] = False,
) -> None:
    """Print the effective API Entreprise configuration and what is wrong with it; exit 1 when
    something would make checks fail. Tokens are shown by a short hash, never in clear."""
    report = asyncio.run(_doctor(get_settings()))
    _print_report(report)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":")))
    raise typer.Exit(1 if report.failing else 0)


async def _doctor(settings: Settings) -> "Report":
    from app.api_calls import doctor as d
    from app.compliance.evaluation import today_in_paris
    from app.db import make_engine, make_sessionmaker, unit_of_work
    from app.documents.crypto import load_keyring
    from app.integrations.api_entreprise import build_client

    now = datetime.now(UTC)
    engine = make_engine(settings.database_url)
    server = None
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            placeholder = d.Report(settings.environment, None, True, [], {})
            items = await d.tokens_to_check(
                session, settings, lambda: load_keyring(settings), placeholder, today_in_paris(now)
            )
            outcomes = await d.outcomes_last_24h(session, now)
        base_url = settings.api_entreprise.base_url
        if not base_url and not settings.is_production:  # production never starts the sandbox
            from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
            from app.integrations.sandbox.server import SandboxServer

            if items[0].token is None:
                items[0].token = SecretStr(SANDBOX_TOKEN)  # what the runtime uses then
            tokens = tuple(i.token.get_secret_value() for i in items if i.token is not None)
            server = SandboxServer(SandboxConfig(tokens=tokens))
            base_url = server.start()
        client = build_client(settings, base_url=base_url) if base_url else None
        try:
            report = d.configuration(settings, base_url, client)
            report.problems.extend(placeholder.problems)
            report.outcomes_24h = outcomes
            for item in items:
                await d.check_token(client, item, report, now)
            d.outcome_problems(report)
        finally:
            if client is not None:
                await client.aclose()
                await client.limiter.aclose()
        return report
    finally:
        if server is not None:
            server.stop()
        await engine.dispose()


def _print_report(report: "Report") -> None:
    where = report.base_url or "(unset: built-in sandbox, development only)"
    console.print(f"Environment: {report.environment}")
    console.print(f"Base URL: {where}")
    console.print(f"Allowed document hosts: {', '.join(report.document_hosts)}")
    console.print(
        "Limits: " + ", ".join(f"{k}={v}" for k, v in report.limits.items()), highlight=False
    )
    console.print("Tokens:")
    for t in report.tokens:
        expiry = (
            f"expires {t.expires_at[:10]} ({t.days_left} days)"
            if t.expires_at
            else "expiry unknown"
        )
        name = t.hash or "(none)"
        console.print(f"  - {t.owner}: {name}, {expiry}", highlight=False)
        if t.privileges is not None:
            missing = ", ".join(t.missing_scopes) or "none"
            console.print(f"    privileges: {', '.join(t.privileges)}; missing: {missing}")
    console.print("Outcomes, last 24 hours:")
    for endpoint, counts in report.outcomes_24h.items():
        console.print(f"  {endpoint}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    if not report.outcomes_24h:
        console.print("  (no call)")
    if not report.problems:
        console.print("[green]No problem found.[/green]")
    for p in report.problems:
        colour = "red" if p.severity == "error" else "yellow"
        console.print(f"[{colour}]{p.severity}[/{colour}] {p.code}: {p.message}")
