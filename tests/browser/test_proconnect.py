"""Sign-in with ProConnect in Chromium, against the tests' OpenID Connect provider served over
HTTP (tests/browser/idp.py): an organisation Vigie does not know, a first sign-in that becomes an
access request, the buyer's admin accepting it on /parametres, the agent signed in, then signed
out of the provider too. Every page on the way passes axe."""

import re
import uuid
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser import harness

pytestmark = pytest.mark.asyncio(loop_scope="session")

NewContext = Callable[..., Awaitable[BrowserContext]]


async def through_proconnect(page: Page) -> None:
    await page.goto("/connexion")
    await page.get_by_role("link", name="S'identifier avec ProConnect").click()
    await page.wait_for_load_state()


async def assert_clean(page: Page) -> None:
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.locator("h1").count() == 1
    violations = await harness.axe_violations(page)
    assert not violations, f"{page.url}:\n{harness.describe(violations)}"
    assert await page.evaluate("window.__cspViolations") == []


async def test_an_agent_of_an_unknown_organisation_is_told_so(
    site: harness.Instance, new_context: NewContext
):
    await harness.next_agent(
        site, sub=f"inconnu-{uuid.uuid4().hex}", email="agent@ailleurs.fr", siret="13002526500013"
    )
    page = await (await new_context()).new_page()
    await through_proconnect(page)
    assert page.url.startswith(f"{site.base_url}/connexion/proconnect/retour")
    await expect(page.locator("h1")).to_have_text("Organisation inconnue de Vigie")
    await expect(page.locator("main")).to_contain_text("13002526500013")
    await assert_clean(page)


async def test_a_first_proconnect_sign_in_waits_for_the_admin_then_signs_in(
    site: harness.Instance, new_context: NewContext
):
    email = f"camille.{uuid.uuid4().hex[:8]}@commune-demonstration.fr"
    await harness.next_agent(
        site, sub=f"agent-{uuid.uuid4().hex}", email=email, siret=site.demo_siret
    )
    agent = await (await new_context()).new_page()
    await through_proconnect(agent)
    await expect(agent.locator("h1")).to_have_text("Demande d'accès en attente")
    await expect(agent.get_by_role("status")).to_contain_text("Commune de Démonstration")
    await assert_clean(agent)

    # The buyer's admin sees the request on /parametres (axe-clean with it) and accepts it.
    admin = await (await new_context("admin")).new_page()
    await admin.goto("/parametres")
    await expect(admin.locator("main")).to_contain_text(email)
    await assert_clean(admin)
    await admin.get_by_role("button", name=f"Accepter la demande de {email}").click()
    await admin.wait_for_load_state()
    await expect(admin.locator("main")).not_to_contain_text(f"Accepter la demande de {email}")

    # The agent's next ProConnect sign-in lands on the dashboard; signing out ends the
    # provider's session too and comes back to Vigie's sign-in page.
    await through_proconnect(agent)
    await agent.wait_for_url(f"{site.base_url}/")
    await expect(agent.locator("h1")).to_have_text("Tableau de bord")
    await expect(agent.locator(".site-header")).to_contain_text(email)
    await agent.get_by_role("button", name="Se déconnecter").click()
    await agent.wait_for_url(re.compile(r"/connexion\?deconnecte=1$"))
    await expect(agent.get_by_role("status")).to_contain_text("Vous êtes déconnecté")
    await assert_clean(agent)
