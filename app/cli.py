"""`vigie …`: the operator's commands."""

from typing import Annotated

import typer
from rich.console import Console
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api_calls.cli import api_entreprise_app
from app.buyers.cli import token_app
from app.cli_common import console, err, run_db, siren_option, siret_option
from app.compliance.cli import check_command, sweep_command
from app.config import get_settings
from app.documents.cli import archive_app
from app.imports.cli import import_command
from app.integrations.sandbox.cli import sandbox_app
from app.keys.models import Role
from app.uploads.cli import contractors_app
from app.users.cli import users_app

app = typer.Typer(help="Vigie: the duty of vigilance of public buyers.", no_args_is_help=True)

# Commands that call the upstream or archive evidence: in production they refuse to run on the
# built-in sandbox (the operator's tools — migrate, keys, buyers, archive, api-entreprise — stay
# available to fix the configuration).
UPSTREAM_COMMANDS = frozenset({"serve", "sweep", "check", "demo"})


@app.callback()
def _refuse_unsafe_production(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand not in UPSTREAM_COMMANDS:
        return
    from app.runtime import UnsafeConfiguration, refuse_unsafe_production

    try:
        refuse_unsafe_production(get_settings())
    except UnsafeConfiguration as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]Error[/red]: {exc}")
        raise typer.Exit(1) from None


buyers_app = typer.Typer(help="Buyers (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(buyers_app, name="buyers")
buyers_app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")
app.add_typer(archive_app, name="archive")
app.add_typer(api_entreprise_app, name="api-entreprise")
app.add_typer(sandbox_app)
app.add_typer(users_app, name="users")
app.add_typer(contractors_app, name="contractors")
app.command("sweep")(sweep_command)
app.command("check")(check_command)
app.command("import")(import_command)


@app.command()
def migrate() -> None:
    """Apply the database migrations (alembic upgrade heads)."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url)
    console.print("Database up to date.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Defaults to HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Defaults to PORT")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="WEB_CONCURRENCY",
            help="uvicorn processes sharing the port (distributed mode, REDIS_URL, beyond 1)",
        ),
    ] = 1,
) -> None:
    """Start the API, the web pages and (embedded mode) the in-process worker."""
    import uvicorn

    from app.observability import access_log_enabled

    settings = get_settings()
    if workers > 1 and settings.embedded and settings.jobs.autostart is not False:
        # Each process would run its own job runner and clocks over the same database.
        err.print(
            "[red]Error[/red]: several workers need the distributed mode (REDIS_URL and an arq "
            "worker), or JOBS__AUTOSTART=false."
        )
        raise typer.Exit(2)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=access_log_enabled(settings),
    )


@app.command()
def demo() -> None:
    """Seed the demo buyer, its contracts and an officer key on an empty instance (DEMO=false:
    never), then print a sign-in link for the demo officer (development only)."""
    settings = get_settings()
    if not settings.demo:
        return
    from app.demo import demo_sign_in_token, seed_demo
    from app.users.service import link_url

    async def work(session: AsyncSession):
        seeded = await seed_demo(session, settings)
        token = None
        if seeded is None and not settings.is_production:
            token = await demo_sign_in_token(session, settings)
        return seeded, token

    seeded, token = run_db(work)
    base = settings.public_url
    if seeded is not None:
        console.print(
            f'Demo: buyer "{seeded.buyer.name}" (SIRET {seeded.buyer.siret}), '
            f"{seeded.contracts} contracts whose holders cover every status.\n"
            f"Try: curl -H 'Authorization: Bearer <key>' {base}/v1/contracts\n"
            f"API documentation: {base}/docs\n"
            'Demo "officer" key (shown only once):'
        )
        print(seeded.officer_key)
        token = seeded.sign_in_token
    else:
        console.print(f"Vigie starts on {base} (documentation: {base}/docs).")
    if token is not None:
        console.print(
            f"Open the pages as the demo officer (single-use link, valid "
            f"{settings.web.link_minutes} minutes):",
            highlight=False,
        )
        print(link_url(base, token))


@buyers_app.command("create")
def buyers_create(
    siret: Annotated[str, typer.Option(help="SIRET of the buyer", parser=siret_option)],
    name: Annotated[str, typer.Option(help="Name of the buyer")],
) -> None:
    """Register a buyer."""
    from app.buyers.service import create_buyer

    async def work(session: AsyncSession):
        buyer = await create_buyer(session, siret=siret, name=name)
        return buyer.id

    buyer_id = run_db(work)
    console.print(f"Buyer created: {siret} ({name}), id {buyer_id}")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, officer, erp or contractor")],
    buyer: Annotated[
        str | None, typer.Option(help="SIRET of the buyer (officer, erp)", parser=siret_option)
    ] = None,
    supplier: Annotated[
        str | None, typer.Option(help="SIREN of the supplier (contractor)", parser=siren_option)
    ] = None,
    label: Annotated[str | None, typer.Option(help="A note to recognise the key")] = None,
) -> None:
    """Create an API key; the key itself is printed once, alone on the last line."""
    from app.keys.service import create_key_for

    async def work(session: AsyncSession):
        issued = await create_key_for(
            session, role=role, buyer_siret=buyer, supplier_siren=supplier, label=label
        )
        return issued.record.prefix, issued.key

    prefix, key = run_db(work)
    console.print(f"Key {prefix} ({role.value}) created. Keep it: it will not be shown again.")
    print(key)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's visible prefix, vg_xxxxxxxx")],
) -> None:
    """Revoke a key at once."""
    from app.keys.service import revoke_key

    async def work(session: AsyncSession):
        # Every server's key cache forgets its verified keys (through Redis when there is one).
        url = get_settings().redis_url
        redis = None
        if url:
            from redis.asyncio import Redis

            redis = Redis.from_url(url)
        try:
            await revoke_key(session, prefix, redis=redis)
        finally:
            if redis is not None:
                await redis.aclose()

    run_db(work)
    console.print(f"Key {prefix} revoked.")
