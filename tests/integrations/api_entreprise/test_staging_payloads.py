"""Every official staging payload of every endpoint we call: each 200 parses into its model,
each answer (200 or error) maps to the expected outcome."""

import hashlib

from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise.operations import OPERATIONS
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, CASES, PDF, StagingCase

# What each non-plain staging case means (everything else: a 200 is DELIVERED).
EXPECTED = {
    "urssaf_attestation_vigilance/attestation_non_delivree.yaml": OutcomeKind.REFUSED,
    "urssaf_attestation_vigilance/entite_hors_perimetre.yaml": OutcomeKind.UNAVAILABLE,
    "dgfip_attestation_fiscale/404.yaml": OutcomeKind.UNAVAILABLE,
    "dgfip_attestation_fiscale/entite_hors_perimetre.yaml": OutcomeKind.UNAVAILABLE,
    "insee_etablissement/404.yaml": OutcomeKind.UNKNOWN_ENTITY,
    "infogreffe_extrait_rcs/404.yaml": OutcomeKind.UNAVAILABLE,
    "rnm_entreprise_artisanale/404.yaml": OutcomeKind.UNAVAILABLE,
    "inpi_extrait_rne/404.yaml": OutcomeKind.UNAVAILABLE,
    "msa_conformite_cotisations/404.yaml": OutcomeKind.UNAVAILABLE,
    "fntp_carte_professionnelle/404.yml": OutcomeKind.UNAVAILABLE,
    "qualibat_certification/404.yml": OutcomeKind.UNAVAILABLE,
    "ademe_rge/404.yml": OutcomeKind.UNAVAILABLE,
    "cnetp_attestation/404.yaml": OutcomeKind.UNAVAILABLE,
    "cnetp_attestation/504.yaml": OutcomeKind.PENDING,
    "cibtp_attestation/404.yaml": OutcomeKind.UNAVAILABLE,
    "cibtp_attestation/504.yaml": OutcomeKind.PENDING,
    "opqibi_certification/404.yml": OutcomeKind.UNAVAILABLE,
    "probtp_attestation/404.yml": OutcomeKind.UNAVAILABLE,
    "probtp_conformite/404.yaml": OutcomeKind.UNAVAILABLE,
    "probtp_conformite/200_non_conforme.yaml": OutcomeKind.REFUSED,
}
DOCUMENT_OPERATIONS = {
    "inpi_extrait_rne",  # from data.inpi.fr, the host the spec documents for it
    "urssaf_attestation_vigilance",
    "dgfip_attestation_fiscale",
    "fntp_carte_professionnelle",
    "qualibat_certification",
    "cnetp_attestation",
    "cibtp_attestation",
    "probtp_attestation",
}


def test_every_endpoint_has_payloads() -> None:
    assert {c.operation for c in CASES} == set(OPERATIONS)
    assert set(EXPECTED) <= {c.id for c in CASES}
    assert sum(c.status == 200 for c in CASES) == 30  # the copied payload set


def test_every_200_parses(staging_case: StagingCase) -> None:
    if staging_case.status != 200:
        return
    op = OPERATIONS[staging_case.operation]
    data = staging_case.body["data"]
    model = op.model.model_validate({"certificates": data} if op.list_data else data)
    dumped = model.model_dump(by_alias=True)
    # Upstream names come back through the aliases.
    first_key = next(iter(dumped))
    assert first_key in (data if isinstance(data, dict) else {"certificates": 1})


async def test_every_payload_maps_to_its_outcome(staging_case: StagingCase, make_client) -> None:
    client = make_client()
    outcome = await client.call(
        staging_case.operation,
        staging_case.identifier,
        recipient=BUYER_SIRET,
        object="Marché 2026-042",
    )
    expected = EXPECTED.get(staging_case.id, OutcomeKind.DELIVERED)
    assert outcome.kind is expected, outcome.message
    assert outcome.endpoint == staging_case.operation
    assert outcome.http_status == staging_case.status
    assert outcome.request_id == f"req-{staging_case.identifier}"
    if staging_case.status != 200:
        assert outcome.error_code == staging_case.body["errors"][0]["code"]
        assert outcome.message
    if outcome.kind is OutcomeKind.PENDING:
        assert outcome.retry_at is not None
    if expected is OutcomeKind.DELIVERED:
        assert outcome.data is not None and outcome.raw == staging_case.body
        if staging_case.operation in DOCUMENT_OPERATIONS:
            assert outcome.document is not None
            assert outcome.document.sha256 == hashlib.sha256(PDF).hexdigest()
            assert outcome.document.media_type == "application/pdf"
        else:
            assert outcome.document is None


async def test_urssaf_delivered_carries_validity_and_security_code(make_client) -> None:
    outcome = await make_client().urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="Marché 42"
    )
    assert outcome.kind is OutcomeKind.DELIVERED
    assert str(outcome.valid_from) == "2023-01-31"
    assert str(outcome.valid_until) == "2023-07-31"
    assert outcome.security_code == "YAB458G1B2T8IZW"


async def test_insee_ceased_company_is_delivered_with_its_state(make_client) -> None:
    outcome = await make_client().insee_unite_legale(
        "350051447", recipient=BUYER_SIRET, object="Marché 42"
    )
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.data.administrative_state == "C"  # type: ignore[union-attr]
    assert not outcome.data.active  # type: ignore[union-attr]
