"""The supplier page's address: Sirene's head office address once a check read it, else a
sentence saying why there is none yet (not yet checked, or not diffusible)."""

from sqlmodel import select

from app.keys.models import Role
from app.suppliers.models import Supplier
from tests.web.test_supplier_pages import seeded  # noqa: F401  (the seeded buyer, a fixture)

ADDRESS = "12 RUE DES ACACIAS, 69003 LYON 3E ARRONDISSEMENT"


async def _set(sessionmaker, siren: str, **values: object) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        row = (await session.exec(select(Supplier).where(Supplier.siren == siren))).one()
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        await session.commit()


def _address(html: str) -> str:
    return html.split("<dt>Adresse</dt>", 1)[1].split("</dd>", 1)[0]


async def test_the_page_shows_the_address_or_why_not(  # type: ignore[no-untyped-def]
    sign_in,
    seeded,  # noqa: F811
    sessionmaker,
    make_key,
    client,
):
    officer = (await sign_in(buyer=seeded.buyer)).client
    known, hidden = seeded.sirens["Alpha Nettoyage"], seeded.sirens["Gamma Services"]
    unchecked = seeded.sirens["Delta Nouveau"]
    await _set(sessionmaker, known, address=ADDRESS)
    await _set(sessionmaker, hidden, name=None)  # checked, but Sirene gave no name
    page = await officer.get(f"/fournisseurs/{known}")
    assert page.status_code == 200, page.text
    assert ADDRESS in _address(page.text)
    page = await officer.get(f"/fournisseurs/{unchecked}")
    assert "Adresse non encore relevée (elle l'est à la prochaine vérification)" in _address(
        page.text
    )
    page = await officer.get(f"/fournisseurs/{hidden}")
    assert "Non diffusible" in _address(page.text)
    # The API gives the same field.
    headers = await make_key(Role.OFFICER, buyer=seeded.buyer)
    assert (await client.get(f"/v1/suppliers/{known}", headers=headers)).json()[
        "address"
    ] == ADDRESS
    assert (await client.get(f"/v1/suppliers/{unchecked}", headers=headers)).json()[
        "address"
    ] is None
