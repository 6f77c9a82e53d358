"""Sign-in with ProConnect against an OpenID Connect provider run inside the test
(tests/web/oidc_provider.py, keys generated locally): the browser's hops are followed by hand,
Vigie's server-side calls go through the provider's ASGI transport."""

from collections.abc import AsyncIterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import select

from app.common import utcnow
from app.config import ProConnectSettings, Settings
from app.db import unit_of_work
from app.documents.models import JournalEntry
from app.integrations.proconnect import ProConnectClient
from app.users.models import AccessRequest, User, UserRole, WebSession
from tests.web.conftest import csrf_of, link_for, sign_in_with
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, ISSUER, OidcProvider, rsa_key

ORIGIN = {"Origin": "http://testserver"}


def with_proconnect(settings: Settings, *, auto_approve: bool = False) -> Settings:
    return settings.model_copy(
        update={
            "proconnect": ProConnectSettings(
                issuer=ISSUER,
                client_id=CLIENT_ID,
                client_secret=SecretStr(CLIENT_SECRET),
                auto_approve=auto_approve,
            ),
            "web": settings.web.model_copy(update={"public_url": "http://testserver"}),
        }
    )


@pytest.fixture
def provider() -> OidcProvider:
    return OidcProvider()


@pytest.fixture
def auto_approve() -> bool:
    return False


@pytest.fixture
async def pc_app(make_app, settings, provider, auto_approve) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    configured = with_proconnect(settings, auto_approve=auto_approve)
    async with make_app(configured) as app:
        installed = app.state.proconnect
        app.state.proconnect = ProConnectClient(configured.proconnect, transport=provider.transport)
        await installed.aclose()
        yield app


