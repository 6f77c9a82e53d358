"""`vigie contractors invite` as an operator runs it: the portal link alone on the last line,
opening a contractor's session on its one supplier."""

import asyncio
import re
import sqlite3
from decimal import Decimal

import httpx

from app.buyers.service import get_buyer_by_siret
from app.config import Settings
from app.contracts.models import ContractCreate
from app.contracts.service import create_contract
from app.db import unit_of_work
from app.main import create_app
from tests.factories import contract_payload, random_siren, random_siret
from tests.test_cli import cli_env, invoke  # noqa: F401  (the fixture)
from tests.web.conftest import csrf_of

LINK = re.compile(r"^http://127\.0\.0\.1:8000/portail/lien/([A-Za-z0-9_-]{43})$")


def _contract(buyer_siret: str, siren: str) -> None:
    async def main() -> None:
        app = create_app(Settings())
        async with (
            app.router.lifespan_context(app),
            unit_of_work(app.state.sessionmaker) as session,
        ):
            buyer = await get_buyer_by_siret(session, buyer_siret)
            assert buyer is not None
            data = ContractCreate.model_validate(
                contract_payload(holders=[{"siren": siren, "name": "Dupont"}])
            )
            await create_contract(session, buyer.id, data, threshold=Decimal("5000"))

    asyncio.run(main())


def _open(token: str) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        app = create_app(Settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                page = await c.get(f"/portail/lien/{token}")
                assert page.status_code == 200, page.text
                answer = await c.post(
                    f"/portail/lien/{token}",
                    data={"csrf_token": csrf_of(page.text)},
                    headers={"Origin": "http://testserver"},
                )
                home = await c.get("/portail")
                return answer.status_code, home.text

    return asyncio.run(main())


def test_invite_prints_a_portal_link_that_signs_the_contractor_in(cli_env):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    siret, siren = random_siret(), random_siren()
    assert invoke("buyers", "create", "--siret", siret, "--name", "Ville Portail").exit_code == 0
    _contract(siret, siren)
    result = invoke("contractors", "invite", "--supplier", siren, "--email", "Gerant@Dupont.fr")
    assert result.exit_code == 0, result.output
    match = LINK.match(result.output.strip().splitlines()[-1])
    assert match, result.output
    with sqlite3.connect(cli_env) as db:
        assert db.execute("SELECT email, role FROM users").fetchall() == [
            ("gerant@dupont.fr", "contractor")
        ]
        (stored,) = db.execute("SELECT token_hash FROM sign_in_links").fetchone()
        assert stored != match.group(1)
        assert db.execute("SELECT count(*) FROM contractor_invitations").fetchone() == (1,)
    status, home = _open(match.group(1))
    assert status == 303 and "Mes demandes" in home and "Ville Portail" in home

    again = invoke(
        "contractors",
        "invite",
        "--supplier",
        siren,
        "--email",
        "gerant@dupont.fr",
        "--buyer",
        siret,
    )
    assert again.exit_code == 0 and "Existing contact" in again.output
    unknown = invoke("contractors", "invite", "--supplier", random_siren(), "--email", "a@b.fr")
    assert unknown.exit_code != 0
    assert invoke("contractors", "invite", "--supplier", "123", "--email", "a@b.fr").exit_code == 2
