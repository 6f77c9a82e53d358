"""`/parametres`: the buyer's admins manage accounts, API keys and access requests; officers
get the 403 page; everything is scoped to the buyer and journaled."""

from html import unescape

import httpx
import pytest
from sqlmodel import col, select

from app.config import SmtpSettings
from app.db import unit_of_work
from app.documents.models import JournalEntry
from app.keys.models import ApiKey
from app.users.access import Agent, admit_agent
from app.users.models import AccessRequest, SignInLink, User, UserRole
from tests.web.conftest import csrf_of, link_for, sign_in_with

ORIGIN = {"Origin": "http://testserver"}


def text(answer: httpx.Response) -> str:
    return unescape(answer.text)


async def post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await client.get("/parametres")
    return await client.post(path, data={"csrf_token": csrf_of(page.text), **data}, headers=ORIGIN)


async def journal(sessionmaker) -> list[JournalEntry]:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        return list((await session.exec(select(JournalEntry))).all())


async def request_from(sessionmaker, buyer, subject: str = "sub-1") -> AccessRequest:  # type: ignore[no-untyped-def]
    agent = Agent(
        issuer="https://idp.example/api/v2",
        subject=subject,
        email=f"{subject}@ville.example",
        name="Dominique Agent",
        siret=buyer.siret,
        idp_id="idp",
    )
    async with unit_of_work(sessionmaker) as session:
        admission = await admit_agent(session, agent, auto_approve=False)
    assert admission.kind == "pending" and admission.request is not None
    return admission.request


async def test_only_the_buyers_admins_see_the_page(sign_in, client):
    officer = await sign_in(role=UserRole.OFFICER)
    refused = await officer.client.get("/parametres")
    assert refused.status_code == 403 and "Accès refusé" in text(refused)
    assert 'href="/parametres"' not in text(await officer.client.get("/"))
    away = await client.get("/parametres")
    assert away.status_code == 303 and away.headers["location"].startswith("/connexion")

    admin = await sign_in(role=UserRole.ADMIN, email="chef@saint-test.fr")
    page = await admin.client.get("/parametres")
    assert page.status_code == 200 and "<h1>Paramètres</h1>" in page.text
    assert page.headers["cache-control"] == "no-store"
    body = text(page)
    assert "chef@saint-test.fr" in body and "Votre compte" in body
    assert 'aria-current="page"' in body and "Aucune demande d'accès en attente" in body


async def test_inviting_without_a_mail_server_never_shows_a_link(sign_in, sessionmaker):
    admin = await sign_in(role=UserRole.ADMIN)
    answer = await post(admin.client, "/parametres/utilisateurs", email="Nouvel@Saint-Test.fr")
    body = text(answer)
    assert answer.status_code == 200 and "nouvel@saint-test.fr" in body
    assert "vigie users invite --email nouvel@saint-test.fr" in body
    assert "/connexion/lien/" not in body
    async with unit_of_work(sessionmaker) as session:
        user = (await session.exec(select(User).where(User.email == "nouvel@saint-test.fr"))).one()
        assert user.buyer_id == admin.buyer.id and user.role == "officer"
        links = (await session.exec(select(SignInLink).where(SignInLink.user_id == user.id))).all()
        assert links == []  # nobody can be given it: none is made

    bad = await post(admin.client, "/parametres/utilisateurs", email="pas-une-adresse")
    assert bad.status_code == 422
    assert "n'est pas une adresse électronique valide" in text(bad)
    assert 'aria-invalid="true" aria-describedby="invite-erreur"' in bad.text
    assert 'value="pas-une-adresse"' in bad.text
    odd_role = await post(admin.client, "/parametres/utilisateurs", email="x@y.fr", role="erp")
    assert odd_role.status_code == 422


