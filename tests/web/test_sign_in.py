"""Sign-in by link, sessions, CSRF and the pages' headers, through the app as a browser uses it
(cookies, forms, redirects). The same flow runs in Chromium in tests/browser/."""

import re
import uuid
from datetime import timedelta
from email import message_from_bytes

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from app.common import utcnow
from app.db import unit_of_work
from app.documents.models import JournalEntry
from app.users.models import SignInLink, UserRole, WebSession
from tests.web.conftest import csrf_of, link_for, sign_in_with


@pytest.fixture
async def browser(app):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


ORIGIN = {"Origin": "http://testserver"}


async def test_a_link_signs_in_once_and_opening_it_spends_nothing(
    browser, sessionmaker, make_buyer
):
    buyer = await make_buyer("Commune de Lien")
    user, token = await link_for(sessionmaker, buyer, "Agent@Lien.fr")
    assert user.email == "agent@lien.fr"
    # A mail scanner opens the link (GET, HEAD): nothing is spent.
    for _ in range(2):
        page = await browser.get(f"/connexion/lien/{token}")
        assert page.status_code == 200
        assert "Se connecter" in page.text and "agent@lien.fr" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
    assert (await browser.head(f"/connexion/lien/{token}")).status_code == 200

    answer = await sign_in_with(browser, token)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert token not in cookie  # the session is a new secret, not the link

    home = await browser.get("/")
    assert home.status_code == 200 and "Commune de Lien" in home.text

    # Used once: a second POST (or a replayed link) is refused with a page that says why.
    again = await browser.get(f"/connexion/lien/{token}")
    assert again.status_code == 410 and "déjà servi" in again.text
    async with unit_of_work(sessionmaker) as session:
        link = (await session.exec(select(SignInLink))).one()
        assert link.token_hash != token and len(link.token_hash) == 64 and link.used_at
        entries = (await session.exec(select(JournalEntry))).all()
    assert [e.kind for e in entries] == ["auth.invited", "auth.sign_in"]
    assert all(token not in str(e.data) for e in entries)


