from pydantic_core import PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.errors import Conflict, NotFound, ValidationFailed
from app.identifiers import parse_siret


async def create_buyer(session: AsyncSession, *, siret: str, name: str) -> Buyer:
    try:
        siret = parse_siret(siret)
    except PydanticCustomError as exc:
        raise ValidationFailed(exc.message(), code="invalid_identifier") from None
    if not name.strip():
        raise ValidationFailed("Le nom de l'acheteur est obligatoire.", code="missing_field")
    if await get_buyer_by_siret(session, siret, missing_ok=True):
        raise Conflict(f"L'acheteur de SIRET {siret} existe déjà.", code="buyer_exists")
    buyer = Buyer(siret=siret, name=name.strip())
    session.add(buyer)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"L'acheteur de SIRET {siret} existe déjà.", code="buyer_exists") from None
    return buyer


async def get_buyer_by_siret(
    session: AsyncSession, siret: str, *, missing_ok: bool = False
) -> Buyer | None:
    buyer = (await session.exec(select(Buyer).where(Buyer.siret == siret))).first()
    if buyer is None and not missing_ok:
        raise NotFound(f"Aucun acheteur de SIRET {siret}.", code="buyer_not_found")
    return buyer


async def list_buyers(session: AsyncSession) -> list[Buyer]:
    return list((await session.exec(select(Buyer).order_by(col(Buyer.id)))).all())
