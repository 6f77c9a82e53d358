"""The browser harness, shared by the browser tests and `make screenshots`: a real Vigie served by
uvicorn in a process of its own (its own database, the built-in API Entreprise sandbox, the demo
data with every check already run, and a second buyer for the other-tenant tests), Debian's
Chromium driven by Playwright (never a downloaded browser), sign-in through the real link flow,
and axe-core (vendored in `vendor/`) run inside the page.

Async Playwright on purpose: the sync API marks its event loop as running in the test's thread,
which breaks every asyncio test that runs after it in the same session.
"""

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, Playwright
from sqlmodel import col, select

from app.buyers.models import Buyer
from app.compliance.cli import sweep
from app.compliance.evaluation import policy_from
from app.compliance.queries import supplier_compliance
from app.config import Settings
from app.contracts.models import Contract, ContractCreate
from app.contracts.service import create_contract
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.demo import DEMO_BUYER_SIRET, seed_demo
from app.integrations.sandbox.profiles import DEMO_SIRENS
from app.runtime import build_runtime
from app.suppliers.models import Supplier
from app.suppliers.service import list_suppliers
from app.users.contractors import invite_contractor
from app.users.models import User, UserRole
from app.users.service import invite_user, issue_link, link_url
from tests.web import oidc_provider

