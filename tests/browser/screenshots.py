"""`make screenshots`: regenerate the README's pictures with the browser tests' harness — a fresh
instance (SQLite in a temporary directory, the demo checked on the built-in sandbox), the demo
officer signed in by link in Debian's Chromium, then the dashboard and a non-compliant supplier's
page (URSSAF refused the attestation) saved under docs/screenshots/.

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots]
"""

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from app.integrations.sandbox.profiles import DEMO_SIRENS, URSSAF_REFUSED
from app.migrate import upgrade
from tests.browser import harness

SHOTS = {
    "tableau-de-bord.png": "/",
    "fournisseur.png": f"/fournisseurs/{DEMO_SIRENS[URSSAF_REFUSED]}",
}


async def shoot(directory: Path, database_url: str, out: Path) -> list[Path]:
    instance = await harness.prepare(directory, database_url)
    saved = []
    async with harness.serve(instance, proconnect=False), async_playwright() as playwright:
        browser = await harness.launch(playwright)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="fr-FR", base_url=instance.base_url
            )
            page = await harness.sign_in(
                context, await harness.sign_in_link(instance, harness.ADMIN_EMAIL)
            )
            for name, path in SHOTS.items():
                response = await page.goto(path)
                assert response is not None and response.ok, (
                    f"{path}: {response and response.status}"
                )
                target = out / name
                await page.screenshot(path=target, full_page=True)
                saved.append(target)
        finally:
            await browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=harness.ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    reason = harness.chromium_missing()
    if reason:
        sys.exit(reason)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vigie-screenshots-") as tmp:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'vigie.db'}"
        upgrade(url)
        for path in asyncio.run(shoot(directory, url, args.out)):
            print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
