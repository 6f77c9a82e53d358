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
from app.web.ratelimit import AttemptLimiter
from tests.factories import random_siren
from tests.uploads import samples
from tests.uploads.conftest import TODAY, seed_supplier, state_of, stored
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


async def _portal_sign_in(client: httpx.AsyncClient, url: str) -> httpx.Response:
    path = url.split("testserver", 1)[-1] if "testserver" in url else "/" + url.split("/", 3)[3]
    page = await client.get(path)
    assert page.status_code == 200, page.text
    assert "Se connecter" in page.text
    return await client.post(path, data={"csrf_token": csrf_of(page.text)}, headers=ORIGIN)


async def _invite(officer, siren: str, email: str) -> str:  # type: ignore[no-untyped-def]
    page = await officer.client.get(f"/fournisseurs/{siren}/depots")
    r = await officer.client.post(
        f"/fournisseurs/{siren}/inviter",
        data={"csrf_token": csrf_of(page.text), "email": email},
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    match = re.search(r'value="(http://[^"]+/portail/lien/[^"]+)"', r.text)
    assert match
    return match.group(1)


async def test_invited_contractor_files_once_for_every_buyer_and_follows_the_decisions(
    sign_in, app, sessionmaker, policy, settings
):
    first = await sign_in(role=UserRole.OFFICER)
    second = await sign_in(role=UserRole.OFFICER, buyer=None, email="agent@autre-ville.fr")
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, first.buyer, siren, policy)
    await seed_supplier(sessionmaker, second.buyer, siren, policy)
    await _invite(first, siren, "gerant@dupont.fr")
    url = await _invite(second, siren, "Gerant@Dupont.fr")  # the same contact, a second buyer

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as contractor:
        r = await _portal_sign_in(contractor, url)
        assert r.status_code == 303 and r.headers["location"] == "/portail"
        page = await contractor.get("/portail")
        assert page.status_code == 200
        text = page.text
        assert first.buyer.name in text and second.buyer.name in text
        assert "Attestation de vigilance URSSAF de moins de 6 mois" in text
        assert 'href="/portail/deposer/urssaf_vigilance"' in text

        form = await contractor.get("/portail/deposer/urssaf_vigilance")
        assert form.status_code == 200
        assert form.text.count('name="buyers"') == 2 and form.text.count(" checked") == 2
        token = csrf_of(form.text)
        before = await stored(sessionmaker, settings.archive.dir)

        # Error state: a hostile file comes back as the form with its reason, nothing stored.
        bad = await contractor.post(
            "/portail/deposer/urssaf_vigilance",
            data={"csrf_token": token, "buyers": [first.buyer.siret]},
            files={"file": ("attestation.pdf", samples.javascript(), "application/pdf")},
            headers=ORIGIN,
        )
        assert bad.status_code == 422 and "contenu actif" in bad.text and 'role="alert"' in bad.text
        none_ticked = await contractor.post(
            "/portail/deposer/urssaf_vigilance",
            data={"csrf_token": token},
            files={"file": ("a.pdf", samples.attestation(siren, issued=TODAY), "application/pdf")},
            headers=ORIGIN,
        )
        assert none_ticked.status_code == 422 and "Cochez au moins un acheteur" in none_ticked.text
        no_csrf = await contractor.post(
            "/portail/deposer/urssaf_vigilance",
            data={"buyers": [first.buyer.siret]},
            files={"file": ("a.pdf", samples.attestation(siren, issued=TODAY), "application/pdf")},
            headers=ORIGIN,
        )
        assert no_csrf.status_code == 403
        assert await stored(sessionmaker, settings.archive.dir) == before

        pdf = samples.attestation(siren, issued=TODAY - timedelta(days=2))
        sent = await contractor.post(
            "/portail/deposer/urssaf_vigilance",
            data={
                "csrf_token": token,
                "buyers": [first.buyer.siret, second.buyer.siret],
                "security_code": "A1B2C3D4E5F6G7H",
            },
            files={"file": ("attestation-urssaf.pdf", pdf, "application/pdf")},
            headers=ORIGIN,
        )
        assert sent.status_code == 303, sent.text
        done = await contractor.get(sent.headers["location"])
        assert done.status_code == 200 and "a bien été reçu" in done.text
        assert first.buyer.name in done.text and second.buyer.name in done.text
        for officer in (first, second):
            state = await state_of(sessionmaker, officer.buyer.id, supplier.id)
            assert state.status == "under_review"

        # Each buyer decides on its own copy; the contractor sees both decisions and the reason.
        for officer, decision, reason in (
            (first, "accept", ""),
            (second, "reject", "Le cachet de l'URSSAF est illisible"),
        ):
            queue = await officer.client.get("/revue")
            upload_id = re.search(r'href="/revue/([0-9a-f-]{36})"', queue.text)
            assert upload_id, queue.text
            r = await officer.client.post(
                f"/revue/{upload_id.group(1)}",
                data={"csrf_token": csrf_of(queue.text), "decision": decision, "reason": reason},
                headers=ORIGIN,
            )
            assert r.status_code == 303, r.text
        assert (await state_of(sessionmaker, first.buyer.id, supplier.id)).status == "valid"
        assert (await state_of(sessionmaker, second.buyer.id, supplier.id)).status == "rejected"
        history = await contractor.get("/portail/historique")
        assert (
            "Accepté" in history.text and "Le cachet de l&#39;URSSAF est illisible" in history.text
        )
        page = await contractor.get("/portail")
        assert "Motif du refus" in page.text

        # One supplier, none of the officers' pages.
        for path in ("/", "/fournisseurs", f"/fournisseurs/{siren}", "/revue", "/contrats"):
            assert (await contractor.get(path)).status_code == 404, path
        assert (await contractor.get(f"/portail/depots/{supplier.id}")).status_code == 404

    # An officer is no contractor; a visitor is sent to the portal's sign-in.
    assert (await first.client.get("/portail")).status_code == 404
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as visitor:
        r = await visitor.get("/portail")
        assert r.status_code == 303 and r.headers["location"] == "/portail/connexion"