def browser_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def browser(pc_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with browser_for(pc_app) as client:
        yield client


async def through_proconnect(
    browser: httpx.AsyncClient, provider: OidcProvider, start: str = "/connexion/proconnect"
) -> httpx.Response:
    """Press the button, let the provider consent, come back: Vigie's answer to the return."""
    going = await browser.get(start)
    assert going.status_code == 303, text(going)
    at_provider = await provider.browse(going.headers["location"])
    assert at_provider.status_code == 302, text(at_provider)
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == (
        "http://testserver/connexion/proconnect/retour"
    )
    return await browser.get(f"{back.path}?{back.query}")


def text(answer: httpx.Response) -> str:
    return unescape(answer.text)


def has_session_cookie(answer: httpx.Response) -> bool:
    return any(c.startswith("session=") for c in answer.headers.get_list("set-cookie"))


async def kinds(sessionmaker) -> list[str]:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        return [e.kind for e in (await session.exec(select(JournalEntry))).all()]


async def test_the_button_sends_pkce_state_and_nonce_and_the_csp_allows_the_provider(
    browser, provider
):
    page = await browser.get("/connexion")
    assert 'href="/connexion/proconnect"' in text(page)
    assert "form-action 'self' https://idp.example;" in page.headers["content-security-policy"]
    going = await browser.get("/connexion/proconnect?suivant=/fournisseurs")
    url = urlsplit(going.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["scope"] == "openid email given_name usual_name siret idp_id"
    cookie = next(c for c in going.headers.get_list("set-cookie") if c.startswith("proconnect="))
    assert "HttpOnly" in cookie and "Max-Age=600" in cookie
    # Sealed: neither the state, the nonce nor the next page can be read in it.
    assert query["state"] not in cookie and query["nonce"] not in cookie
    assert "fournisseurs" not in cookie


async def test_first_sign_in_is_a_request_the_admin_approves_then_the_agent_is_in(
    pc_app, browser, provider, sessionmaker, make_buyer
):
    buyer = await make_buyer("Ville de Connect")
    provider.user["siret"] = buyer.siret

    first = await through_proconnect(browser, provider)
    assert first.status_code == 200 and "Demande d'accès en attente" in text(first)
    assert "Ville de Connect" in text(first) and not has_session_cookie(first)
    assert (await browser.get("/")).status_code == 303  # not signed in
    # PKCE: the token request carried the verifier the provider checked against the challenge.
    assert provider.token_forms[-1]["code_verifier"]
    again = await through_proconnect(browser, provider)
    assert "Demande d'accès en attente" in text(again)
    async with unit_of_work(sessionmaker) as session:
        request = (await session.exec(select(AccessRequest))).one()
        assert (request.issuer, request.subject) == (ISSUER, "agent-sub-0001")
        assert request.email == "camille.martin@ville.example" and request.status == "pending"
        assert (await session.exec(select(User).where(User.issuer == ISSUER))).first() is None

    # The buyer's admin approves it on /parametres.
    _, token = await link_for(sessionmaker, buyer, "admin@ville.example", UserRole.ADMIN)
    async with browser_for(pc_app) as admin:
        await sign_in_with(admin, token)
        settings_page = await admin.get("/parametres")
        assert "camille.martin@ville.example" in text(settings_page)
        approved = await admin.post(
            f"/parametres/demandes/{request.id}/accepter",
            data={"csrf_token": csrf_of(settings_page.text), "role": "officer"},
            headers=ORIGIN,
        )
        assert approved.status_code == 303

    signed = await through_proconnect(browser, provider, "/connexion/proconnect?suivant=/ecarts")
    assert signed.status_code == 303 and signed.headers["location"] == "/ecarts"
    assert has_session_cookie(signed)
    home = await browser.get("/")
    assert home.status_code == 200 and "Ville de Connect" in text(home)
    assert "camille.martin@ville.example" in text(home)
    async with unit_of_work(sessionmaker) as session:
        user = (await session.exec(select(User).where(User.issuer == ISSUER))).one()
        assert user.subject == "agent-sub-0001" and user.buyer_id == buyer.id
        assert user.role == "officer" and user.name == "Camille Martin"
        web = (await session.exec(select(WebSession).where(WebSession.user_id == user.id))).one()
        assert web.method == "proconnect" and web.id_token and web.id_token.count(".") == 2
    journal = await kinds(sessionmaker)
    assert "auth.access_requested" in journal and "auth.access_approved" in journal
    assert journal[-1] == "auth.sign_in"


@pytest.mark.parametrize("auto_approve", [True])
async def test_auto_approve_signs_in_at_once(browser, provider, make_buyer, sessionmaker):
    buyer = await make_buyer("Ville Ouverte")
    provider.user["siret"] = buyer.siret
    signed = await through_proconnect(browser, provider)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert "Ville Ouverte" in (await browser.get("/")).text
    async with unit_of_work(sessionmaker) as session:
        request = (await session.exec(select(AccessRequest))).one()
        assert request.status == "approved" and request.decided_by is None
    assert {"auth.access_requested", "auth.access_approved", "auth.sign_in"} <= set(
        await kinds(sessionmaker)
    )
    # A disabled account gets a page that says so, and no session.
    async with unit_of_work(sessionmaker) as session:
        user = (await session.exec(select(User).where(User.issuer == ISSUER))).one()
        user.disabled_at = utcnow()
        session.add(user)
    disabled = await through_proconnect(browser, provider)
    assert disabled.status_code == 403 and "Compte désactivé" in text(disabled)
    assert not has_session_cookie(disabled)


FORGERIES = {
    "wrong nonce": ("id_token_claims", {"nonce": "n" * 43}),
    "wrong audience": ("id_token_claims", {"aud": "another-client"}),
    "wrong issuer": ("id_token_claims", {"iss": "https://evil.example"}),
    "expired": ("id_token_claims", {"exp": 1_000_000_000}),
    "bad signature": ("signer", None),
    "shared-secret signature": ("hs256", True),
    "userinfo about someone else": ("userinfo_claims", {"sub": "someone-else"}),
    "userinfo for another client": ("userinfo_claims", {"aud": "another-client"}),
}


@pytest.mark.parametrize("auto_approve", [True])
@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_a_forged_or_mismatched_answer_is_refused_without_a_session(
    browser, provider, make_buyer, sessionmaker, forgery
):
    buyer = await make_buyer()
    provider.user["siret"] = buyer.siret
    attribute, value = FORGERIES[forgery]
    setattr(provider, attribute, rsa_key() if value is None else value)
    refused = await through_proconnect(browser, provider)
    assert refused.status_code == 403, text(refused)
    assert "Connexion avec ProConnect impossible" in text(refused)
    assert "refusée" in text(refused) and not has_session_cookie(refused)
    assert (await browser.get("/")).status_code == 303
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(AccessRequest))).first() is None
        assert (await session.exec(select(WebSession))).first() is None


