"""Allowed document hosts follow the base URL (issue 9): the real API's storage host works with
no setting, API_ENTREPRISE__DOCUMENT_HOSTS only adds, and a host outside the list is refused and
reported once per host with the setting to change."""

import logging

import httpx
import pytest

from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise.documents import (
    allowed_document_hosts,
    default_document_hosts,
)
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, CASES, PDF

URSSAF = "/v4/urssaf/unites_legales/000000001/attestation_vigilance"
STORAGE = "storage.entreprise.api.gouv.fr"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://entreprise.api.gouv.fr", {"entreprise.api.gouv.fr", STORAGE}),
        ("https://entreprise.api.gouv.fr/", {"entreprise.api.gouv.fr", STORAGE}),
        (
            "https://staging.entreprise.api.gouv.fr",
            {
                "staging.entreprise.api.gouv.fr",
                STORAGE,
                "entreprise.api.gouv.fr",
                "raw.githubusercontent.com",
            },
        ),
        ("http://127.0.0.1:8123", {"127.0.0.1"}),
        ("https://API.Example.org", {"api.example.org"}),
    ],
)
def test_default_hosts_follow_the_base_url(base_url, expected) -> None:
    assert default_document_hosts(base_url) == expected


def test_the_setting_adds_to_the_defaults() -> None:
    hosts = allowed_document_hosts("https://entreprise.api.gouv.fr", [" Files.Example.org ", ""])
    assert hosts == {"entreprise.api.gouv.fr", STORAGE, "files.example.org"}


def test_the_client_uses_the_defaults_and_the_setting(make_client, ae_settings) -> None:
    settings = ae_settings.model_copy(
        update={"base_url": "https://entreprise.api.gouv.fr", "document_hosts": ["x.example.org"]}
    )
    client = make_client(settings=settings)
    assert {STORAGE, "entreprise.api.gouv.fr", "x.example.org"} <= client.document_hosts


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.status == 200 and "document_url" in str(c.body)], ids=str
)
async def test_staging_documents_need_no_setting(make_client, ae_settings, case) -> None:
    """Every official staging answer with a document is archived with the defaults alone."""
    client = make_client(settings=ae_settings.model_copy(update={"document_hosts": []}))
    outcome = await client.call(case.operation, case.identifier, recipient=BUYER_SIRET, object="M")
    assert outcome.kind is not OutcomeKind.BUG, outcome.message


def answer_with_document(url: str):
    def answer(_: httpx.Request) -> httpx.Response:
        data = {
            "entity_status": {"code": "ok", "libelle": "ok", "description": "ok"},
            "date_debut_validite": "2026-10-31",
            "date_fin_validite": "2027-04-30",
            "code_securite": "FAKE",
            "document_url": url,
            "document_url_expires_in": 86400,
        }
        return httpx.Response(200, json={"data": data, "links": {}, "meta": {}})

    return answer


async def test_a_storage_host_document_is_archived_in_production(make_client, staging) -> None:
    async def public(host: str, port: int) -> list[str]:
        return ["145.242.11.10"]

    url = f"https://{STORAGE}/siade/1-attestation_vigilance_acoss.pdf"
    staging.overrides[URSSAF] = answer_with_document(url)
    client = make_client(production=True, resolver=public)
    client.document_hosts = allowed_document_hosts("https://entreprise.api.gouv.fr")
    outcome = await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.DELIVERED, outcome.message
    assert outcome.document is not None and outcome.document.content == PDF


async def test_production_still_refuses_http_and_private_addresses(make_client, staging) -> None:
    async def private(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]

    client = make_client(production=True, resolver=private)
    staging.overrides[URSSAF] = answer_with_document(f"https://{STORAGE}/a.pdf")
    refused = await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert refused.kind is OutcomeKind.BUG and "non-public" in (refused.message or "")
    staging.overrides[URSSAF] = answer_with_document(f"http://{STORAGE}/a.pdf")
    plain = await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert plain.kind is OutcomeKind.BUG and "scheme" in (plain.message or "")


async def test_an_unknown_host_is_refused_and_reported_once(make_client, staging, caplog) -> None:
    client = make_client()
    buyer = client.with_token("another-buyer-token")  # shares what was reported
    caplog.set_level(logging.ERROR, logger="app.integrations.api_entreprise.client")
    for n, who in enumerate((client, client, buyer)):
        staging.overrides[URSSAF] = answer_with_document(f"https://files.example.org/{n}.pdf")
        outcome = await who.urssaf_attestation_vigilance(
            "000000001", recipient=BUYER_SIRET, object="M"
        )
        assert outcome.kind is OutcomeKind.BUG
        assert "files.example.org" in (outcome.message or "")
    staging.overrides[URSSAF] = answer_with_document("https://other.example.org/x.pdf")
    await client.urssaf_attestation_vigilance("000000001", recipient=BUYER_SIRET, object="M")
    reports = [r.getMessage() for r in caplog.records if "DOCUMENT_HOSTS" in r.getMessage()]
    assert len(reports) == 2  # one per host, not one per document
    assert "'files.example.org'" in reports[0] and "'other.example.org'" in reports[1]
    assert "API_ENTREPRISE__DOCUMENT_HOSTS" in reports[0]
    assert not any(r.url.host.endswith("example.org") for r in staging.requests)  # never fetched
