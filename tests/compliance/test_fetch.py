"""`fetch_requirement` over the real client, on `httpx.MockTransport` serving the official
staging payloads: which calls it makes, what evidence it builds, what it hands over to archive.

Vigie-side failures (401/403, 422, an answer that does not parse, a document refused) never
become evidence: `kind=None` with an alert, and the engine keeps what it had."""

import copy
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.compliance.fetch import Fetched, Subject, fetch_requirement
from app.compliance.rules import Evidence, EvidenceKind, RequirementType
from app.config import ApiEntrepriseSettings
from app.documents.archive import JSON_MEDIA_TYPE, canonical_json_document
from app.integrations.api_entreprise import ApiEntrepriseClient, MemoryRateLimiter
from app.integrations.api_entreprise.ratelimit import Family
from tests.integrations.api_entreprise.conftest import (
    BASE_URL,
    BUYER_SIRET,
    CASES,
    NOON,
    TOKEN,
    StagingServer,
)

TODAY = date(2026, 11, 27)
REG, URSSAF, MSA = (
    RequirementType.REGISTRATION,
    RequirementType.URSSAF_VIGILANCE,
    RequirementType.MSA_VIGILANCE,
)
INSEE = "/v4/insee/sirene/unites_legales/{}"
RCS = "/v3/infogreffe/rcs/unites_legales/{}/extrait_kbis"
RNM = "/v3/cma_france/rnm/unites_legales/{}"
RNE = "/v3/inpi/rne/unites_legales/{}/extrait_rne"
OFFICE = "/v4/insee/sirene/etablissements/{}"  # the head office, for its address (identity)
MSA_PATH = "/v3/msa/etablissements/{}/conformite_cotisations"
SNCF = "552049447"  # staging: INSEE, RCS, RNM and RNE all deliver
SNCF_SIEGE = "55204944776279"  # its head office (staging: an établissement)


def body_of(operation: str, file: str) -> dict[str, Any]:
    case = next(c for c in CASES if c.operation == operation and c.file == file)
    return copy.deepcopy(case.body)


def answer(status: int, body: dict[str, Any] | None = None) -> Any:
    return lambda _: httpx.Response(status, json=body, headers={"X-Request-ID": f"rid-{status}"})


def error(status: int, code: str = "00000") -> Any:
    return answer(status, {"errors": [{"code": code, "title": "Titre", "detail": "Détail"}]})


NOT_FOUND = error(404, "00003")


@pytest.fixture
def staging() -> StagingServer:
    return StagingServer(CASES)


@pytest.fixture
async def client(staging: StagingServer) -> AsyncIterator[ApiEntrepriseClient]:
    settings = ApiEntrepriseSettings(
        base_url=BASE_URL,
        token=SecretStr(TOKEN),
        document_hosts=["raw.githubusercontent.com"],
        max_wait_seconds=0.5,
    )
    client = ApiEntrepriseClient(
        settings,
        transport=httpx.MockTransport(staging),
        production=False,
        clock=lambda: NOON,
        limiter=MemoryRateLimiter({Family.JSON: 1000, Family.DOCUMENTS: 1000}),
    )
    yield client
    await client.aclose()


async def fetch(
    client: ApiEntrepriseClient, rtype: RequirementType, siren: str | None, siret: str | None = None
) -> Fetched:
    subject = Subject(BUYER_SIRET, "Marché 2026-042", siren, siret)
    return await fetch_requirement(client, rtype, subject, TODAY)


def called(staging: StagingServer) -> list[str]:
    return [r.url.path for r in staging.api_requests]


def evidence(got: Fetched, document_id: str | None = None) -> Evidence:
    """What the engine builds from it (checks._persist): the keys must be Evidence's."""
    assert got.kind is not None
    return Evidence(kind=got.kind, document_id=document_id, **got.evidence)


# --- registration: INSEE, then the first register that knows the company ------------------------


async def test_a_clean_rcs_extract_proves_the_registration(client, staging) -> None:
    got = await fetch(client, REG, SNCF)
    assert (got.kind, got.outcome) == (EvidenceKind.DELIVERED, "delivered")
    # RNM, RNE not asked; then the head office, for the supplier's address.
    assert called(staging) == [INSEE.format(SNCF), RCS.format(SNCF), OFFICE.format(SNCF_SIEGE)]
    assert got.company_address == "2 PLACE AUX ETOILES, 93210 SAINT-DENIS"
    found = evidence(got)
    assert not (found.ceased or found.struck_off or found.collective_proceedings)
    assert found.obtained_on == TODAY and found.reference == f"req-{SNCF}"
    assert [d.outcome.endpoint for d in got.documents] == [
        "infogreffe_extrait_rcs",
        "insee_unite_legale",
    ]
    rcs = got.documents[0]
    assert rcs.media_type == JSON_MEDIA_TYPE
    assert rcs.content == canonical_json_document(body_of("infogreffe_extrait_rcs", "200.yaml"))
    assert got.company_name == "SOCIETE NATIONALE SNCF"
    assert got.request_ids == [f"req-{SNCF}", f"req-{SNCF}"]


