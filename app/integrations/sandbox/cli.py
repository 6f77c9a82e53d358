"""`vigie sandbox --port P`: run the local API Entreprise sandbox in the foreground."""

from __future__ import annotations

import typer

from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
from app.integrations.sandbox.profiles import PROFILES_TABLE


def sandbox(
    port: int = typer.Option(8001, help="Port d'écoute."),
    host: str = typer.Option("127.0.0.1", help="Adresse d'écoute."),
    json_per_minute: int = typer.Option(250, help="Limite par minute, famille JSON."),
    documents_per_minute: int = typer.Option(50, help="Limite par minute, famille documents."),
    latency_ms: float = typer.Option(0.0, help="Latence ajoutée à chaque réponse (ms)."),
    error_rate: float = typer.Option(0.0, help="Part des appels en erreur 502/504 (0 à 1)."),
    timeout_rate: float = typer.Option(0.0, help="Part des appels qui ne répondent pas à temps."),
    seed: int = typer.Option(0, help="Graine du tirage des pannes."),
) -> None:
    """Lance le bac à sable API Entreprise (mêmes routes et réponses que l'API réelle)."""
    import uvicorn

    from app.integrations.sandbox.app import create_sandbox_app

    config = SandboxConfig(
        json_per_minute=json_per_minute,
        documents_per_minute=documents_per_minute,
        latency_ms=latency_ms,
        error_rate=error_rate,
        timeout_rate=timeout_rate,
        seed=seed,
    )
    typer.echo(f"Bac à sable API Entreprise sur http://{host}:{port}")
    typer.echo(f"Jeton : {SANDBOX_TOKEN} (jeton de développement public, sans valeur)")
    for profile, siren, _ in PROFILES_TABLE:
        typer.echo(f"  {profile:<24} {siren}")
    uvicorn.run(create_sandbox_app(config), host=host, port=port, log_level="info")


sandbox_app = typer.Typer(help="Bac à sable API Entreprise.")
sandbox_app.command("sandbox")(sandbox)
