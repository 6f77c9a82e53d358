"""A document that cannot be downloaded because of the network is transient (issue 9): PENDING
with a retry within minutes, never BUG; the next try calls the endpoint again for a fresh
`document_url` (the old one expires)."""

import socket
from datetime import date, timedelta

import httpx
import pytest

from app.compliance.fetch import Subject, fetch_requirement
from app.compliance.rules import EvidenceKind, RequirementType
from app.integrations.api_entreprise import OutcomeKind
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON, PDF

URSSAF = "/v4/urssaf/unites_legales/000000001/attestation_vigilance"
STORAGE = "storage.entreprise.api.gouv.fr"


def attestation(n: int) -> dict:
    data = {
        "entity_status": {"code": "ok", "libelle": "ok", "description": "ok"},
        "date_debut_validite": "2026-10-31",
        "date_fin_validite": "2027-04-30",
        "code_securite": "FAKE",
        "document_url": f"https://{STORAGE}/siade/{n}-attestation_vigilance_acoss.pdf",
        "document_url_expires_in": 86400,
    }
    return {"data": data, "links": {}, "meta": {}}


def raising(exc: Exception):
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    return fail


def status(code: int):
    return lambda request: httpx.Response(code, text="storage trouble")


FAILURES = {
    "connection refused": raising(httpx.ConnectError("[Errno 111] Connection refused")),
    "connection reset": raising(httpx.ReadError("[Errno 104] Connection reset by peer")),
    "server disconnected": raising(httpx.RemoteProtocolError("Server disconnected")),
    "dns failure": raising(httpx.ConnectError("[Errno -2] Name or service not known")),
    "connect timeout": raising(httpx.ConnectTimeout("timed out")),
    "read timeout": raising(httpx.ReadTimeout("timed out")),
    "500": status(500),
    "502": status(502),
    "503": status(503),
    "504": status(504),
}


class Storage:
    """The API answers with a fresh document_url each call; the storage host fails until fixed."""

    def __init__(self, staging, failure) -> None:
        self.failure = failure
        self.calls = 0
        self.downloads: list[str] = []
        staging.overrides[URSSAF] = self.answer
        self.staging = staging

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        body = attestation(self.calls)
        path = httpx.URL(body["data"]["document_url"]).path
        self.staging.overrides[path] = self.download
        return httpx.Response(200, json=body)

    def download(self, request: httpx.Request) -> httpx.Response:
        self.downloads.append(str(request.url))
        if self.failure is not None:
            return self.failure(request)
        return httpx.Response(200, content=PDF)


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_a_network_failure_is_pending_then_a_fresh_url_is_fetched(
    make_client, staging, failure
) -> None:
    storage = Storage(staging, failure)
    client = make_client()
    down = await client.urssaf_attestation_vigilance("000000001", recipient=BUYER_SIRET, object="M")
    assert down.kind is OutcomeKind.PENDING, down.message
    assert down.error_code == "document_unavailable" and down.document is None
    assert down.retry_at is not None and NOON < down.retry_at <= NOON + timedelta(minutes=5)
    storage.failure = None
    back = await client.urssaf_attestation_vigilance("000000001", recipient=BUYER_SIRET, object="M")
    assert back.kind is OutcomeKind.DELIVERED and back.document is not None
    assert back.document.content == PDF
    assert storage.calls == 2  # the endpoint again, not the expired link
    assert storage.downloads[0] != storage.downloads[-1]


async def test_a_dns_failure_in_production_is_pending(make_client, staging) -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    Storage(staging, None)
    client = make_client(production=True, resolver=no_dns)
    client.document_hosts.add(STORAGE)
    outcome = await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at is not None and outcome.retry_at <= NOON + timedelta(minutes=5)


async def test_the_requirement_is_pending_with_its_next_try(make_client, staging) -> None:
    Storage(staging, FAILURES["connection refused"])
    got = await fetch_requirement(
        make_client(),
        RequirementType.URSSAF_VIGILANCE,
        Subject(BUYER_SIRET, "M1", "000000001"),
        date(2026, 11, 27),
    )
    assert got.kind is EvidenceKind.PENDING and got.alert is None and got.documents == []
    assert got.retry_at is not None and got.retry_at <= NOON + timedelta(minutes=5)
    assert got.evidence["retry_on"] == got.retry_at.date()
    assert got.message == "Document momentanément indisponible"
