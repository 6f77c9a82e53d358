"""What a person does in Chromium: sign in by link (and not twice with it), sign out, a form's
error state (announced, linked to its field, axe-clean), another buyer's URL, and the strict CSP
really enforced by the browser (the harness never bypasses it)."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Form:
    role: str
    path: str
    field: str  # the field's label
    bad: str  # a value the form refuses
    submit: str  # the submit button's name


# One line per form that can refuse what was typed.
FORMS = [
    Form("anonymous", "/connexion", "Adresse électronique", "pas-une-adresse", "Recevoir un lien"),
    Form("admin", "/parametres", "Adresse électronique", "pas-une-adresse", "Inviter"),
    Form("anonymous", "/portail/connexion", "Adresse électronique", "a@b", "Recevoir un lien"),
    Form(
        "officer",
        "/fournisseurs/{non_compliant}/depots",
        "Adresse électronique du titulaire",
        "pas-une-adresse",
        "Inviter le titulaire",
    ),
]


@pytest.mark.parametrize("form", [pytest.param(f, id=f"{f.role}:{f.path}") for f in FORMS])
async def test_a_form_error_is_announced_next_to_its_field(
    visit: Visitor, site: harness.Instance, form: Form
):
    seen = await visit(await harness.resolve(form.path, site), role=form.role)
    page = seen.page
    field = page.get_by_label(form.field)
    await field.fill(form.bad)
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name=form.submit, exact=True).click()
    answer = await navigation.value
    assert answer is not None and answer.status in {400, 422}, answer and answer.status

    await expect(field).to_have_attribute("aria-invalid", "true")
    described = await field.get_attribute("aria-describedby")
    assert described, "the error is not linked to its field"
    message = page.locator(f"#{described}")
    await expect(message).to_be_visible()
    assert re.search(r"\w{4,}", await message.inner_text())
    await expect(field).to_have_value(form.bad)  # nothing typed is lost
    assert await page.locator("h1").count() == 1
    violations = await harness.axe_violations(page)
    assert not violations, harness.describe(violations)
    assert await seen.csp_violations() == []


async def test_asking_for_a_link_answers_the_same_for_any_address(visit: Visitor):
    seen = await visit("/connexion")
    page = seen.page
    await page.get_by_label("Adresse électronique").fill("personne@exemple.fr")
    await page.get_by_role("button", name="Recevoir un lien").click()
    await expect(page.get_by_role("status")).to_contain_text("Si cette adresse correspond")
    violations = await harness.axe_violations(page)
    assert not violations, harness.describe(violations)


async def test_a_new_api_key_is_shown_once_on_an_accessible_page(visit: Visitor):
    seen = await visit("/parametres", role="admin")
    page = seen.page
    await page.get_by_label("Libellé").fill("Progiciel financier")
    await page.get_by_role("button", name="Créer la clé").click()
    await expect(page.locator("h1")).to_have_text("Clé d'API créée")
    key = await page.get_by_label("Clé d'API").input_value()
    assert len(key) > 20
    violations = await harness.axe_violations(page)
    assert not violations, harness.describe(violations)
    await page.goto("/parametres")
    await expect(page.locator("main")).to_contain_text("Progiciel financier")
    assert key not in await page.content()  # shown once, never again


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


async def test_axe_finds_what_it_must_on_a_vigie_page(visit: Visitor):
    """The harness can fail: broken markup added to a real page is reported, rule by rule."""
    seen = await visit("/mentions-legales")
    page = seen.page
    await page.evaluate(
        """() => {
      const main = document.querySelector("main");
      main.insertAdjacentHTML("beforeend",
        '<h4>Titre sauté</h4><img src="/static/favicon.svg">'
        + '<input type="text" name="sans-etiquette"><a href="/x"></a>');
    }"""
    )
    found = {v["id"] for v in await harness.axe_violations(page)}
    assert {"heading-order", "image-alt", "label", "link-name"} <= found, found
    rgaa = await page.evaluate("axe.getRules(['RGAAv4']).length")
    assert rgaa > 20, "axe-core has no RGAA-tagged rules: update tests/browser/vendor/"


async def test_a_form_with_a_forged_token_gets_the_403_page(visit: Visitor):
    seen = await visit("/parametres", role="admin")
    page = seen.page
    await page.evaluate(
        """() => document.querySelectorAll('input[name="csrf_token"]')
            .forEach((field) => { field.value = "forge"; })"""
    )
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="Créer la clé").click()
    answer = await navigation.value
    assert answer is not None and answer.status == 403
    await expect(page.locator("h1")).to_have_text("Accès refusé")
    await expect(page.locator("main")).to_contain_text("Rechargez la page")
    violations = await harness.axe_violations(page)
    assert not violations, harness.describe(violations)
