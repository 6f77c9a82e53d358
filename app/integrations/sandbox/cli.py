"""`vigie sandbox --port P`: run the local API Entreprise sandbox in the foreground."""

from __future__ import annotations

import typer

from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
from app.integrations.sandbox.profiles import PROFILES_TABLE, SCENARIOS_TABLE


def sandbox(
    port: int = typer.Option(8001, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    json_per_minute: int = typer.Option(250, help="Limit per minute, JSON family."),
    documents_per_minute: int = typer.Option(50, help="Limit per minute, documents family."),
    latency_ms: float = typer.Option(0.0, help="Latency added to each response (ms)."),
    error_rate: float = typer.Option(0.0, help="Share of calls failing with 502/504 (0 to 1)."),
    timeout_rate: float = typer.Option(0.0, help="Share of calls that do not answer in time."),
    seed: int = typer.Option(0, help="Seed for drawing the failures."),
    document_host: str | None = typer.Option(
        None, help="Serve documents under this host[:port] (e.g. localhost), not the API's."
    ),
) -> None:
    """Run the API Entreprise sandbox (same routes and responses as the real API)."""
    import uvicorn

    from app.integrations.sandbox.app import create_sandbox_app

    config = SandboxConfig(
        json_per_minute=json_per_minute,
        documents_per_minute=documents_per_minute,
        latency_ms=latency_ms,
        error_rate=error_rate,
        timeout_rate=timeout_rate,
        seed=seed,
        document_host=document_host,
    )
    typer.echo(f"API Entreprise sandbox on http://{host}:{port}")
    typer.echo(f"Token: {SANDBOX_TOKEN} (public development token, worthless)")
    for profile, siren, _ in PROFILES_TABLE + SCENARIOS_TABLE:
        typer.echo(f"  {profile:<24} {siren}")
    uvicorn.run(create_sandbox_app(config), host=host, port=port, log_level="info")


sandbox_app = typer.Typer(help="API Entreprise sandbox.")
sandbox_app.command("sandbox")(sandbox)