async def test_an_expired_or_unknown_link_is_a_page_not_a_session(
    browser, sessionmaker, make_buyer
):
    buyer = await make_buyer()
    _, token = await link_for(sessionmaker, buyer, "agent@expire.fr")
    async with unit_of_work(sessionmaker) as session:
        await session.exec(update(SignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
    page = await browser.get(f"/connexion/lien/{token}")
    assert page.status_code == 410 and "expiré" in page.text
    csrf = csrf_of((await browser.get("/connexion")).text)
    post = await browser.post(f"/connexion/lien/{token}", data={"csrf_token": csrf}, headers=ORIGIN)
    assert post.status_code == 410 and "session=" not in post.headers.get("set-cookie", "")
    unknown = await browser.get("/connexion/lien/nimportequoi")
    assert unknown.status_code == 404 and 'lang="fr"' in unknown.text


async def test_pages_redirect_to_the_sign_in_page_and_come_back(browser):
    answer = await browser.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/connexion"
    answer = await browser.get("/?statut=non_compliant")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/connexion?suivant=/%3Fstatut%3Dnon_compliant"
    page = await browser.get("/connexion?suivant=//ailleurs.example/")
    assert 'name="suivant" value="/"' in page.text  # never a redirect to another site


async def test_forms_without_their_token_or_from_another_site_are_refused(
    browser, sessionmaker, make_buyer
):
    buyer = await make_buyer()
    _, token = await link_for(sessionmaker, buyer, "agent@csrf.fr")
    await browser.get(f"/connexion/lien/{token}")  # sets the CSRF cookie
    no_token = await browser.post(f"/connexion/lien/{token}", data={}, headers=ORIGIN)
    assert no_token.status_code == 403
    assert "text/html" in no_token.headers["content-type"] and "Accès refusé" in no_token.text
    page = await browser.get(f"/connexion/lien/{token}")
    forged = await browser.post(
        f"/connexion/lien/{token}",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Origin": "https://attaquant.example"},
    )
    assert forged.status_code == 403
    wrong = await browser.post(
        f"/connexion/lien/{token}", data={"csrf_token": "x" * 43}, headers=ORIGIN
    )
    assert wrong.status_code == 403
    # The link survived all three: the right form still signs in.
    assert (await sign_in_with(browser, token)).status_code == 303


async def test_signing_out_ends_the_session_on_the_server(sign_in, sessionmaker):
    officer = await sign_in()
    client = officer.client
    stolen = dict(client.cookies)
    home = await client.get("/")
    out = await client.post("/deconnexion", data={"csrf_token": csrf_of(home.text)}, headers=ORIGIN)
    assert out.status_code == 303 and out.headers["location"] == "/connexion?deconnecte=1"
    assert (await client.get("/")).status_code == 303
    # A copy of the cookie taken before signing out opens nothing.
    client.cookies.update(stolen)
    assert (await client.get("/")).status_code == 303
    async with unit_of_work(sessionmaker) as session:
        kinds = [e.kind for e in (await session.exec(select(JournalEntry))).all()]
    assert kinds[-1] == "auth.sign_out"


async def test_a_session_ends_after_30_idle_minutes_and_after_12_hours(sign_in, sessionmaker):
    officer = await sign_in()
    assert (await officer.client.get("/")).status_code == 200
    async with unit_of_work(sessionmaker) as session:
        await session.exec(  # type: ignore[call-overload]
            update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    assert (await officer.client.get("/")).status_code == 303

    other = await sign_in()
    async with unit_of_work(sessionmaker) as session:
        await session.exec(  # type: ignore[call-overload]
            update(WebSession)
            .where(WebSession.user_id == other.user.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await other.client.get("/")).status_code == 303


async def test_asking_for_a_link_says_the_same_for_known_and_unknown_addresses(
    browser, sessionmaker, make_buyer
):
    buyer = await make_buyer()
    await link_for(sessionmaker, buyer, "connu@ville.fr")
    texts = []
    for email in ("connu@ville.fr", "inconnu@ville.fr"):
        page = await browser.get("/connexion")
        answer = await browser.post(
            "/connexion", data={"email": email, "csrf_token": csrf_of(page.text)}, headers=ORIGIN
        )
        assert answer.status_code == 200
        texts.append(answer.text.replace(email, "ADRESSE"))
    assert texts[0] == texts[1]
    async with unit_of_work(sessionmaker) as session:
        links = (await session.exec(select(SignInLink))).all()
    assert len(links) == 2  # the invitation's and the one just asked for; none for the unknown


async def test_a_bad_address_is_explained_next_to_its_field(browser):
    page = await browser.get("/connexion")
    answer = await browser.post(
        "/connexion",
        data={"email": "pas-une-adresse", "csrf_token": csrf_of(page.text)},
        headers=ORIGIN,
    )
    assert answer.status_code == 422
    assert 'aria-describedby="email-erreur"' in answer.text and 'aria-invalid="true"' in answer.text


async def test_link_requests_are_limited_per_address(browser, app):
    limit = app.state.settings.web.attempts_per_address
    page = await browser.get("/connexion")
    csrf = csrf_of(page.text)
    statuses = []
    for _ in range(limit + 1):
        answer = await browser.post(
            "/connexion", data={"email": "pressee@ville.fr", "csrf_token": csrf}, headers=ORIGIN
        )
        statuses.append(answer.status_code)
    assert statuses == [200] * limit + [429]
    assert "Trop de demandes" in answer.text and answer.headers["retry-after"]


async def test_pages_carry_a_strict_policy_and_the_api_stays_json(browser, sign_in):
    page = await browser.get("/connexion")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert '<html lang="fr">' in page.text and "<title>Connexion — Vigie</title>" in page.text
    api = await browser.get("/v1/nope")
    assert api.headers["content-type"].startswith("application/problem+json")
    missing = await browser.get("/nulle-part", headers={"Accept": "text/html,*/*;q=0.8"})
    assert missing.status_code == 404 and "Page introuvable" in missing.text
    # An API client outside /v1 still gets problem+json.
    assert (
        (await browser.get("/nulle-part"))
        .headers["content-type"]
        .startswith("application/problem+json")
    )
    css = await browser.get("/static/vigie.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_a_link_is_emailed_through_a_real_smtp_server(
    make_app, settings, sessionmaker, make_buyer, smtp_server
):
    buyer = await make_buyer("Commune Messagerie")
    await link_for(sessionmaker, buyer, "agent@messagerie.fr", UserRole.ADMIN)
    configured = settings.model_copy(
        update={
            "smtp": settings.smtp.model_copy(update={"host": "127.0.0.1", "port": smtp_server.port})
        }
    )
    async with make_app(configured) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            page = await client.get("/connexion")
            answer = await client.post(
                "/connexion",
                data={"email": "agent@messagerie.fr", "csrf_token": csrf_of(page.text)},
                headers=ORIGIN,
            )
            assert answer.status_code == 200
            assert len(smtp_server.messages) == 1
            message = message_from_bytes(smtp_server.messages[0])
            assert message["To"] == "agent@messagerie.fr"
            body = message.get_payload(decode=True).decode()
            url = next(line for line in body.splitlines() if "/connexion/lien/" in line).strip()
            token = url.rsplit("/", 1)[1]
            assert "Commune Messagerie" in body
            assert (await sign_in_with(client, token)).status_code == 303
            assert (await client.get("/")).status_code == 200


async def test_the_api_documentation_is_served_without_a_cdn(browser):
    page = await browser.get("/docs")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "cdn" not in page.text.lower() and "<script>" not in page.text
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == ["/static/api-docs/swagger-ui-bundle.js", "/static/api-docs/init.js"]
    for path in [*scripts, "/static/api-docs/swagger-ui.css"]:
        asset = await browser.get(path)
        assert asset.status_code == 200 and len(asset.content) > 300, path
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (await browser.get("/openapi.json")).status_code == 200
    assert (await browser.get("/redoc")).status_code == 404


async def test_link_requests_are_counted_in_redis_across_processes(redis_url):
    """Two processes of one instance (same Redis, same queue name) count together; another
    instance on the same Redis counts apart."""
    from redis.asyncio import Redis

    from app.web.ratelimit import AttemptLimiter

    redis = Redis.from_url(redis_url)
    try:
        name = f"vigie:test:{uuid.uuid4().hex[:8]}:attempts"
        first, second = AttemptLimiter(redis, prefix=name), AttemptLimiter(redis, prefix=name)
        other = AttemptLimiter(redis, prefix=name + "-autre")
        hits = [
            await (first if i % 2 else second).hit("email", "a@b.fr", limit=3, window=60)
            for i in range(4)
        ]
        assert hits == [True, True, True, False]
        assert await other.hit("email", "a@b.fr", limit=3, window=60)
        keys = [k.decode() async for k in redis.scan_iter(f"{name}:*")]
        assert keys and all("a@b.fr" not in k for k in keys)  # the address is hashed
        assert 0 < await redis.ttl(keys[0]) <= 60
    finally:
        await redis.aclose()


async def test_a_contractor_asking_on_the_officers_page_gets_no_officer_link(browser, sessionmaker):
    from app.users.models import User

    async with unit_of_work(sessionmaker) as session:
        session.add(User(email="titulaire@btp.fr", role=UserRole.CONTRACTOR.value))
    page = await browser.get("/connexion")
    answer = await browser.post(
        "/connexion",
        data={"email": "titulaire@btp.fr", "csrf_token": csrf_of(page.text)},
        headers=ORIGIN,
    )
    assert answer.status_code == 200 and "un lien de connexion vient" in answer.text
    async with unit_of_work(sessionmaker) as session:
        assert (await session.exec(select(SignInLink))).all() == []