async def test_an_artisan_off_the_rcs_is_proved_by_the_rnm(client, staging) -> None:
    staging.overrides[RCS.format(SNCF)] = NOT_FOUND
    got = await fetch(client, REG, SNCF)
    assert got.kind is EvidenceKind.DELIVERED
    assert called(staging)[-2:] == [RNM.format(SNCF), OFFICE.format(SNCF_SIEGE)]  # no RNE
    assert [d.outcome.endpoint for d in got.documents] == [
        "rnm_entreprise_artisanale",
        "insee_unite_legale",
    ]
    assert not evidence(got).struck_off


async def test_the_rne_proves_it_when_neither_rcs_nor_rnm_knows_it(client, staging) -> None:
    staging.overrides[RCS.format(SNCF)] = NOT_FOUND
    staging.overrides[RNM.format(SNCF)] = NOT_FOUND
    got = await fetch(client, REG, SNCF)
    assert got.kind is EvidenceKind.DELIVERED
    assert called(staging)[1:-1] == [RCS.format(SNCF), RNM.format(SNCF), RNE.format(SNCF)]
    rne = got.documents[0]
    assert (rne.outcome.endpoint, rne.media_type) == ("inpi_extrait_rne", "application/pdf")
    assert not evidence(got).collective_proceedings  # "Augmentation de capital"


async def test_the_rne_notes_carry_collective_proceedings(client, staging) -> None:
    body = body_of("inpi_extrait_rne", "200.yaml")
    body["data"]["observations"].append(
        {
            "fournisseur": "rcs",
            "numero": "2026-09-01-002",
            "date": "2026-09-01",
            "texte": "Jugement d'ouverture d'une procédure de redressement judiciaire",
        }
    )
    staging.overrides[RCS.format(SNCF)] = NOT_FOUND
    staging.overrides[RNM.format(SNCF)] = NOT_FOUND
    staging.overrides[RNE.format(SNCF)] = answer(200, body)
    got = await fetch(client, REG, SNCF)
    found = evidence(got)
    assert got.kind is EvidenceKind.DELIVERED and found.collective_proceedings
    assert not found.liquidation and found.proceedings_on == date(2026, 9, 1)


@pytest.mark.parametrize(
    ("notes", "collective", "liquidation", "judged_on"),
    [
        ([], False, False, None),
        (
            [("Jugement d'ouverture d'une procédure de sauvegarde", "2026-03-02")],
            True,
            False,
            date(2026, 3, 2),
        ),
        (
            [
                ("Jugement d'ouverture d'une procédure de redressement judiciaire", "2025-10-06"),
                ("Jugement de conversion en liquidation judiciaire", "2026-04-13"),
            ],
            False,  # a liquidation, not a proceedings that leaves the company at risk only
            True,
            date(2026, 4, 13),
        ),
        ([("Dissolution anticipée, liquidation amiable", "2026-01-05")], False, False, None),
    ],
    ids=["none", "sauvegarde", "liquidation", "liquidation-amiable"],
)
async def test_the_rcs_notes_tell_which_proceedings_and_since_when(
    client, staging, notes, collective, liquidation, judged_on
) -> None:
    body = body_of("infogreffe_extrait_rcs", "200.yaml")
    body["data"]["observations"] += [
        {"numero": str(n), "libelle": text, "date": day} for n, (text, day) in enumerate(notes)
    ]
    staging.overrides[RCS.format(SNCF)] = answer(200, body)
    found = evidence(await fetch(client, REG, SNCF))
    assert (found.collective_proceedings, found.liquidation) == (collective, liquidation)
    assert found.proceedings_on == judged_on


async def test_an_active_company_on_no_register_awaits_upload_never_missing(
    client, staging
) -> None:
    for path in (RCS, RNM, RNE):
        staging.overrides[path.format(SNCF)] = NOT_FOUND
    got = await fetch(client, REG, SNCF)
    assert (got.kind, got.outcome) == (EvidenceKind.UNAVAILABLE, "unavailable")
    assert got.documents == [] and got.message and "déposer" in got.message
    assert got.company_name == "SOCIETE NATIONALE SNCF"
    assert evidence(got).obtained_on == TODAY
    assert len(called(staging)) == 5 and called(staging)[-1] == OFFICE.format(SNCF_SIEGE)


