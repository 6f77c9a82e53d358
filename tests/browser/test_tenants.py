"""Another buyer's supplier or contract, opened by URL in the browser, is the 404 page — the same
page as for what does not exist — while its own buyer sees it."""

import pytest
from playwright.async_api import expect

from tests.browser import harness
from tests.browser.conftest import Visitor

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("what", ["fournisseurs/{other_siren}", "contrats/{other_contract}"])
async def test_another_buyers_object_is_the_404_page(
    visit: Visitor, site: harness.Instance, what: str
):
    path = "/" + what.format(other_siren=site.other_siren, other_contract=site.other_contract_id)

    own = await visit(path, role="other")  # its buyer's agent sees it
    assert own.response is not None and own.response.status == 200
    await expect(own.page.locator("h1")).not_to_have_text("Page introuvable")

    foreign = await visit(path, role="admin")
    assert foreign.response is not None and foreign.response.status == 404
    await expect(foreign.page.locator("h1")).to_have_text("Page introuvable")
    body = await foreign.page.locator("main").inner_text()
    assert harness.OTHER_BUYER_NAME not in body and site.other_siren not in body
    missing = await visit("/" + what.split("/")[0] + "/" + "999999999", role="admin")
    assert missing.response is not None and missing.response.status == 404
    assert await missing.page.locator("main").inner_text() == body  # indistinguishable
