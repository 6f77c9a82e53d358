"""The import contracts of pyproject.toml bite: a copy of the code with probe modules that break
(and keep) each rule, checked by `lint-imports`. A mistyped wildcard would otherwise pass forever.

Only new modules are added to the copy, so the answer does not depend on the state of the tree.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

BREAKING = {
    "app/zz_probe_service.py": "import arq\nimport fastapi\nimport httpx\nimport starlette\n"
    "import workers.main\n",
    "app/compliance/rules/zz_probe.py": "import app.compliance.models\nimport app.config\n"
    "import sqlmodel\n",
}
ALLOWED = {
    "app/zz_probe/__init__.py": "",
    "app/zz_probe/router.py": "import fastapi\nimport starlette\n",
    "app/web/zz_probe_pages.py": "import fastapi\n",
    "app/integrations/zz_probe.py": "import httpx\n",
    "workers/zz_probe.py": "import arq\n",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    copy = tmp_path_factory.mktemp("contracts")
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("app", "workers"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy)
    (copy / "app" / "web").mkdir(exist_ok=True)  # the pages package may not exist yet
    (copy / "app" / "web" / "__init__.py").touch()
    for path, source in {**BREAKING, **ALLOWED}.items():
        (copy / path).parent.mkdir(exist_ok=True)
        (copy / path).write_text(source, encoding="utf-8")
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=copy,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "link",
    [
        "app.zz_probe_service -> workers.main",
        "app.zz_probe_service -> fastapi",
        "app.zz_probe_service -> starlette",
        "app.zz_probe_service -> arq",
        "app.zz_probe_service -> httpx",
        "app.compliance.rules.zz_probe -> app.compliance.models",
        "app.compliance.rules.zz_probe -> app.config",
        "app.compliance.rules.zz_probe -> sqlmodel",
    ],
)
def test_a_forbidden_import_breaks_its_contract(report: str, link: str) -> None:
    assert link in report


@pytest.mark.parametrize(
    "importer",
    [
        "app.zz_probe.router",
        "app.web.zz_probe_pages",
        "app.integrations.zz_probe",
        "workers.zz_probe",
    ],
)
def test_an_allowed_import_is_not_reported(report: str, importer: str) -> None:
    assert f"{importer} ->" not in report