async def test_an_association_needs_no_register_sirene_proves_it(client, staging) -> None:
    """D8222-5 2° asks for an extract only where registration is compulsory: an association
    (legal form 9230) is on no register (the staging server answers 404 to all three)."""
    got = await fetch(client, REG, "775672272")
    assert got.kind is EvidenceKind.DELIVERED
    assert len(called(staging)) == 5  # INSEE, three registers, the head office's address
    assert [d.outcome.endpoint for d in got.documents] == ["insee_unite_legale"]
    assert not evidence(got).ceased


async def test_a_ceased_company_is_delivered_ceased_even_on_no_register(client, staging) -> None:
    got = await fetch(client, REG, "350051447")  # staging: personne morale cessée
    found = evidence(got)
    assert got.kind is EvidenceKind.DELIVERED and found.ceased and found.ceased_on is not None


async def test_struck_off_is_read_from_the_rcs(client, staging) -> None:
    body = body_of("infogreffe_extrait_rcs", "200.yaml")
    body["data"]["date_radiation"] = "2026-06-30"
    staging.overrides[RCS.format(SNCF)] = answer(200, body)
    found = evidence(await fetch(client, REG, SNCF))
    assert found.struck_off and found.struck_off_on == date(2026, 6, 30)


@pytest.mark.parametrize("insee", [answer(451), error(404, "01003")], ids=["451", "404"])
async def test_insee_silent_and_a_clean_register_proves_it(client, staging, insee) -> None:
    staging.overrides[INSEE.format(SNCF)] = insee
    got = await fetch(client, REG, SNCF)
    assert got.kind is EvidenceKind.DELIVERED
    assert [d.outcome.endpoint for d in got.documents] == ["infogreffe_extrait_rcs"]
    assert "ceased" not in got.evidence and not evidence(got).struck_off
    assert got.company_name is None  # a non-diffusible company is never named from elsewhere


async def test_neither_insee_nor_any_register_awaits_upload(client, staging) -> None:
    got = await fetch(client, REG, "000000000")  # 404 at INSEE and at every register
    assert got.kind is EvidenceKind.UNAVAILABLE and got.documents == []
    assert len(called(staging)) == 4
    evidence(got)


@pytest.mark.parametrize(
    ("path", "response", "outcome", "calls"),
    [
        (INSEE, error(403, "00100"), "config_error", 1),  # no register asked
        (INSEE, error(401, "00103"), "config_error", 1),
        (RCS, error(401, "00101"), "config_error", 2),
        (RCS, error(422, "00203"), "bug", 2),
        (RNM, answer(200, {"data": {"non_sedentaire": "0"}, "links": {}, "meta": {}}), "bug", 3),
    ],
)
async def test_a_vigie_side_failure_is_never_evidence(
    client, staging, path, response, outcome, calls
) -> None:
    if path == RNM:
        staging.overrides[RCS.format(SNCF)] = NOT_FOUND
    staging.overrides[path.format(SNCF)] = response
    got = await fetch(client, REG, SNCF)
    assert (got.kind, got.outcome) == (None, outcome)
    assert got.alert and got.evidence == {} and got.documents == []
    assert len(called(staging)) == calls


async def test_a_provider_down_is_pending_and_asks_no_further(client, staging) -> None:
    staging.overrides[RCS.format(SNCF)] = error(504, "02002")
    got = await fetch(client, REG, SNCF)
    assert got.kind is EvidenceKind.PENDING and got.retry_at is not None
    assert evidence(got).retry_on == got.retry_at.date()
    assert called(staging) == [INSEE.format(SNCF), RCS.format(SNCF)]
    staging.requests.clear()
    staging.overrides[INSEE.format(SNCF)] = error(502, "01999")
    got = await fetch(client, REG, SNCF)
    assert got.kind is EvidenceKind.PENDING and called(staging) == [INSEE.format(SNCF)]


# --- attestations: a refusal is archived as its proof --------------------------------------------


async def test_an_urssaf_refusal_hands_its_json_answer_over_to_archive(client, staging) -> None:
    got = await fetch(client, URSSAF, "000000002")  # staging: refus_de_delivrance
    assert (got.kind, got.outcome) == (EvidenceKind.REFUSED, "refused")
    [document] = got.documents
    assert document.media_type == JSON_MEDIA_TYPE
    official = body_of("urssaf_attestation_vigilance", "attestation_non_delivree.yaml")
    assert document.content == canonical_json_document(official)
    assert document.outcome.request_id == "req-000000002"
    # checks._persist passes the archived document's id: the refusal's proof is that document.
    assert evidence(got, document_id="doc-1").proof == "doc-1"


async def test_a_delivered_attestation_hands_its_pdf_over(client, staging) -> None:
    got = await fetch(client, URSSAF, "000000001")
    assert got.kind is EvidenceKind.DELIVERED
    [document] = got.documents
    assert document.media_type == "application/pdf" and document.content.startswith(b"%PDF-")
    found = evidence(got)
    assert (str(found.valid_from), str(found.valid_until)) == ("2023-01-31", "2023-07-31")


