"""Fixtures of the browser tests: one Vigie server and one Chromium for the whole session.

`site`: a real server (`vigie serve` in its own process) on its own database — SQLite, or
PostgreSQL when DATABASE_URL says so — with the demo checked on the built-in sandbox and a second
buyer (harness.prepare). `browser`: Debian's Chromium. `visit(path, role=…)`: a page opened in a
fresh context signed in as `role` ("anonymous", "officer", "admin", or "other": the other
buyer's admin, "contractor": a supplier's contact on the portal), watching for CSP violations and failed resources.

Without /usr/bin/chromium the tests skip with a reason; under CI they fail instead.
Every test and fixture here runs on the session's event loop (Playwright objects live on it).
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Response, async_playwright

from tests.browser import harness
from tests.conftest import migrated_database, unavailable

ROLES = {
    "officer": harness.OFFICER_EMAIL,
    "admin": harness.ADMIN_EMAIL,
    "other": harness.OTHER_EMAIL,
    "contractor": harness.CONTRACTOR_EMAIL,  # the supplier's contact, on the portal
}
# Recorded before any script of the page runs (DevTools protocol, not subject to the CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="session")
def chromium() -> Path:
    reason = harness.chromium_missing()
    if reason:
        unavailable(reason)
    return harness.CHROMIUM


@pytest.fixture(scope="session")
def browser_database_url(
    chromium: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    directory = tmp_path_factory.mktemp("browser")
    with migrated_database(directory) as url:
        yield directory, url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def site(browser_database_url: tuple[Path, str]) -> AsyncIterator[harness.Instance]:
    directory, url = browser_database_url
    instance = await harness.prepare(directory, url)
    async with harness.serve(instance):
        yield instance


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await harness.launch(playwright)
        yield browser
        await browser.close()


@dataclass
class Visit:
    """A page opened by `visit`, with what went wrong around it."""

    page: Page
    response: Response | None
    failed: list[str] = field(default_factory=list)  # resources that failed to load
    errors: list[str] = field(default_factory=list)  # uncaught script errors

    async def csp_violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("window.__cspViolations || []")
        return found


Visitor = Callable[..., Awaitable[Visit]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def storage_states(
    site: harness.Instance, browser: Browser
) -> Callable[[str], Awaitable[Any]]:
    """Each role signs in once (real link flow); later contexts reuse its cookies."""
    states: dict[str, Any] = {}

    async def state(role: str) -> Any:
        if role not in states:
            context = await browser.new_context()
            try:
                await harness.sign_in(context, await harness.sign_in_link(site, ROLES[role]))
                states[role] = await context.storage_state()
            finally:
                await context.close()
        return states[role]

    return state


@pytest_asyncio.fixture(loop_scope="session")
async def new_context(
    site: harness.Instance, browser: Browser, storage_states: Callable[[str], Awaitable[Any]]
) -> AsyncIterator[Callable[..., Awaitable[BrowserContext]]]:
    """`await new_context(role)`: a fresh context (closed after the test), signed in as `role`."""
    opened: list[BrowserContext] = []

    async def make(role: str = "anonymous") -> BrowserContext:
        state = None if role == "anonymous" else await storage_states(role)
        context = await browser.new_context(
            base_url=site.base_url, storage_state=state, locale="fr-FR"
        )
        await context.add_init_script(WATCH_CSP)
        opened.append(context)
        return context

    yield make
    for context in opened:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def visit(new_context: Callable[..., Awaitable[BrowserContext]]) -> Visitor:
    async def go(path: str, *, role: str = "anonymous") -> Visit:
        context = await new_context(role)
        page = await context.new_page()
        seen = Visit(page, None)
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.on(
            "requestfailed",
            lambda request: seen.failed.append(f"{request.url}: {request.failure}"),
        )

        def check_resource(response: Response) -> None:
            if response.request.resource_type != "document" and response.status >= 400:
                seen.failed.append(f"{response.url}: {response.status}")

        page.on("response", check_resource)
        seen.response = await page.goto(path)
        return seen

    return go
