"""`vigie serve --workers N` (or WEB_CONCURRENCY) runs N uvicorn processes; the embedded mode,
whose process runs the jobs, refuses more than one unless the runner is off."""

from typing import Any

import pytest
import uvicorn

from tests.test_cli import cli_env, invoke  # noqa: F401  (the CLI's environment fixture)

pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture
def served(monkeypatch) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    return calls


def test_workers_option_and_web_concurrency(served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOBS__AUTOSTART", "false")
    from app.config import get_settings

    get_settings.cache_clear()
    assert invoke("serve", "--workers", "3").exit_code == 0
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    assert invoke("serve").exit_code == 0
    assert [c["workers"] for c in served] == [3, 2]
    assert served[0]["app"] == "app.main:create_app" and served[0]["factory"] is True


def test_one_worker_by_default(served) -> None:  # type: ignore[no-untyped-def]
    assert invoke("serve").exit_code == 0
    assert served[0]["workers"] == 1


def test_embedded_mode_refuses_several_workers(served) -> None:  # type: ignore[no-untyped-def]
    result = invoke("serve", "--workers", "2")
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output
    assert served == []
