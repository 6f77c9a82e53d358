"""What a process loads, not only what a file imports: the CLI, the jobs, the services and the
error tree run without the web framework or the queue library (import-linter checks the files;
this checks the modules actually loaded, lazy imports included)."""

import subprocess
import sys

import pytest

NEVER = ("fastapi", "starlette", "arq", "workers")


@pytest.mark.parametrize(
    "module",
    [
        "app.cli",
        "app.compliance.tasks",
        "app.compliance.checks",
        "app.compliance.scheduling",
        "app.contracts.service",
        "app.errors",
        "app.jobs",
        "app.db",
        "app.demo",
    ],
)
def test_module_loads_no_web_framework_nor_queue_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({NEVER!r}))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"


def test_the_control_loads_fastapi() -> None:
    """The same probe on the app factory does see FastAPI (the test can fail)."""
    code = "import sys, app.main; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
