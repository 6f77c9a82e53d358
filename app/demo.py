"""Demo data for a newcomer's first `make run`: one buyer, contracts whose holders cover every
sandbox profile, and an officer key printed once. Nothing is seeded when a buyer already exists.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.config import Settings
from app.contracts.models import ContractCreate
from app.contracts.service import create_contract
from app.integrations.sandbox.profiles import DEMO_SIRENS
from app.keys.models import Role
from app.keys.service import create_key
from app.users.models import UserRole
from app.users.service import invite_user, issue_link

DEMO_BUYER_SIRET = "21990000800018"  # fictional, Luhn-valid
DEMO_BUYER_NAME = "Commune de Démonstration"
# The demo's officer (with the buyer's admin rights, so every page can be seen).
DEMO_OFFICER_EMAIL = "agent@commune-demonstration.fr"

# (profile of the sandbox, contract object, amount HT, CPV)
DEMO_CONTRACTS = [
    ("compliant", "Entretien des espaces verts", "48000.00", "77310000"),
    ("urssaf_refused", "Nettoyage des locaux administratifs", "36500.00", "90910000"),
    ("ceased", "Maintenance des ascenseurs", "12800.00", "50750000"),
    ("out_of_perimeter", "Prestations de traduction", "7200.00", "79530000"),
    ("manual_review", "Fourniture de mobilier scolaire", "22450.50", "39160000"),
    ("struck_off", "Location de véhicules utilitaires", "18000.00", "34100000"),
    ("collective_proceedings", "Travaux de voirie", "154000.00", "45233140"),
]


@dataclass(frozen=True)
class DemoSeed:
    buyer: Buyer
    officer_key: str
    contracts: int
    sign_in_token: str


async def seed_demo(
    session: AsyncSession, settings: Settings, *, today: date | None = None
) -> DemoSeed | None:
    """Seed once, on an instance with no buyer at all."""
    if (await session.exec(select(Buyer).limit(1))).first() is not None:
        return None
    today = today or date.today()
    buyer = Buyer(siret=DEMO_BUYER_SIRET, name=DEMO_BUYER_NAME)
    session.add(buyer)
    await session.flush()
    count = 0
    for index, (profile, obj, amount, cpv) in enumerate(DEMO_CONTRACTS, start=1):
        siren = DEMO_SIRENS.get(profile)
        if siren is None:
            continue
        data = ContractCreate.model_validate(
            {
                "reference": f"DEMO-{today.year}-{index:03d}",
                "object": obj,
                "amount_ht": amount,
                "notified_on": today - timedelta(days=20 * index),
                "duration_months": 24,
                "holders": [{"siren": siren}],
                "cpv_code": cpv,
            }
        )
        await create_contract(session, buyer.id, data, threshold=settings.vigilance_threshold_ht)
        count += 1
    foreign = ContractCreate.model_validate(
        {
            "reference": f"DEMO-{today.year}-{len(DEMO_CONTRACTS) + 1:03d}",
            "object": "Études géotechniques",
            "amount_ht": "26000",
            "notified_on": today - timedelta(days=10),
            "duration_months": 12,
            "holders": [
                {"foreign_id": "DE811907980", "country": "DE", "name": "Baugrund Institut GmbH"}
            ],
        }
    )
    await create_contract(session, buyer.id, foreign, threshold=settings.vigilance_threshold_ht)
    issued = await create_key(session, role=Role.OFFICER, buyer_id=buyer.id, label="démo")
    token = await demo_sign_in_token(session, settings)
    assert token is not None
    return DemoSeed(buyer=buyer, officer_key=issued.key, contracts=count + 1, sign_in_token=token)


async def demo_sign_in_token(session: AsyncSession, settings: Settings) -> str | None:
    """A fresh sign-in link for the demo officer (created on first use), or None when the demo
    buyer is not on this instance."""
    buyer = (await session.exec(select(Buyer).where(Buyer.siret == DEMO_BUYER_SIRET))).first()
    if buyer is None:
        return None
    user, _ = await invite_user(session, email=DEMO_OFFICER_EMAIL, buyer=buyer, role=UserRole.ADMIN)
    return await issue_link(session, user, minutes=settings.web.link_minutes)
