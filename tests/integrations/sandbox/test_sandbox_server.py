"""SandboxServer on a real port, with a real HTTP client; the `vigie sandbox` command."""

from __future__ import annotations

import io

import httpx
import pypdf
import pytest
import typer
from typer.testing import CliRunner

from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, SandboxServer
from app.integrations.sandbox.cli import sandbox_app
from app.integrations.sandbox.profiles import DEMO_SIRENS
from tests.integrations.sandbox.conftest import PARAMS


async def test_server_serves_on_a_free_port_and_stops() -> None:
    server = SandboxServer(SandboxConfig(documents_per_minute=2))
    base_url = server.start()
    try:
        assert base_url.startswith("http://127.0.0.1:") and server.port > 0
        siren = DEMO_SIRENS["compliant"]
        headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=5) as client:
            path = f"/v4/urssaf/unites_legales/{siren}/attestation_vigilance"
            first = await client.get(path, params=PARAMS)
            url = first.json()["data"]["document_url"]
            assert url.startswith(f"{base_url}/files/")  # absolute, from the request's base URL
            pdf = await client.get(url)
            assert len(pypdf.PdfReader(io.BytesIO(pdf.content)).pages) == 1
            await client.get(path, params=PARAMS)
            third = await client.get(path, params=PARAMS)
            assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
            stats = (await client.get("/__sandbox/stats")).json()
            assert stats["rate_limited"] == 1
    finally:
        server.stop()
    assert server.base_url is None
    async with httpx.AsyncClient(timeout=1) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{base_url}/__sandbox/stats")


def test_server_is_a_context_manager() -> None:
    with SandboxServer() as base_url:
        assert httpx.get(f"{base_url}/__sandbox/stats", timeout=5).status_code == 200


def test_cli_registers_vigie_sandbox() -> None:
    root = typer.Typer()
    root.add_typer(sandbox_app)

    @root.command()
    def version() -> None:  # a second command, as in the real `vigie` app
        """Affiche la version."""

    result = CliRunner().invoke(root, ["sandbox", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in ("--port", "--host", "--json-per-minute", "--documents-per-minute"):
        assert option in result.output
    for option in ("--latency-ms", "--error-rate", "--timeout-rate"):
        assert option in result.output
