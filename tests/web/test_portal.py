"""The contractor portal and its officers' side, through the app as a browser uses it: the review
queue and decision (CSRF, PRG, error state), invitations (form and CLI), sign-in by portal link,
`Mes demandes`, the upload form with its error state, file once answer everyone, the history;
a contractor sees one supplier only and none of the officers' pages."""

import re
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from app.compliance.models import ComplianceRequest
from app.db import unit_of_work
from app.keys.models import Role
from app.users.models import UserRole
from tests.factories import random_siren
from tests.uploads import samples
from tests.uploads.conftest import TODAY, seed_supplier, state_of
from tests.web.conftest import csrf_of

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def policy(app):
    return app.state.compliance.policy


@pytest.fixture
async def browser(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _contractor_upload(client, siren, supplier, make_key, pdf):
    headers = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    r = await client.post(
        f"/v1/suppliers/{siren}/uploads",
        files={"file": ("attestation.pdf", pdf, "application/pdf")},
        data={"requirement": "urssaf_vigilance"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_officer_reviews_an_upload_from_the_queue(
    sign_in, client, make_key, sessionmaker, policy
):
    officer = await sign_in(role=UserRole.OFFICER)
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, officer.buyer, siren, policy)
    pdf = samples.attestation(siren, issued=TODAY - timedelta(days=8))
    body = await _contractor_upload(client, siren, supplier, make_key, pdf)
    upload_id = body["buyers"][0]["upload_id"]

    page = await officer.client.get("/revue")
    assert page.status_code == 200
    assert (
        f'href="/revue/{upload_id}"' in page.text and "attestation de vigilance URSSAF" in page.text
    )
    page = await officer.client.get(f"/revue/{upload_id}")
    assert page.status_code == 200
    assert "A1B2C3D4E5F6G7H" in page.text and "code non vérifié" in page.text
    assert "Sans contenu actif" in page.text and "Accepter" in page.text
    file = await officer.client.get(f"/revue/{upload_id}/document")
    assert file.status_code == 200 and file.content == pdf

    # Refusing needs a reason: the form comes back with its error, nothing decided.
    token = csrf_of(page.text)
    r = await officer.client.post(
        f"/revue/{upload_id}",
        data={"csrf_token": token, "decision": "reject", "reason": " "},
        headers=ORIGIN,
    )
    assert r.status_code == 422 and "Indiquez la raison du refus" in r.text
    assert 'aria-invalid="true"' in r.text
    # Without the CSRF field: refused.
    r = await officer.client.post(
        f"/revue/{upload_id}", data={"decision": "accept"}, headers=ORIGIN
    )
    assert r.status_code == 403
    assert (await state_of(sessionmaker, officer.buyer.id, supplier.id)).status == "under_review"

    r = await officer.client.post(
        f"/revue/{upload_id}",
        data={"csrf_token": token, "decision": "accept", "reason": ""},
        headers=ORIGIN,
    )
    assert r.status_code == 303 and r.headers["location"] == "/revue?fait=accept"
    page = await officer.client.get(r.headers["location"])
    assert "Le document est accepté." in page.text and f"/revue/{upload_id}" not in page.text
    assert (await state_of(sessionmaker, officer.buyer.id, supplier.id)).status == "valid"


async def test_another_buyers_upload_is_the_404_page_and_signed_out_is_redirected(
    sign_in, client, make_buyer, make_key, sessionmaker, policy, browser
):
    officer = await sign_in(role=UserRole.OFFICER)
    other_buyer = await make_buyer("Commune Voisine")
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, other_buyer, siren, policy)
    body = await _contractor_upload(
        client, siren, supplier, make_key, samples.attestation(siren, issued=TODAY)
    )
    upload_id = body["buyers"][0]["upload_id"]
    for path in (
        f"/revue/{upload_id}",
        f"/revue/{upload_id}/document",
        f"/fournisseurs/{siren}/depots",
    ):
        r = await officer.client.get(path)
        assert r.status_code == 404, path
    r = await browser.get("/revue")
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")


async def test_the_supplier_section_invites_the_contractor_and_shows_the_link_without_smtp(
    sign_in, sessionmaker, policy
):
    officer = await sign_in(role=UserRole.OFFICER)
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, officer.buyer, siren, policy)
    page = await officer.client.get(f"/fournisseurs/{siren}/depots")
    assert page.status_code == 200 and "Inviter le titulaire" in page.text
    token = csrf_of(page.text)
    r = await officer.client.post(
        f"/fournisseurs/{siren}/inviter",
        data={"csrf_token": token, "email": "pas-une-adresse"},
        headers=ORIGIN,
    )
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    r = await officer.client.post(
        f"/fournisseurs/{siren}/inviter",
        data={"csrf_token": token, "email": "Gerant@Dupont.fr"},
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    link = re.search(r'value="(http://[^"]+/portail/lien/[^"]+)"', r.text)
    assert link, r.text
    async with unit_of_work(sessionmaker) as session:
        requests = (
            await session.exec(
                select(ComplianceRequest).where(ComplianceRequest.supplier_id == supplier.id)
            )
        ).all()
        assert [q.channel for q in requests] == ["link"]