ROOT = Path(__file__).resolve().parents[2]
VENDOR = Path(__file__).parent / "vendor"
AXE = VENDOR / "axe.min.js"
CHROMIUM = Path(os.environ.get("VIGIE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WCAG 2.1 A and AA, the RGAA 4 criteria axe-core tags (axe-core >= 4.11), and axe's best
# practices (heading order, one main landmark, content inside landmarks…).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "RGAAv4", "best-practice"]

OTHER_BUYER_NAME = "Syndicat des Eaux de l'Autre Rive"
OTHER_BUYER_SIRET = "21980000000016"  # fictional, Luhn-valid (SIREN and SIRET)
OTHER_SUPPLIER_SIREN = "100001007"  # a sandbox company the demo buyer has no contract with
ADMIN_EMAIL = "agent@commune-demonstration.fr"  # the demo's own officer (admin rights)
OFFICER_EMAIL = "acheteur@commune-demonstration.fr"
OTHER_EMAIL = "agent@autre-rive.fr"
CONTRACTOR_EMAIL = "gerant@etudes-du-littoral.fr"  # the portal's contact of CONTRACTOR_SIREN
CONTRACTOR_SIREN = DEMO_SIRENS["out_of_perimeter"]  # URSSAF cannot deliver: it must upload


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if not AXE.exists():
        return f"axe-core is missing at {AXE}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    """A prepared Vigie: where its data lives and what the demo holds once checked."""

    directory: Path
    database_url: str
    demo_siret: str
    other_siret: str = OTHER_BUYER_SIRET
    other_siren: str = OTHER_SUPPLIER_SIREN
    # SIREN → overall status of the demo buyer's suppliers after the sweep
    statuses: dict[str, str] = field(default_factory=dict)
    contract_ids: list[str] = field(default_factory=list)
    other_contract_id: str = ""
    base_url: str = ""
    idp_url: str = ""  # the tests' OpenID Connect provider, when ProConnect is on

    def env(self) -> dict[str, str]:
        """The server's environment: the same settings as `settings()`."""
        return {
            "ENVIRONMENT": "development",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": "",  # the in-process runner, whatever the test session uses
            "DEMO": "false",
            "ARCHIVE__DIR": str(self.directory / "archive"),
            "ARCHIVE__KEY_FILE": str(self.directory / "archive-keys.json"),
            "JOBS__QUEUE_NAME": f"vigie:browser:{self.directory.name}",
            "LOG_LEVEL": "WARNING",
            "LOG_ACCESS": "false",
        }

    def settings(self) -> Settings:
        return Settings(
            environment="development",
            database_url=self.database_url,
            redis_url=None,
            demo=False,
            archive={
                "dir": self.directory / "archive",
                "key_file": self.directory / "archive-keys.json",
            },
        )

    def siren_with(self, status: str) -> str:
        """A demo supplier whose overall status is `status`."""
        for siren, found in sorted(self.statuses.items()):
            if found == status:
                return siren
        raise LookupError(f"no demo supplier is {status}: {self.statuses}")


async def prepare(directory: Path, database_url: str, *, today: date | None = None) -> Instance:
    """Seed the demo (and another buyer with a supplier of its own), then run every check once,
    in process, on the built-in sandbox: every status is there before the first page opens."""
    instance = Instance(directory, database_url, DEMO_BUYER_SIRET)
    settings = instance.settings()
    today = today or date.today()
    rt = await build_runtime(settings, in_process=True, periodic=False)
    try:
        async with unit_of_work(rt.sessionmaker) as session:
            seeded = await seed_demo(session, settings, today=today)
            assert seeded is not None, "the browser tests' database must start empty"
            await invite_user(session, email=OFFICER_EMAIL, buyer=seeded.buyer)
            other = Buyer(siret=OTHER_BUYER_SIRET, name=OTHER_BUYER_NAME)
            session.add(other)
            await session.flush()
            await invite_user(session, email=OTHER_EMAIL, buyer=other, role=UserRole.ADMIN)
            contract = ContractCreate.model_validate(
                {
                    "reference": f"AR-{today.year}-001",
                    "object": "Entretien des réseaux d'eau",
                    "amount_ht": "64000",
                    "notified_on": today.isoformat(),
                    "duration_months": 12,
                    "holders": [{"siren": OTHER_SUPPLIER_SIREN}],
                }
            )
            created = await create_contract(
                session, other.id, contract, threshold=settings.vigilance_threshold_ht
            )
            instance.other_contract_id = str(created.contract.id)
        await sweep(rt)
        async with unit_of_work(rt.sessionmaker) as session:
            supplier = (
                await session.exec(select(Supplier).where(Supplier.siren == CONTRACTOR_SIREN))
            ).one()
            await invite_contractor(
                session,
                email=CONTRACTOR_EMAIL,
                supplier=supplier,
                buyer=seeded.buyer,
                invited_by="Commune de Démonstration",
            )
        async with rt.sessionmaker() as session:
            policy = policy_from(settings)
            for supplier in await list_suppliers(session, seeded.buyer.id, after=None, limit=1000):
                if supplier.siren is None:
                    continue
                found = await supplier_compliance(
                    session, supplier, buyer_id=seeded.buyer.id, policy=policy
                )
                instance.statuses[supplier.siren] = str(
                    getattr(found.status, "value", found.status)
                )
            demo_contracts = select(Contract.id).where(Contract.buyer_id == seeded.buyer.id)
            ordered = demo_contracts.order_by(col(Contract.reference))
            instance.contract_ids = [str(i) for i in (await session.exec(ordered)).all()]
    finally:
        await rt.aclose()
    unchecked = [s for s, status in instance.statuses.items() if status == "not_checked"]
    assert not unchecked, f"the sweep left demo suppliers unchecked: {unchecked}"
    return instance


async def _start(
    command: list[str], env: dict[str, str], log_path: Path, ready: str
) -> asyncio.subprocess.Process:
    """Start a process (output to `log_path`) and wait until GET `ready` answers below 500."""
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.returncode is not None:
                output = await asyncio.to_thread(log_path.read_text, errors="replace")
                raise RuntimeError(f"{command} exited ({process.returncode}):\n{output[-4000:]}")
            try:
                if (await client.get(ready, timeout=2)).status_code < 500:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    await _stop(process)
    raise RuntimeError(f"{command} did not answer within 30 s")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def serve(instance: Instance, *, proconnect: bool = True) -> AsyncIterator[str]:
    """`vigie serve` in a process of its own on a free port; yields its base URL. `proconnect`:
    with ProConnect configured against the tests' OpenID Connect provider (tests/browser/idp.py,
    another process), as a deployment for public agents has it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **instance.env(),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB__PUBLIC_URL": base_url,
    }
    processes = []
    try:
        if proconnect:
            idp_port = free_port()
            instance.idp_url = f"http://127.0.0.1:{idp_port}"
            issuer = f"{instance.idp_url}/api/v2"
            command = [sys.executable, "-m", "tests.browser.idp", str(idp_port), base_url]
            discovery = f"{issuer}/.well-known/openid-configuration"
            log = instance.directory / "idp.log"
            processes.append(await _start(command, dict(os.environ), log, discovery))
            env.update(
                PROCONNECT__ISSUER=issuer,
                PROCONNECT__CLIENT_ID=oidc_provider.CLIENT_ID,
                PROCONNECT__CLIENT_SECRET=oidc_provider.CLIENT_SECRET,
            )
        serve_command = [sys.executable, "-c", "from app.cli import app; app()", "serve"]
        log = instance.directory / "server.log"
        processes.append(await _start(serve_command, env, log, f"{base_url}/healthz"))
        instance.base_url = base_url
        yield base_url
    finally:
        for process in reversed(processes):
            await _stop(process)


async def next_agent(instance: Instance, **claims: str) -> None:
    """Who the tests' provider signs in next (ProConnect's claims: sub, email, siret…)."""
    async with httpx.AsyncClient(base_url=instance.idp_url) as client:
        (await client.post("/test/user", json=claims)).raise_for_status()


async def sign_in_link(instance: Instance, email: str) -> str:
    """A fresh single-use sign-in link for an existing account (as `vigie users invite`)."""
    engine = make_engine(instance.database_url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            user = (await session.exec(select(User).where(User.email == email))).one()
            token = await issue_link(session, user, minutes=30)
    finally:
        await engine.dispose()
    return link_url(instance.base_url, token, portal=user.role == UserRole.CONTRACTOR)


async def resolve(path: str, instance: Instance) -> str:
    """Fill a page's placeholders: {compliant}, {at_risk}, {non_compliant} (a demo supplier's
    SIREN), {contract} (a demo contract's id), {other_siren}, {other_contract} (the other
    buyer's), {link} (a fresh sign-in token of the demo admin), {portal_link} (the contractor's)."""
    values: dict[str, Any] = {
        "compliant": instance.siren_with("compliant"),
        "at_risk": instance.siren_with("at_risk"),
        "non_compliant": instance.siren_with("non_compliant"),
        "contract": instance.contract_ids[0] if instance.contract_ids else "",
        "other_siren": instance.other_siren,
        "other_contract": instance.other_contract_id,
    }
    if "{link}" in path:
        values["link"] = (await sign_in_link(instance, ADMIN_EMAIL)).rsplit("/", 1)[1]
    if "{portal_link}" in path:
        link = await sign_in_link(instance, CONTRACTOR_EMAIL)
        values["portal_link"] = link.rsplit("/", 1)[1]
    return path.format(**values)


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


async def sign_in(context: BrowserContext, link: str) -> Page:
    """Open the link, confirm (`Se connecter`): the page is on the dashboard, signed in."""
    page = await context.new_page()
    await page.goto(link)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(lambda url: "/lien/" not in url)
    return page


# --- axe-core ---------------------------------------------------------------------------------

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))
  }));
}"""


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is. Injected with `evaluate` (DevTools protocol,
    not a <script>): the page's own strict CSP stays in force for everything else."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = await page.evaluate(AXE_RUN, AXE_TAGS)
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:10]:
            summary = " ".join(str(node["summary"]).split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)
