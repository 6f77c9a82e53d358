"""Every page, for every role that may see it, in Chromium: axe-core (WCAG 2.1 A/AA and the RGAA
criteria it tags) finds zero violations; the checks axe cannot make (one <h1>, a unique French
<title>, statuses never shown by colour alone, the strict CSP never violated); and the keyboard
alone reaches every link, button and field, with the focus visible and a working skip link.

A new page is one line of PAGES."""

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser import harness
from tests.browser.conftest import Visit, Visitor

pytestmark = pytest.mark.asyncio(loop_scope="session")

ANONYMOUS = ("anonymous",)
OFFICERS = ("officer", "admin")
EVERYONE = ("anonymous", "officer", "admin")
CONTRACTOR = ("contractor",)


@dataclass(frozen=True)
class Case:
    path: str  # {placeholders}: see `resolve`
    roles: tuple[str, ...]
    status: int = 200
    name: str = ""  # the page it is (a filtered view of a list, the error pages): may share titles

    @property
    def key(self) -> str:
        return self.name or self.path


PAGES = [
    Case("/connexion", ANONYMOUS),
    Case("/connexion/lien/{link}", ANONYMOUS),
    Case("/connexion/lien/lien-inconnu", ANONYMOUS, 404, name="lien invalide"),
    Case("/", OFFICERS),
    Case("/accessibilite", EVERYONE),
    Case("/mentions-legales", EVERYONE),
    Case("/page-qui-n-existe-pas", EVERYONE, 404, name="404"),
    Case("/contrats", OFFICERS),
    Case("/contrats/{contract}", OFFICERS),
    Case("/contrats?statut=non_compliant", OFFICERS, name="/contrats"),
    Case("/contrats/{other_contract}", OFFICERS, 404, name="404"),
    Case("/fournisseurs", OFFICERS),
    Case("/fournisseurs/{non_compliant}", OFFICERS),
    Case("/fournisseurs/{at_risk}", OFFICERS),
    Case("/fournisseurs/{compliant}", OFFICERS),
    Case("/fournisseurs/{other_siren}", OFFICERS, 404, name="404"),
    Case("/ecarts", OFFICERS),
    Case("/ecarts?statut=refused&statut=missing", OFFICERS, name="/ecarts"),
    Case("/fournisseurs?statut=at_risk&tri=nom", OFFICERS, name="/fournisseurs"),
    Case("/fournisseurs/{non_compliant}/depots", OFFICERS),
    Case("/revue", OFFICERS),
    Case("/parametres", ("admin",)),
    Case("/parametres", ("officer",), 403, name="403"),
    Case("/portail/connexion", ANONYMOUS),
    Case("/portail/lien/{portal_link}", ANONYMOUS),
    Case("/portail/lien/lien-inconnu", ANONYMOUS, 404, name="lien invalide (portail)"),
    Case("/portail", CONTRACTOR),
    Case("/portail/deposer/urssaf_vigilance", CONTRACTOR),
    Case("/portail/historique", CONTRACTOR),
    Case("/fournisseurs", CONTRACTOR, 404, name="404"),  # officers' pages are not theirs
]

CASES = [
    pytest.param(case, role, id=f"{role}:{case.path}") for case in PAGES for role in case.roles
]
# The keyboard walk once per page, as the role that sees the most (its last): lean, not blind.
KEYBOARD_CASES = [
    pytest.param(case, case.roles[-1], id=f"{case.roles[-1]}:{case.path}") for case in PAGES
]


TITLES: dict[str, str] = {}  # title → page key, across the session's visits


async def open_case(visit: Visitor, site: harness.Instance, case: Case, role: str) -> Visit:
    seen = await visit(await harness.resolve(case.path, site), role=role)
    assert seen.response is not None
    status = seen.response.status
    assert status == case.status, f"{role} on {case.path}: HTTP {status}, not {case.status}"
    return seen


