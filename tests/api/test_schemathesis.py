"""Schemathesis against Vigie's own OpenAPI document, as an officer, an ERP and an admin: whatever
the generated request (valid or not), the server never answers 5xx (issue 14), and every answer
is one the document describes (issue 13): a documented status, a documented content type, a body
valid against its schema, the documented headers. An undocumented answer is fixed by documenting
it (app/problems.py derives the problem answers), never by dropping a check here.

A real `vigie serve` on a migrated database of its own (SQLite, or PostgreSQL when DATABASE_URL
says so), keys made with the CLI as an operator would. A short run (a few examples per operation
and role) belongs to `make test`; `SCHEMATHESIS_EXAMPLES=200 pytest tests/api/test_schemathesis.py`
runs a longer one (`make proof`)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import migrated_database
from tests.factories import prefix_of, random_siret

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
VIGIE = str(Path(sys.executable).parent / "vigie")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([VIGIE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`vigie serve` on a free port; yields the base URL and a key per role."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    with migrated_database(tmp) as url:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "ENVIRONMENT": "test",
            "DEMO": "false",
            "ARCHIVE__DIR": str(tmp / "archive"),
            "ARCHIVE__KEY_FILE": str(tmp / "archive-keys.json"),
            "JOBS__QUEUE_NAME": f"vigie:schemathesis:{port}",
            "LOG_LEVEL": "WARNING",
        }
        siret = random_siret()
        _cli(env, "buyers", "create", "--siret", siret, "--name", "Commune de Schemathesis")
        keys = {
            "officer": _cli(env, "keys", "create", "--role", "officer", "--buyer", siret),
            "erp": _cli(env, "keys", "create", "--role", "erp", "--buyer", siret),
            # Two admins: the run may revoke one, never the platform's last (409 by design).
            "admin": _cli(env, "keys", "create", "--role", "admin"),
        }
        _cli(env, "keys", "create", "--role", "admin")
        log = (tmp / "serve.log").open("w")
        proc = subprocess.Popen(
            [VIGIE, "serve", "--port", str(port)], env=env, cwd=tmp, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/openapi.json", timeout=2).raise_for_status()
                    break
                except httpx.HTTPError:
                    assert proc.poll() is None, (tmp / "serve.log").read_text()[-3000:]
                    time.sleep(0.1)
            yield {"base": base, **keys}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            errors = (tmp / "serve.log").read_text()
            assert "Traceback" not in errors, errors[-5000:]


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_no_server_error_nor_schema_violation_for_any_role(server: dict[str, str]) -> None:
    """Every operation, every role, a few generated requests each; every 5xx and every answer the
    document does not describe is collected (with the request that caused it) and the test fails
    with the list."""
    schema = schemathesis.openapi.from_url(f"{server['base']}/openapi.json")
    own_admin = prefix_of(server["admin"])
    failures: list[str] = []
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            # The short run of `make test` is the same every time (CI never flakes on a new
            # draw); a longer run (SCHEMATHESIS_EXAMPLES) explores freely.
            derandomize="SCHEMATHESIS_EXAMPLES" not in os.environ,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            for role in ("officer", "erp", "admin"):
                if role == "admin" and case.method == "DELETE" and own_admin in case.formatted_path:
                    continue  # the admin run never deletes its own key
                calls += 1
                try:
                    case.call_and_validate(
                        headers={"Authorization": f"Bearer {server[role]}"},
                        checks=CHECKS,
                        timeout=30,
                    )
                except Exception as exc:
                    failures.append(f"{role} {case.method} {case.formatted_path}: {exc}"[:2000])
                    return

        run()
    print(
        f"schemathesis: {len(operations)} operations, {calls} calls, {len(failures)} failures "
        "(server errors or schema violations)"
    )
    assert not failures, "\n\n".join(failures[:20])
    assert calls >= 3 * len(operations)  # every operation was called, as every role