async def test_inviting_with_a_mail_server_sends_the_link_by_mail_only(
    make_app, settings, sessionmaker, make_buyer, smtp_server
):
    configured = settings.model_copy(
        update={"smtp": SmtpSettings(host="127.0.0.1", port=smtp_server.port)}
    )
    buyer = await make_buyer("Ville Postale")
    _, token = await link_for(sessionmaker, buyer, "admin@postale.fr", UserRole.ADMIN)
    async with make_app(configured) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as admin:
            await sign_in_with(admin, token)
            answer = await post(
                admin, "/parametres/utilisateurs", email="recu@postale.fr", role="admin"
            )
    body = text(answer)
    assert answer.status_code == 200 and "envoyé par courriel" in body
    assert "/connexion/lien/" not in body
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0].decode()
    assert "To: recu@postale.fr" in mail and "/connexion/lien/" in mail


async def test_disabling_an_account_ends_its_sessions(sign_in, sessionmaker, make_buyer):
    admin = await sign_in(role=UserRole.ADMIN)
    colleague = await sign_in(buyer=admin.buyer, email="collegue@saint-test.fr")
    assert (await colleague.client.get("/")).status_code == 200
    done = await post(admin.client, f"/parametres/utilisateurs/{colleague.user.id}/desactiver")
    assert done.status_code == 303 and done.headers["location"] == "/parametres?fait=desactive"
    assert (await colleague.client.get("/")).status_code == 303  # signed out everywhere
    page = text(await admin.client.get(done.headers["location"]))
    assert "Le compte est désactivé" in page and "Désactivé le" in page
    entry = next(e for e in await journal(sessionmaker) if e.kind == "auth.user_disabled")
    assert entry.data["sessions_ended"] == 1 and entry.data["by"] == admin.user.email
    # Re-enabled, the account signs in again (its old session stays ended).
    back = await post(admin.client, f"/parametres/utilisateurs/{colleague.user.id}/reactiver")
    assert back.status_code == 303 and back.headers["location"] == "/parametres?fait=reactive"
    assert (await colleague.client.get("/")).status_code == 303
    _, token = await link_for(sessionmaker, admin.buyer, "collegue@saint-test.fr")
    assert (await sign_in_with(colleague.client, token)).status_code == 303
    assert (await colleague.client.get("/")).status_code == 200
    assert "auth.user_enabled" in [e.kind for e in await journal(sessionmaker)]

    # Another buyer's account is a page that does not exist; one's own cannot be disabled.
    elsewhere = await sign_in(role=UserRole.OFFICER, email="autre@ailleurs.fr")
    other = await post(admin.client, f"/parametres/utilisateurs/{elsewhere.user.id}/desactiver")
    assert other.status_code == 404
    assert (await elsewhere.client.get("/")).status_code == 200
    itself = await post(admin.client, f"/parametres/utilisateurs/{admin.user.id}/desactiver")
    assert itself.status_code == 409 and "votre propre compte" in text(itself)


async def test_a_key_is_shown_once_works_and_can_be_revoked(
    sign_in, sessionmaker, client, make_key
):
    admin = await sign_in(role=UserRole.ADMIN)
    created = await post(admin.client, "/parametres/cles", role="erp", label="Progiciel GF")
    assert created.status_code == 200 and "Clé d'API créée" in text(created)
    assert created.headers["cache-control"] == "no-store"
    key = created.text.split('id="cle" value="', 1)[1].split('"', 1)[0]
    assert key.startswith("vg_")
    bearer = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/contracts", headers=bearer)).status_code == 200

    page = text(await admin.client.get("/parametres"))
    prefix = "_".join(key.split("_")[:2])
    assert prefix in page and "Progiciel GF" in page and "ERP" in page
    assert key not in page  # never again
    async with unit_of_work(sessionmaker) as session:
        record = (await session.exec(select(ApiKey).where(ApiKey.prefix == prefix))).one()
        assert record.buyer_id == admin.buyer.id and record.role == "erp"
        assert key not in record.key_hash

    revoked = await post(admin.client, f"/parametres/cles/{prefix}/revoquer")
    assert revoked.status_code == 303
    assert (await client.get("/v1/contracts", headers=bearer)).status_code == 401
    assert "Révoquée le" in text(await admin.client.get("/parametres"))
    kinds = [e.kind for e in await journal(sessionmaker)]
    assert "keys.created" in kinds and "keys.revoked" in kinds

    # Another buyer's key cannot be revoked from here (404), and stays valid.
    other_buyer_key = await make_key("officer", buyer=(await sign_in()).buyer)
    other_prefix = "_".join(other_buyer_key["Authorization"].split()[1].split("_")[:2])
    refused = await post(admin.client, f"/parametres/cles/{other_prefix}/revoquer")
    assert refused.status_code == 404
    assert (await client.get("/v1/contracts", headers=other_buyer_key)).status_code == 200


