"""What every `vigie …` command group shares: the consoles, one unit of work on the configured
database, and the SIREN/SIRET option parsers (a bad identifier is a usage error, exit 2)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic_core import PydanticCustomError
from rich.console import Console
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.errors import AppError
from app.identifiers import parse_siren, parse_siret

T = TypeVar("T")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def run_db(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work(session)` in one unit of work on the configured database; an `AppError` is
    printed (its code and French detail) and exits 1."""

    # Every table in the metadata, whatever this command imported: a key's foreign keys name
    # `buyers` and `suppliers`, and flushing it without them raised NoReferencedTableError.
    import app.models  # noqa: F401

    async def main() -> T:
        engine = make_engine(get_settings().database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AppError as exc:
        err.print(f"[red]Error ({exc.code})[/red]: {exc.detail}")
        raise typer.Exit(1) from None


def siret_option(value: str) -> str:
    """Typer parser: a bad SIRET is a usage error (exit code 2), said in English."""
    try:
        return parse_siret(value)
    except PydanticCustomError:
        raise typer.BadParameter(
            f"{value!r} is not a SIRET (14 digits whose last is the Luhn check digit)."
        ) from None


def siren_option(value: str) -> str:
    """Typer parser: a bad SIREN is a usage error (exit code 2), said in English."""
    try:
        return parse_siren(value)
    except PydanticCustomError:
        raise typer.BadParameter(
            f"{value!r} is not a SIREN (9 digits whose last is the Luhn check digit)."
        ) from None
