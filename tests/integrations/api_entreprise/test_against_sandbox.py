"""The client against the real sandbox over HTTP: the sandbox enforces the mandatory parameters
(422 like the real API) and the bearer token, serves PDFs at its own URLs; every operation of a
compliant company is delivered, and the profiles map to their outcomes."""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from app.config import ApiEntrepriseSettings
from app.integrations.api_entreprise import ApiEntrepriseClient, OutcomeKind
from app.integrations.api_entreprise.operations import OPERATIONS
from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
from app.integrations.sandbox.identifiers import head_office_siret
from app.integrations.sandbox.profiles import DEMO_SIRENS
from app.integrations.sandbox.server import SandboxServer
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with SandboxServer(SandboxConfig()) as url:
        yield url


def client_for(url: str, token: str = SANDBOX_TOKEN) -> ApiEntrepriseClient:
    settings = ApiEntrepriseSettings(base_url=url, token=SecretStr(token))
    return ApiEntrepriseClient(settings, production=False, clock=lambda: NOON)


async def test_every_operation_of_a_compliant_company(sandbox_url: str) -> None:
    siren = DEMO_SIRENS["compliant"]
    ids = {"siren": siren, "siret": head_office_siret(siren)}
    client = client_for(sandbox_url)
    try:
        for op in OPERATIONS.values():
            outcome = await client.call(
                op.name, ids[op.id_kind], recipient=BUYER_SIRET, object="Marché 2026-001"
            )
            assert outcome.kind in {OutcomeKind.DELIVERED, OutcomeKind.UNAVAILABLE}, (
                op.name,
                outcome,
            )
            if outcome.kind is OutcomeKind.DELIVERED and op.name == "urssaf_attestation_vigilance":
                assert outcome.document is not None
                assert outcome.document.content.startswith(b"%PDF-")
                assert outcome.valid_until is not None and outcome.security_code
        privileges = await client.privileges()
        assert privileges.kind is OutcomeKind.DELIVERED
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("profile", "operation", "kind"),
    [
        ("urssaf_refused", "urssaf_attestation_vigilance", OutcomeKind.REFUSED),
        ("out_of_perimeter", "urssaf_attestation_vigilance", OutcomeKind.UNAVAILABLE),
        ("manual_review", "urssaf_attestation_vigilance", OutcomeKind.PENDING),
        ("unknown", "insee_unite_legale", OutcomeKind.UNKNOWN_ENTITY),
    ],
)
async def test_profiles(sandbox_url: str, profile: str, operation: str, kind) -> None:
    client = client_for(sandbox_url)
    try:
        outcome = await client.call(
            operation, DEMO_SIRENS[profile], recipient=BUYER_SIRET, object="M"
        )
    finally:
        await client.aclose()
    assert outcome.kind is kind, outcome
    if kind is OutcomeKind.PENDING:
        assert outcome.error_code == "04501" and outcome.retry_at is not None


async def test_wrong_token_is_a_config_error(sandbox_url: str) -> None:
    client = client_for(sandbox_url, token="not-the-sandbox-token")
    try:
        outcome = await client.insee_unite_legale(
            DEMO_SIRENS["compliant"], recipient=BUYER_SIRET, object="M"
        )
    finally:
        await client.aclose()
    assert outcome.kind is OutcomeKind.CONFIG_ERROR and outcome.http_status == 401