async def test_another_suppliers_submission_is_not_visible(
    sign_in, app, client, make_key, sessionmaker, policy
):
    officer = await sign_in(role=UserRole.OFFICER)
    mine, theirs = random_siren(), random_siren()
    await seed_supplier(sessionmaker, officer.buyer, mine, policy)
    other = await seed_supplier(sessionmaker, officer.buyer, theirs, policy)
    body = await _contractor_upload(
        client, theirs, other, make_key, samples.attestation(theirs, issued=TODAY)
    )
    url = await _invite(officer, mine, "contact@mine.fr")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as contractor:
        await _portal_sign_in(contractor, url)
        r = await contractor.get(f"/portail/depots/{body['submission_id']}")
        assert r.status_code == 404
        history = await contractor.get("/portail/historique")
        assert "Vous n'avez encore envoyé aucun document." in history.text


async def test_portal_sign_in_asks_a_link_by_email_with_the_same_answer_for_anyone(
    make_app, settings, smtp_server, sessionmaker, make_buyer, policy
):
    settings = settings.model_copy(
        update={
            "smtp": settings.smtp.model_copy(update={"host": "127.0.0.1", "port": smtp_server.port})
        }
    )
    buyer = await make_buyer("Commune Courriel")
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    from app.users.contractors import invite_contractor

    async with unit_of_work(sessionmaker) as session:
        await invite_contractor(
            session, email="connu@dupont.fr", supplier=supplier, buyer=buyer, invited_by="test"
        )
    async with make_app(settings) as application:
        # Counted in this process: a shared Redis keeps other runs' attempts of this client's IP.
        application.state.attempts = AttemptLimiter(None)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = await c.get("/portail/connexion")
            token = csrf_of(page.text)
            answers = []
            for email in ("connu@dupont.fr", "inconnu@dupont.fr"):
                r = await c.post(
                    "/portail/connexion", data={"csrf_token": token, "email": email}, headers=ORIGIN
                )
                assert r.status_code == 200
                answers.append(re.sub(r"\s+", " ", r.text).split("<main", 1)[1])
            assert answers[0] == answers[1].replace("inconnu@", "connu@")
            assert len(smtp_server.messages) == 1
            message = smtp_server.messages[0].decode()
            link = re.search(r"http://\S+/portail/lien/[A-Za-z0-9_-]{43}", message)
            assert link and "connu@dupont.fr" in message
            r = await _portal_sign_in(c, link.group(0))
            assert r.status_code == 303
            token = csrf_of((await c.get("/portail")).text)  # a new CSRF cookie at sign-in
            bad = await c.post(
                "/portail/connexion", data={"csrf_token": token, "email": "x"}, headers=ORIGIN
            )
            assert bad.status_code == 422
            for _ in range(settings.web.attempts_per_address):
                r = await c.post(
                    "/portail/connexion",
                    data={"csrf_token": token, "email": "connu@dupont.fr"},
                    headers=ORIGIN,
                )
            assert r.status_code == 429
    async with unit_of_work(sessionmaker) as session:
        requests = (
            await session.exec(
                select(ComplianceRequest).where(ComplianceRequest.supplier_id == supplier.id)
            )
        ).all()
        assert len(requests) == 1


async def test_an_officers_link_does_not_open_the_portal(browser, sessionmaker, make_buyer):
    from tests.web.conftest import link_for

    _, token = await link_for(sessionmaker, await make_buyer(), "agent@ville.fr")
    r = await browser.get(f"/portail/lien/{token}")
    assert r.status_code == 404
    r = await browser.get("/portail/lien/inconnu")
    assert r.status_code == 404 and "Demander un nouveau lien" in r.text
