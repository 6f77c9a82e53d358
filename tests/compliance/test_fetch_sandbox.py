"""`fetch_requirement` against the sandbox (over ASGI, the real client and its document
downloads): each profile and pinned scenario gives the evidence the law expects."""

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from pydantic import SecretStr

from app.compliance.fetch import Fetched, Subject, fetch_requirement
from app.compliance.rules import Evidence, EvidenceKind, RequirementType
from app.config import ApiEntrepriseSettings
from app.integrations.api_entreprise import ApiEntrepriseClient, MemoryRateLimiter
from app.integrations.api_entreprise.ratelimit import Family
from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, create_sandbox_app
from app.integrations.sandbox.identifiers import head_office_siret
from app.integrations.sandbox.profiles import DEMO_SIRENS, SCENARIO_SIRENS
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON

TODAY = date(2026, 11, 27)
SIRENS = DEMO_SIRENS | SCENARIO_SIRENS
REG = RequirementType.REGISTRATION


@pytest.fixture
async def client() -> AsyncIterator[ApiEntrepriseClient]:
    app = create_sandbox_app(SandboxConfig(today=lambda: TODAY))
    settings = ApiEntrepriseSettings(base_url="http://sandbox.test", token=SecretStr(SANDBOX_TOKEN))
    client = ApiEntrepriseClient(
        settings,
        transport=httpx.ASGITransport(app=app),
        production=False,
        clock=lambda: NOON,
        limiter=MemoryRateLimiter({Family.JSON: 1000, Family.DOCUMENTS: 1000}),
    )
    yield client
    await client.aclose()


async def fetch(client: ApiEntrepriseClient, rtype: RequirementType, name: str) -> Fetched:
    subject = Subject(BUYER_SIRET, "Marché 2026-042", SIRENS[name])
    return await fetch_requirement(client, rtype, subject, TODAY)


@pytest.mark.parametrize(
    ("name", "kind", "proved_by", "flags"),
    [
        ("compliant", EvidenceKind.DELIVERED, "infogreffe_extrait_rcs", set()),
        ("artisan", EvidenceKind.DELIVERED, "rnm_entreprise_artisanale", set()),
        ("rne_only", EvidenceKind.DELIVERED, "inpi_extrait_rne", set()),
        ("non_diffusible", EvidenceKind.DELIVERED, "infogreffe_extrait_rcs", set()),
        ("unregistered", EvidenceKind.UNAVAILABLE, None, set()),
        ("unknown", EvidenceKind.UNAVAILABLE, None, set()),
        ("ceased", EvidenceKind.DELIVERED, "infogreffe_extrait_rcs", {"ceased"}),
        ("struck_off", EvidenceKind.DELIVERED, "infogreffe_extrait_rcs", {"struck_off"}),
        (
            "collective_proceedings",
            EvidenceKind.DELIVERED,
            "infogreffe_extrait_rcs",
            {"collective_proceedings"},
        ),
        (
            "sauvegarde",
            EvidenceKind.DELIVERED,
            "infogreffe_extrait_rcs",
            {"collective_proceedings"},
        ),
        (
            "liquidation",
            EvidenceKind.DELIVERED,
            "infogreffe_extrait_rcs",
            {"liquidation"},
        ),
    ],
)
async def test_registration_by_the_register_that_applies(
    client, name, kind, proved_by, flags
) -> None:
    got = await fetch(client, REG, name)
    assert got.kind is kind and got.kind is not None, got
    evidence = Evidence(kind=got.kind, **got.evidence)
    names = ("ceased", "struck_off", "collective_proceedings", "liquidation")
    raised = {f for f in names if getattr(evidence, f)}
    assert raised == flags
    endpoints = [d.outcome.endpoint for d in got.documents]
    if proved_by is None:
        assert endpoints == []
    else:
        assert endpoints[0] == proved_by
        assert ("insee_unite_legale" in endpoints) is (name != "non_diffusible")
    if flags & {"collective_proceedings", "liquidation"}:  # the sandbox's judgment: 30 days ago
        assert evidence.proceedings_on == date(2026, 10, 28)
    if name == "rne_only":
        assert got.documents[0].media_type == "application/pdf"  # the RNE certificate
        assert got.company_name  # an individual: named from Sirene (diffusible)


async def test_an_urssaf_refusal_comes_with_its_answer_to_archive(client) -> None:
    got = await fetch(client, RequirementType.URSSAF_VIGILANCE, "urssaf_refused")
    assert got.kind is EvidenceKind.REFUSED
    [document] = got.documents
    assert document.media_type == "application/json"
    assert b'"refus_de_delivrance"' in document.content


async def test_msa_through_the_head_office_siret(client) -> None:
    got = await fetch(client, RequirementType.MSA_VIGILANCE, "compliant")
    assert got.kind is EvidenceKind.DELIVERED
    assert len(got.request_ids) == 2  # INSEE (head office), then MSA
    subject = Subject(BUYER_SIRET, "M", SIRENS["compliant"])
    await fetch_requirement(client, RequirementType.MSA_VIGILANCE, subject, TODAY)
    assert subject.siret == head_office_siret(SIRENS["compliant"])
    hidden = await fetch(client, RequirementType.MSA_VIGILANCE, "non_diffusible")
    assert hidden.kind is EvidenceKind.UNAVAILABLE  # no head office to ask: to be uploaded