@pytest.mark.parametrize("auto_approve", [True])
async def test_a_return_that_does_not_match_the_started_sign_in_is_refused(
    pc_app, browser, provider, make_buyer
):
    buyer = await make_buyer()
    provider.user["siret"] = buyer.siret
    going = await browser.get("/connexion/proconnect")
    back = urlsplit((await provider.browse(going.headers["location"])).headers["location"])
    code = parse_qs(back.query)["code"][0]
    forged = await browser.get(f"{back.path}?code={code}&state={'x' * 43}")
    assert forged.status_code == 400 and "ne correspond pas" in text(forged)
    assert not has_session_cookie(forged) and provider.token_forms == []  # no exchange made
    # Another browser (no sealed cookie) bringing the genuine return is refused as well.
    async with browser_for(pc_app) as other:
        stolen = await other.get(f"{back.path}?{back.query}")
    assert stolen.status_code == 400 and "expiré" in text(stolen)
    assert not has_session_cookie(stolen)
    # The provider says the agent cancelled.
    cancelled = await browser.get(f"{back.path}?error=access_denied&state=x")
    assert cancelled.status_code == 400 and "annulée" in text(cancelled)


async def test_an_unknown_siret_gets_a_page_that_says_so(browser, provider, sessionmaker):
    provider.user["siret"] = "13002526500013"
    page = await through_proconnect(browser, provider)
    assert page.status_code == 403
    assert "13002526500013" in text(page) and "n'utilise pas encore Vigie" in text(page)
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(AccessRequest))).first() is None


@pytest.mark.parametrize("auto_approve", [True])
async def test_a_plain_json_userinfo_is_accepted(browser, provider, make_buyer):
    buyer = await make_buyer("Ville JSON")
    provider.user["siret"] = buyer.siret
    provider.userinfo_format = "json"
    signed = await through_proconnect(browser, provider)
    assert signed.status_code == 303 and has_session_cookie(signed)


async def test_a_refused_request_stays_refused(pc_app, browser, provider, make_buyer, sessionmaker):
    buyer = await make_buyer("Ville Stricte")
    provider.user["siret"] = buyer.siret
    await through_proconnect(browser, provider)
    async with unit_of_work(sessionmaker) as session:
        request = (await session.exec(select(AccessRequest))).one()
    _, token = await link_for(sessionmaker, buyer, "admin@stricte.example", UserRole.ADMIN)
    async with browser_for(pc_app) as admin:
        await sign_in_with(admin, token)
        page = await admin.get("/parametres")
        refused = await admin.post(
            f"/parametres/demandes/{request.id}/refuser",
            data={"csrf_token": csrf_of(page.text)},
            headers=ORIGIN,
        )
        assert refused.status_code == 303
    again = await through_proconnect(browser, provider)
    assert again.status_code == 403 and "Demande d'accès refusée" in text(again)
    assert not has_session_cookie(again)
    assert "auth.access_refused" in await kinds(sessionmaker)