@pytest.mark.parametrize(
    ("rtype", "siren"),
    [(URSSAF, "440752244"), (RequirementType.DGFIP_FISCAL, "000000002")],
    ids=["urssaf-out-of-perimeter", "dgfip-404"],
)
async def test_absence_is_not_guilt_nothing_to_archive(client, rtype, siren) -> None:
    got = await fetch(client, rtype, siren)
    assert got.kind is EvidenceKind.UNAVAILABLE and got.documents == []
    evidence(got)


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (error(401, "00101"), "config_error"),
        (error(403, "00100"), "config_error"),
        (error(422, "00202"), "bug"),
        (answer(200, {"data": {"document_url": None}, "links": {}, "meta": {}}), "bug"),
    ],
)
async def test_urssaf_vigie_side_failures_leave_no_evidence(
    client, staging, response, outcome
) -> None:
    staging.overrides["/v4/urssaf/unites_legales/000000001/attestation_vigilance"] = response
    got = await fetch(client, URSSAF, "000000001")
    assert (got.kind, got.outcome) == (None, outcome) and got.alert


async def test_a_document_on_a_host_vigie_refuses_is_a_bug_not_evidence(client, staging) -> None:
    body = body_of("urssaf_attestation_vigilance", "attestation_delivree.yaml")
    body["data"]["document_url"] = "https://evil.example.com/attestation.pdf"
    staging.overrides["/v4/urssaf/unites_legales/000000001/attestation_vigilance"] = answer(
        200, body
    )
    got = await fetch(client, URSSAF, "000000001")
    assert (got.kind, got.outcome) == (None, "bug") and got.documents == []


# --- MSA: the holder's establishment, or its head office ----------------------------------------


async def test_msa_asks_the_holders_siret(client, staging) -> None:
    got = await fetch(client, MSA, "200053791", "20005379100014")
    assert called(staging) == [MSA_PATH.format("20005379100014")]
    assert got.kind is EvidenceKind.DELIVERED
    [document] = got.documents
    assert document.media_type == JSON_MEDIA_TYPE  # the MSA answer has no PDF


async def test_msa_without_a_siret_asks_the_head_office_found_at_insee(client, staging) -> None:
    unit = body_of("insee_unite_legale", "personne_morale.yaml")
    unit["data"] |= {"siren": "200053791", "siret_siege_social": "20005379100014"}
    staging.overrides[INSEE.format("200053791")] = answer(200, unit)
    subject = Subject(BUYER_SIRET, "Marché 2026-042", "200053791")
    got = await fetch_requirement(client, MSA, subject, TODAY)
    assert called(staging) == [INSEE.format("200053791"), MSA_PATH.format("20005379100014")]
    assert got.kind is EvidenceKind.DELIVERED
    assert subject.siret == "20005379100014"  # the next SIRET-based requirement reuses it
    assert got.request_ids == ["rid-200", "req-20005379100014"]


async def test_msa_outdated_is_refused_and_archived(client, staging) -> None:
    body = {"data": {"status": "outdated"}, "links": {}, "meta": {}}
    staging.overrides[MSA_PATH.format("20005379100014")] = answer(200, body)
    got = await fetch(client, MSA, "200053791", "20005379100014")
    assert got.kind is EvidenceKind.REFUSED
    assert [d.content for d in got.documents] == [canonical_json_document(body)]


@pytest.mark.parametrize(
    ("insee", "kind", "outcome"),
    [
        (answer(451), EvidenceKind.UNAVAILABLE, "unavailable"),
        (error(404, "01003"), EvidenceKind.UNAVAILABLE, "unknown_entity"),
        (error(401, "00101"), None, "config_error"),
    ],
)
async def test_msa_without_a_head_office(client, staging, insee, kind, outcome) -> None:
    staging.overrides[INSEE.format("200053791")] = insee
    got = await fetch(client, MSA, "200053791")
    assert (got.kind, got.outcome) == (kind, outcome)
    assert called(staging) == [INSEE.format("200053791")]  # no MSA call without a SIRET
    if kind is None:
        assert got.alert
    else:
        evidence(got)


async def test_msa_unknown_establishment_awaits_upload(client) -> None:
    got = await fetch(client, MSA, "130025265", "13002526500013")  # staging 404
    assert got.kind is EvidenceKind.UNAVAILABLE


# --- nothing to fetch ----------------------------------------------------------------------------


async def test_a_foreign_holder_awaits_its_upload(client, staging) -> None:
    got = await fetch(client, RequirementType.FOREIGN_VAT, None)
    assert (got.kind, got.outcome) == (EvidenceKind.UNAVAILABLE, "not_fetchable")
    assert staging.requests == []
    evidence(got)
