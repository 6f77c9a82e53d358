"""The contractor portal's story in Chromium: an officer invites the supplier's contact (no SMTP:
the link is shown once), the contact signs in by that link, files a hostile PDF (refused, the
error said and linked), then the real attestation; the officer reviews it, forgets the reason
when refusing (error state), then accepts. Every page on the way passes axe."""

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser import harness
from tests.uploads import samples

pytestmark = pytest.mark.asyncio(loop_scope="session")

NewContext = Callable[..., Awaitable[BrowserContext]]
SIREN = harness.CONTRACTOR_SIREN  # URSSAF cannot deliver: the contact uploads


async def assert_clean(page: Page) -> None:
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.locator("h1").count() == 1
    violations = await harness.axe_violations(page)
    assert not violations, f"{page.url}:\n{harness.describe(violations)}"
    assert await page.evaluate("window.__cspViolations") == []


async def assert_error_linked(page: Page, field_label: str) -> None:
    field = page.get_by_label(field_label)
    await expect(field).to_have_attribute("aria-invalid", "true")
    described = await field.get_attribute("aria-describedby")
    assert described, f"the error is not linked to {field_label!r}"
    await expect(page.locator(f"#{described}")).to_be_visible()
    assert re.search(r"\w{4,}", await page.locator(f"#{described}").inner_text())


async def test_a_contractor_files_its_attestation_and_the_officer_reviews_it(
    site: harness.Instance, new_context: NewContext, tmp_path
):
    officer = await (await new_context("officer")).new_page()
    await officer.goto(f"/fournisseurs/{SIREN}/depots")
    contact = f"comptable.{uuid.uuid4().hex[:6]}@etudes-du-littoral.fr"
    await officer.get_by_label("Adresse électronique du titulaire").fill(contact)
    await officer.get_by_role("button", name="Inviter le titulaire").click()
    link_box = officer.get_by_label("Lien de connexion au portail")
    await expect(link_box).to_have_value(re.compile(r"/portail/lien/"))
    link = await link_box.input_value()
    await assert_clean(officer)

    contractor = await (await new_context()).new_page()
    await contractor.goto(link)
    await expect(contractor.locator("h1")).to_have_text("Confirmer la connexion au portail")
    await contractor.get_by_role("button", name="Se connecter").click()
    await contractor.wait_for_url(f"{site.base_url}/portail")
    await expect(contractor.locator("main")).to_contain_text("Commune de Démonstration")
    await contractor.locator('a[href="/portail/deposer/urssaf_vigilance"]').first.click()
    await contractor.wait_for_url(re.compile(r"/portail/deposer/urssaf_vigilance$"))

    # A PDF with active content is refused: the form says why, next to the file field.
    hostile = tmp_path / "attestation.pdf"
    hostile.write_bytes(samples.javascript())
    await contractor.get_by_label("Document au format PDF").set_input_files(hostile)
    await contractor.get_by_role("button", name="Envoyer le document").click()
    await expect(contractor.get_by_role("alert")).to_contain_text("contenu actif")
    await assert_error_linked(contractor, "Document au format PDF")
    await assert_clean(contractor)

    good = tmp_path / "attestation-urssaf.pdf"
    good.write_bytes(samples.attestation(SIREN, issued=date.today() - timedelta(days=3)))
    await contractor.get_by_label("Document au format PDF").set_input_files(good)
    await contractor.get_by_role("button", name="Envoyer le document").click()
    await contractor.wait_for_url(re.compile(r"/portail/depots/"))
    await expect(contractor.locator("main")).to_contain_text("a bien été reçu")
    await assert_clean(contractor)

    # The officer's queue, then the upload: refusing without a reason is an error state.
    await officer.goto("/revue")
    await assert_clean(officer)
    await officer.locator('main a[href^="/revue/"]').first.click()
    await officer.wait_for_url(re.compile(r"/revue/[0-9a-f-]{36}$"))
    await assert_clean(officer)
    await officer.get_by_role("button", name="Refuser").click()
    await expect(officer.get_by_role("alert")).to_be_visible()
    await assert_error_linked(officer, "Motif")
    await assert_clean(officer)
    await officer.get_by_role("button", name="Accepter").click()
    await officer.wait_for_url(re.compile(r"/revue\?fait=accept$"))
    await assert_clean(officer)
