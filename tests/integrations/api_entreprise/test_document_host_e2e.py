"""End to end against the sandbox serving its documents under a second host name (issue 9): the
API on 127.0.0.1, the documents on `localhost`, as the real API serves them from
storage.entreprise.api.gouv.fr. Refused without the setting, archived byte-identical with it;
with the storage host down the requirement is `upstream_pending`, then delivered once it is back,
each try calling the endpoint again for a fresh `document_url`."""

import socket
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from pydantic import SecretStr

from app.compliance.fetch import Subject, fetch_requirement
from app.compliance.rules import EvidenceKind, RequirementStatus, RequirementType
from app.compliance.rules.evidence import Evidence
from app.compliance.rules.status import requirement_status
from app.config import ApiEntrepriseSettings
from app.integrations.api_entreprise import ApiEntrepriseClient, OutcomeKind
from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, SandboxServer
from app.integrations.sandbox.profiles import DEMO_SIRENS
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON

SIREN = DEMO_SIRENS["compliant"]
TODAY = date(2026, 11, 27)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxConfig(document_host="localhost"))
    server.start()
    yield server
    server.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_for(server: SandboxServer, *hosts: str) -> ApiEntrepriseClient:
    assert server.base_url is not None and "127.0.0.1" in server.base_url
    settings = ApiEntrepriseSettings(
        base_url=server.base_url,
        token=SecretStr(SANDBOX_TOKEN),
        document_hosts=list(hosts),
        maintenance_windows=False,
    )
    return ApiEntrepriseClient(settings, production=False, clock=lambda: NOON)


async def urssaf(client: ApiEntrepriseClient):
    return await client.urssaf_attestation_vigilance(SIREN, recipient=BUYER_SIRET, object="M1")


async def test_a_second_document_host_is_refused_without_the_setting(server) -> None:
    client = client_for(server)
    try:
        outcome = await urssaf(client)
    finally:
        await client.aclose()
    assert outcome.raw is not None
    assert httpx.URL(outcome.raw["data"]["document_url"]).host == "localhost"
    assert outcome.kind is OutcomeKind.BUG
    assert "'localhost' is not an allowed document host" in (outcome.message or "")


async def test_with_the_setting_the_document_is_archived_byte_identical(server) -> None:
    client = client_for(server, "localhost")
    try:
        got = await fetch_requirement(
            client, RequirementType.URSSAF_VIGILANCE, Subject(BUYER_SIRET, "M1", SIREN), TODAY
        )
    finally:
        await client.aclose()
    assert got.kind is EvidenceKind.DELIVERED, got.message
    (doc,) = got.documents
    raw = doc.outcome.raw
    assert raw is not None
    url = raw["data"]["document_url"]
    assert httpx.URL(url).host == "localhost"
    async with httpx.AsyncClient(timeout=5) as http:
        served = await http.get(url)
    assert served.status_code == 200 and doc.content == served.content
    assert doc.media_type == "application/pdf"


async def test_storage_down_is_pending_then_delivered_once_back(server) -> None:
    server.config.document_host = f"localhost:{closed_port()}"  # nothing listens there
    client = client_for(server, "localhost")
    subject = Subject(BUYER_SIRET, "M1", SIREN)
    try:
        down = await fetch_requirement(client, RequirementType.URSSAF_VIGILANCE, subject, TODAY)
        assert down.kind is EvidenceKind.PENDING and down.outcome == "pending"
        assert down.alert is None and down.documents == []
        assert down.retry_at is not None
        assert NOON < down.retry_at <= NOON + timedelta(minutes=5)
        evidence = Evidence(kind=down.kind, **down.evidence)
        status = requirement_status(
            RequirementType.URSSAF_VIGILANCE, evidence, due_on=TODAY, today=TODAY
        )
        assert status.status is RequirementStatus.UPSTREAM_PENDING
        assert evidence.retry_on == down.retry_at.date()

        server.config.document_host = "localhost"  # the storage host is back
        back = await fetch_requirement(client, RequirementType.URSSAF_VIGILANCE, subject, TODAY)
    finally:
        await client.aclose()
    assert back.kind is EvidenceKind.DELIVERED, back.message
    (doc,) = back.documents
    assert doc.content.startswith(b"%PDF-")


async def test_each_try_asks_the_endpoint_for_a_fresh_document_url(server) -> None:
    server.config.document_host = f"localhost:{closed_port()}"
    client = client_for(server, "localhost")
    try:
        first = await urssaf(client)
        server.config.document_host = "localhost"
        second = await urssaf(client)
    finally:
        await client.aclose()
    assert first.kind is OutcomeKind.PENDING and first.error_code == "document_unavailable"
    assert second.kind is OutcomeKind.DELIVERED
    assert first.raw is not None and second.raw is not None
    assert first.raw["data"]["document_url"] != second.raw["data"]["document_url"]


@pytest.mark.parametrize(
    ("base_url", "host", "expected"),
    [
        ("http://127.0.0.1:8001", None, "http://127.0.0.1:8001"),
        ("http://127.0.0.1:8001", "localhost", "http://localhost:8001"),
        ("http://127.0.0.1:8001", "localhost:9", "http://localhost:9"),
    ],
)
def test_document_base_url(base_url, host, expected) -> None:
    from app.integrations.sandbox.app import document_base_url

    assert document_base_url(base_url, host) == expected
