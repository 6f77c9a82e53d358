"""`/contrats` and `/contrats/{id}`: the buyer's contracts only, search and status filter, the
holders' statuses with their reasons, and the dossier ZIP (journaled, as from the API)."""

import io
import zipfile
from decimal import Decimal

from sqlmodel import select

from app.contracts.models import ContractCreate
from app.contracts.service import create_contract
from app.db import unit_of_work
from app.documents.models import JournalEntry
from tests.factories import contract_payload, random_siren


async def _contract(sessionmaker, buyer, **overrides):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        data = ContractCreate.model_validate(contract_payload(**overrides))
        saved = await create_contract(session, buyer.id, data, threshold=Decimal("5000"))
    return getattr(saved, "contract", saved)


async def test_the_list_shows_this_buyers_contracts_with_french_formats(
    sign_in, sessionmaker, make_buyer
):
    buyer = await make_buyer("Commune des Contrats")
    await _contract(
        sessionmaker,
        buyer,
        reference="VOIRIE-2026-01",
        object="Travaux de voirie",
        amount_ht="154000.50",
    )
    await _contract(
        sessionmaker,
        buyer,
        reference="NETTOYAGE-7",
        object="Nettoyage des locaux",
        amount_ht="12345.67",
    )
    other = await make_buyer("Autre Acheteur")
    await _contract(sessionmaker, other, reference="SECRET-99", object="Marché d'un autre")
    officer = await sign_in(buyer=buyer)
    page = await officer.client.get("/contrats")
    assert page.status_code == 200
    assert "VOIRIE-2026-01" in page.text and "NETTOYAGE-7" in page.text
    assert "SECRET-99" not in page.text
    assert "154\u202f000,50\xa0€" in page.text or "154 000,50 €" in page.text.replace(
        "\u202f", " "
    ).replace("\xa0", " ")
    assert "Non vérifié" in page.text  # nothing checked yet: the status says so, in words
    found = await officer.client.get("/contrats", params={"q": "voirie"})
    assert "VOIRIE-2026-01" in found.text and "NETTOYAGE-7" not in found.text
    compliant = await officer.client.get("/contrats", params={"statut": "compliant"})
    assert (
        "VOIRIE-2026-01" not in compliant.text and "Aucun contrat ne correspond" in compliant.text
    )
    bad = await officer.client.get("/contrats", params={"statut": "pas-un-statut"})
    assert bad.status_code in {400, 422} and "text/html" in bad.headers["content-type"]


async def test_a_contract_page_and_its_dossier(sign_in, sessionmaker, make_buyer):
    buyer = await make_buyer("Commune du Dossier")
    siren = random_siren()
    contract = await _contract(
        sessionmaker,
        buyer,
        reference="DOSSIER-1",
        object="Maintenance",
        holders=[{"siren": siren, "name": "Ascenseurs Réunis"}],
    )
    officer = await sign_in(buyer=buyer)
    page = await officer.client.get(f"/contrats/{contract.id}")
    assert page.status_code == 200
    assert "<title>Contrat DOSSIER-1 — Vigie</title>" in page.text
    assert f'href="/fournisseurs/{siren}"' in page.text and "Ascenseurs Réunis" in page.text
    assert "l&#39;attestation de vigilance URSSAF" in page.text.lower() or "URSSAF" in page.text
    dossier = await officer.client.get(f"/contrats/{contract.id}/dossier")
    assert dossier.status_code == 200 and dossier.headers["content-type"] == "application/zip"
    assert 'filename="dossier-conformite-DOSSIER-1.zip"' in dossier.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(dossier.content)).namelist()
    assert "manifest.json" in names
    async with unit_of_work(sessionmaker) as session:
        entry = (
            await session.exec(
                select(JournalEntry).where(JournalEntry.subject == f"contract:{contract.id}")
            )
        ).one()
    assert entry.data["key_prefix"] == f"user:{officer.user.id}"


async def test_another_buyers_contract_is_a_404_page(sign_in, sessionmaker, make_buyer):
    other = await make_buyer("Acheteur Voisin")
    theirs = await _contract(sessionmaker, other, reference="VOISIN-1")
    officer = await sign_in()
    for path in (
        f"/contrats/{theirs.id}",
        f"/contrats/{theirs.id}/dossier",
        "/contrats/pas-un-uuid",
    ):
        answer = await officer.client.get(path)
        assert answer.status_code == 404, path
        assert "Page introuvable" in answer.text and "VOISIN-1" not in answer.text


async def test_signed_out_visitors_are_sent_to_sign_in(client):
    answer = await client.get("/contrats")
    assert (
        answer.status_code == 303 and answer.headers["location"] == "/connexion?suivant=/contrats"
    )
