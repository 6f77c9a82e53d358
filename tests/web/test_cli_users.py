"""`vigie users invite` and `vigie demo` as people run them: the link is alone on the last line
and opens a session; the database keeps only its hash."""

import asyncio
import re
import sqlite3

import httpx

from app.config import Settings
from app.main import create_app
from tests.factories import random_siret
from tests.test_cli import cli_env, invoke  # noqa: F401  (the fixture)
from tests.web.conftest import sign_in_with

LINK = re.compile(r"^http://127\.0\.0\.1:8000/connexion/lien/([A-Za-z0-9_-]{43})$")


def open_link(token: str) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        app = create_app(Settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                answer = await sign_in_with(c, token)
                home = await c.get("/")
                return answer.status_code, home.text

    return asyncio.run(main())


def test_invite_prints_a_link_that_signs_in(cli_env):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    siret = random_siret()
    assert (
        invoke("buyers", "create", "--siret", siret, "--name", "Ville Invitation-Test").exit_code
        == 0
    )
    result = invoke(
        "users", "invite", "--email", "Chef@Ville.fr", "--buyer", siret, "--role", "admin"
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    match = LINK.match(last)
    assert match, last
    with sqlite3.connect(cli_env) as db:
        (stored,) = db.execute("SELECT token_hash FROM sign_in_links").fetchone()
        assert stored != match.group(1)
        (email, role) = db.execute("SELECT email, role FROM users").fetchone()
    assert (email, role) == ("chef@ville.fr", "admin")
    status, home = open_link(match.group(1))
    assert status == 303 and "Ville Invitation-Test" in home and "Paramètres" in home

    again = invoke("users", "invite", "--email", "chef@ville.fr", "--buyer", siret)
    assert again.exit_code == 0 and "Existing account" in again.output
    with sqlite3.connect(cli_env) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_invite_refuses_what_it_cannot_do(cli_env):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    unknown = invoke("users", "invite", "--email", "a@b.fr", "--buyer", random_siret())
    assert unknown.exit_code == 1 and "buyer_not_found" in unknown.output
    siret = random_siret()
    invoke("buyers", "create", "--siret", siret, "--name", "Ville")
    bad = invoke("users", "invite", "--email", "pas une adresse", "--buyer", siret)
    assert bad.exit_code == 1 and "invalid_email" in bad.output
    assert invoke("users", "invite", "--email", "a@b.fr", "--buyer", "123").exit_code == 2


def test_demo_prints_the_key_then_a_sign_in_link_every_time(cli_env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DEMO", "true")
    from app.config import get_settings

    get_settings.cache_clear()
    assert invoke("migrate").exit_code == 0
    first = invoke("demo")
    assert first.exit_code == 0, first.output
    lines = first.output.strip().splitlines()
    assert lines[-3].startswith("vg_") and LINK.match(lines[-1]), lines[-4:]
    second = invoke("demo")
    lines = second.output.strip().splitlines()
    assert not any(line.startswith("vg_") for line in lines)  # the key is shown once only
    match = LINK.match(lines[-1])
    assert match
    status, home = open_link(match.group(1))
    assert status == 303 and "Commune de Démonstration" in home