@pytest.mark.parametrize("auto_approve", [True])
async def test_signing_out_goes_through_the_provider_and_back(
    browser, provider, make_buyer, sessionmaker
):
    buyer = await make_buyer()
    provider.user["siret"] = buyer.siret
    await through_proconnect(browser, provider)
    home = await browser.get("/")
    out = await browser.post(
        "/deconnexion", data={"csrf_token": csrf_of(home.text)}, headers=ORIGIN
    )
    assert out.status_code == 303
    target = urlsplit(out.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{ISSUER}/session/end"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    async with unit_of_work(sessionmaker) as session:
        web = (await session.exec(select(WebSession))).one()
        assert web.revoked_at is not None  # ended here before going to the provider
    assert query["id_token_hint"] == web.id_token
    assert query["post_logout_redirect_uri"] == "http://testserver/connexion/proconnect/deconnecte"
    assert len(query["state"]) >= 32
    assert (await browser.get("/")).status_code == 303

    back = urlsplit((await provider.browse(out.headers["location"])).headers["location"])
    landed = await browser.get(f"{back.path}?{back.query}")
    assert landed.status_code == 303 and landed.headers["location"] == "/connexion?deconnecte=1"
    forged = await browser.get("/connexion/proconnect/deconnecte?state=forged")
    assert forged.headers["location"] == "/connexion"


async def test_without_settings_there_is_no_button_and_no_route(client):
    page = await client.get("/connexion")
    assert "/connexion/proconnect" not in text(page)
    assert "form-action 'self';" in page.headers["content-security-policy"]
    assert (await client.get("/connexion/proconnect")).status_code == 404


@pytest.mark.parametrize("auto_approve", [True])
async def test_a_key_rotation_fetches_the_keys_again_once(browser, provider, make_buyer):
    buyer = await make_buyer()
    provider.user["siret"] = buyer.siret
    assert (await through_proconnect(browser, provider)).status_code == 303
    assert (await through_proconnect(browser, provider)).status_code == 303
    assert provider.jwks_fetches == 1  # cached
    provider.key = rsa_key("k2")  # the provider rotates its key
    assert (await through_proconnect(browser, provider)).status_code == 303
    assert provider.jwks_fetches == 2


async def test_an_unreachable_provider_is_a_page_not_a_500(pc_app, browser):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    await pc_app.state.proconnect.aclose()
    pc_app.state.proconnect = ProConnectClient(
        pc_app.state.settings.proconnect, transport=httpx.MockTransport(down)
    )
    page = await browser.get("/connexion/proconnect")
    assert page.status_code == 502 and "ProConnect ne répond pas" in text(page)
    states = [c for c in page.headers.get_list("set-cookie") if c.startswith("proconnect=")]
    assert all("Max-Age=0" in c for c in states)  # no sign-in state is kept


def test_production_refuses_a_plain_http_issuer(settings):
    from app.main import create_app

    configured = with_proconnect(settings)
    plain = configured.model_copy(
        update={
            "environment": "production",
            "secret_key": SecretStr("s" * 40),
            "proconnect": configured.proconnect.model_copy(
                update={"issuer": "http://idp.example/api/v2"}
            ),
        }
    )
    with pytest.raises(ValueError, match="PROCONNECT__ISSUER must be an https"):
        create_app(plain)


async def test_two_first_sign_ins_at_once_make_one_request(session, make_buyer):
    """The second insert of the same (buyer, issuer, sub) — another tab's sign-in that lost the
    race — is rolled back to its savepoint and reads the winner's request: no 500."""
    from app.users.access import Agent, _new_request, admit_agent

    buyer = await make_buyer()
    agent = Agent(ISSUER, "sub-race", "race@ville.example", None, buyer.siret)
    first = await admit_agent(session, agent, auto_approve=False)
    assert first.kind == "pending"
    assert await _new_request(session, buyer, agent) is None  # the unique constraint held
    again = await admit_agent(session, agent, auto_approve=True)
    assert again.kind == "signed_in" and again.request is not None
    assert again.request.id == first.request.id  # type: ignore[union-attr]
    requests = (await session.exec(select(AccessRequest))).all()
    assert len(requests) == 1 and requests[0].status == "approved"