async def test_the_key_form_has_an_error_state(sign_in, sessionmaker):
    admin = await sign_in(role=UserRole.ADMIN)
    wrong_role = await post(admin.client, "/parametres/cles", role="admin", label="x")
    assert wrong_role.status_code == 422 and "Choisissez le rôle de la clé" in text(wrong_role)
    assert 'aria-describedby="cle-erreur"' in wrong_role.text
    long_label = await post(admin.client, "/parametres/cles", role="officer", label="x" * 201)
    assert long_label.status_code == 422 and "200 caractères" in text(long_label)
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(ApiKey))).first() is None


async def test_forms_without_their_token_are_refused(sign_in, sessionmaker):
    admin = await sign_in(role=UserRole.ADMIN)
    for path in ("/parametres/cles", "/parametres/utilisateurs"):
        answer = await admin.client.post(
            path, data={"role": "officer", "email": "a@b.fr"}, headers=ORIGIN
        )
        assert answer.status_code == 403 and "Accès refusé" in text(answer)
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(ApiKey))).first() is None
        assert (await session.exec(select(User).where(User.email == "a@b.fr"))).first() is None


async def test_requests_are_listed_and_decided_once_within_the_buyer(
    sign_in, sessionmaker, make_buyer
):
    admin = await sign_in(role=UserRole.ADMIN)
    mine = await request_from(sessionmaker, admin.buyer, "sub-mine")
    other_buyer = await make_buyer("Ville Voisine")
    theirs = await request_from(sessionmaker, other_buyer, "sub-theirs")
    page = text(await admin.client.get("/parametres"))
    assert "sub-mine@ville.example" in page and "sub-theirs@ville.example" not in page
    assert f'for="role-demande-{mine.id}"' in page

    assert (
        await post(admin.client, f"/parametres/demandes/{theirs.id}/accepter")
    ).status_code == 404
    bad_role = await post(admin.client, f"/parametres/demandes/{mine.id}/accepter", role="erp")
    assert bad_role.status_code == 422
    ok = await post(admin.client, f"/parametres/demandes/{mine.id}/accepter", role="admin")
    assert ok.status_code == 303 and ok.headers["location"] == "/parametres?fait=accepte"
    again = await post(admin.client, f"/parametres/demandes/{mine.id}/refuser")
    assert again.status_code == 409 and "déjà été traitée" in text(again)
    async with unit_of_work(sessionmaker) as session:
        user = (await session.exec(select(User).where(User.subject == "sub-mine"))).one()
        assert user.role == "admin" and user.buyer_id == admin.buyer.id
        still = await session.get(AccessRequest, theirs.id)
        assert still is not None and still.status == "pending"
        users = (await session.exec(select(User).where(col(User.subject).is_not(None)))).all()
        assert [u.subject for u in users] == ["sub-mine"]
    approved = next(e for e in await journal(sessionmaker) if e.kind == "auth.access_approved")
    assert approved.data["by"] == admin.user.email
    assert "sub-mine@ville.example" in text(await admin.client.get("/parametres"))


@pytest.mark.parametrize("path", ["/parametres/cles/vg_inconnu/revoquer"])
async def test_an_unknown_key_is_a_404_page(sign_in, path):
    admin = await sign_in(role=UserRole.ADMIN)
    answer = await post(admin.client, path)
    assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
