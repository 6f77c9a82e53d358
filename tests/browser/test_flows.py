"""What a person does in Chromium: sign in by link (and not twice with it), sign out, a form's
error state (announced, linked to its field, axe-clean), another buyer's URL, and the strict CSP
really enforced by the browser (the harness never bypasses it)."""

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import BrowserContext, expect

from tests.browser import harness
from tests.browser.conftest import Visitor

pytestmark = pytest.mark.asyncio(loop_scope="session")

NewContext = Callable[..., Awaitable[BrowserContext]]


async def test_sign_in_by_link_then_sign_out(site: harness.Instance, new_context: NewContext):
    context = await new_context()
    page = await context.new_page()
    link = await harness.sign_in_link(site, harness.ADMIN_EMAIL)

    # The link shows a confirmation page (mail scanners open links): nothing is spent yet.
    await page.goto(link)
    await expect(page.locator("h1")).to_have_text("Confirmer la connexion")
    await expect(page.locator("main")).to_contain_text(harness.ADMIN_EMAIL)
    await page.get_by_role("button", name="Se connecter").click()

    # Signed in: the buyer's dashboard, in French.
    await page.wait_for_url(f"{site.base_url}/")
    await expect(page.locator("h1")).to_have_text("Tableau de bord")
    await expect(page.locator(".site-header")).to_contain_text("Commune de Démonstration")
    nav = page.get_by_role("navigation", name="Navigation principale")
    await expect(nav.get_by_role("link", name="Tableau de bord")).to_have_attribute(
        "aria-current", "page"
    )
    assert await page.get_attribute("html", "lang") == "fr"

    # The link served once: opened again, it explains itself.
    again = await page.goto(link)
    assert again is not None and again.status == 410
    await expect(page.locator("h1")).to_have_text("Lien de connexion invalide")
    await expect(page.locator("main")).to_contain_text("déjà servi")

    await page.goto("/")
    await page.get_by_role("button", name="Se déconnecter").click()
    await page.wait_for_url(re.compile(r"/connexion\?deconnecte=1$"))
    await expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté")
    # Signed out for real: a page asks for a sign-in again.
    await page.goto("/")
    assert page.url.startswith(f"{site.base_url}/connexion")


async def test_a_page_opened_signed_out_comes_back_after_sign_in(
    site: harness.Instance, new_context: NewContext
):
    context = await new_context()
    page = await context.new_page()
    await page.goto("/mentions-legales")  # public: no redirect
    assert page.url == f"{site.base_url}/mentions-legales"
    await page.goto("/")
    assert page.url == f"{site.base_url}/connexion"
    await expect(page.locator("h1")).to_have_text("Connexion")


async def test_the_sign_in_form_error_is_announced_and_linked_to_its_field(visit: Visitor):
    seen = await visit("/connexion")
    page = seen.page
    field = page.get_by_label("Adresse électronique")
    await field.fill("pas-une-adresse")
    await page.get_by_role("button", name="Recevoir un lien").click()
    await page.wait_for_load_state()

    await expect(field).to_have_attribute("aria-invalid", "true")
    described = await field.get_attribute("aria-describedby")
    assert described, "the error is not linked to its field"
    message = page.locator(f"#{described}")
    await expect(message).to_be_visible()
    assert re.search(r"\w{4,}", await message.inner_text())
    await expect(field).to_have_value("pas-une-adresse")  # nothing typed is lost
    violations = await harness.axe_violations(page)
    assert not violations, harness.describe(violations)
    assert await seen.csp_violations() == []

    # A well-formed address gets the same answer whether it has an account or not.
    await field.fill("personne@exemple.fr")
    await page.get_by_role("button", name="Recevoir un lien").click()
    await expect(page.get_by_role("status")).to_contain_text("Si cette adresse correspond")
    violations = await harness.axe_violations(page)
    assert not violations, harness.describe(violations)


async def test_the_browser_enforces_the_content_security_policy(visit: Visitor):
    """The pages under test run with their CSP (axe goes in through the DevTools protocol):
    inline script and inline style are refused, and reported."""
    seen = await visit("/connexion")
    page = seen.page
    ran = await page.evaluate(
        """() => new Promise((done) => {
      window.__inlineRan = false;
      const s = document.createElement("script");
      s.textContent = "window.__inlineRan = true";
      document.body.append(s);
      const d = document.createElement("div");
      d.setAttribute("style", "color: red");
      d.id = "styled";
      document.body.append(d);
      setTimeout(() => done(window.__inlineRan), 100);
    })"""
    )
    assert ran is False
    colour = await page.evaluate("getComputedStyle(document.getElementById('styled')).color")
    assert colour != "rgb(255, 0, 0)"
    violations = await seen.csp_violations()
    assert any(v.startswith("script-src") for v in violations), violations
    assert any(v.startswith("style-src") for v in violations), violations