@pytest.mark.parametrize(("case", "role"), CASES)
async def test_page_passes_axe_and_the_checks_axe_cannot_make(
    visit: Visitor, site: harness.Instance, case: Case, role: str
) -> None:
    seen = await open_case(visit, site, case, role)
    page = seen.page
    assert seen.response is not None and not seen.response.request.redirected_from, (
        f"{role} was sent from {case.path} to {page.url}"
    )

    assert await page.get_attribute("html", "lang") == "fr"
    title = await page.title()
    assert re.fullmatch(r".+ — Vigie", title), title
    owner = TITLES.setdefault(title, case.key)
    assert owner == case.key, f"{case.key!r} has the same <title> as {owner!r}: {title!r}"
    headings = await page.locator("h1").all_inner_texts()
    assert len(headings) == 1 and headings[0].strip(), f"one <h1> expected, found {headings}"

    # A status is never colour alone: every badge has words in it.
    for text in await page.locator(".status").all_inner_texts():
        assert re.search(r"\w{3,}", text), f"a status without text: {text!r}"

    csp = seen.response.headers.get("content-security-policy", "") if seen.response else ""
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert await seen.csp_violations() == []
    assert seen.errors == [] and seen.failed == []

    violations = await harness.axe_violations(page)
    assert not violations, (
        f"axe-core: {len(violations)} violation(s) on {case.path} as {role}:\n"
        + harness.describe(violations)
    )


FOCUSABLE = """() => {
  const selector = 'a[href], area[href], button, input:not([type="hidden"]), select, textarea, '
    + 'summary, [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';
  const visible = (e) => !e.disabled && e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== "hidden";
  return [...document.querySelectorAll(selector)].filter(visible).map((e, i) => {
    e.dataset.kbd = String(i);
    const group = e.type === "radio" ? `radio:${e.name}` : String(i);
    return {index: String(i), group, what: `${e.tagName.toLowerCase()} ${(e.innerText
      || e.value || e.getAttribute("aria-label") || e.name || "").trim().slice(0, 60)}`};
  });
}"""
ACTIVE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  return {
    index: e.dataset.kbd || null, id: e.id, tag: e.tagName.toLowerCase(),
    classes: e.className, text: (e.innerText || e.value || "").trim().slice(0, 60),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    shadow: style.boxShadow !== "none",
    onscreen: box.right > 0 && box.bottom > 0 && box.left < innerWidth && box.top < innerHeight,
  };
}"""


TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
}"""


@pytest.mark.parametrize(("case", "role"), KEYBOARD_CASES)
async def test_page_works_with_the_keyboard_alone_and_at_320_css_pixels(
    visit: Visitor, site: harness.Instance, case: Case, role: str
) -> None:
    seen = await open_case(visit, site, case, role)
    page = seen.page
    targets = {t["index"]: t for t in await page.evaluate(FOCUSABLE)}

    # Tab from the top through the whole page: the skip link first (shown while focused), then
    # every link, button and field, each with a visible focus.
    order: list[dict[str, Any]] = []
    for _ in range(len(targets) + 5):
        await page.keyboard.press("Tab")
        active = await page.evaluate(ACTIVE)
        if active is None or any(a["index"] == active["index"] for a in order):
            break  # the focus left the page (browser UI) or came round again
        assert active["outline"] or active["shadow"], f"focus not visible on {active}"
        assert active["onscreen"], f"focused element off screen: {active}"
        order.append(active)
    assert order and "skip-link" in order[0]["classes"], f"first focus: {order[:1]}"
    reached = {a["index"] for a in order}
    groups_reached = {targets[i]["group"] for i in reached if i in targets}
    missed = [t["what"] for t in targets.values() if t["group"] not in groups_reached]
    assert not missed, f"not reachable with Tab on {case.path} as {role}: {missed}"

    # The skip link moves the focus to <main>.
    await page.focus(".skip-link")
    await page.keyboard.press("Enter")
    landed = await page.evaluate(ACTIVE)
    assert landed and landed["tag"] == "main", f"the skip link led to {landed}"

    # Reflow (WCAG 1.4.10, RGAA 10.11): at 320 CSS px nothing makes the page scroll sideways
    # (a wide table scrolls inside its own .table-wrap).
    await page.set_viewport_size({"width": 320, "height": 640})
    overflow = await page.evaluate(TOO_WIDE)
    assert not overflow, f"{case.path} as {role} scrolls sideways at 320 px: {overflow}"
