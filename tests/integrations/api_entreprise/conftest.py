"""Fixtures for the API Entreprise client: the official staging payloads served through
`httpx.MockTransport` (the client's test seam), a recognisable token, a buyer SIRET."""

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr
from pypdf import PdfWriter

from app.config import ApiEntrepriseSettings
from app.integrations.api_entreprise import ApiEntrepriseClient, MemoryRateLimiter
from app.integrations.api_entreprise.operations import OPERATIONS
from app.integrations.api_entreprise.ratelimit import Family

DATA = Path(__file__).parents[2] / "data" / "api_entreprise"
PAYLOADS = DATA / "staging_payloads"
BASE_URL = "https://staging.entreprise.api.gouv.fr"
TOKEN = "TOKEN-vigie-test-4f9c2e7a"  # recognisable, grepped for in logs and rows
BUYER_SIRET = "10000001700010"  # the recipient example of the DINUM doc
NOON = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # 12:00 in Paris


def blank_pdf(pages: int = 1) -> bytes:
    """A valid PDF of `pages` blank A4 pages, written by pypdf (no binary fixture to ship)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Vigie test document"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = blank_pdf()  # what staging's document links serve; the client opens it before keeping it

# Staging endpoint directory -> our operation (the newest version of each route).
DIR_TO_OPERATION = {
    "api_entreprise_v4_insee_unites_legales": "insee_unite_legale",
    "api_entreprise_v4_insee_etablissements": "insee_etablissement",
    "api_entreprise_v3_infogreffe_extraits_rcs": "infogreffe_extrait_rcs",
    "api_entreprise_v3_rnm_entreprises_artisanales": "rnm_entreprise_artisanale",
    "api_entreprise_v3_inpi_rne_extrait_rne": "inpi_extrait_rne",
    "api_entreprise_v4_acoss_attestations_sociales": "urssaf_attestation_vigilance",
    "api_entreprise_v4_dgfip_attestations_fiscales": "dgfip_attestation_fiscale",
    "api_entreprise_v3_msa_conformites_cotisations": "msa_conformite_cotisations",
    "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics": "fntp_carte_professionnelle",
    "api_entreprise_v4_qualibat_certifications_batiment": "qualibat_certification",
    "api_entreprise_v3_ademe_certificats_rge": "ademe_rge",
    "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies": (
        "cnetp_attestation"
    ),
    "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies": (
        "cibtp_attestation"
    ),
    "api_entreprise_v3_opqibi_certifications_ingenierie": "opqibi_certification",
    "api_entreprise_v3_probtp_attestations_cotisation_retraite": "probtp_attestation",
    "api_entreprise_v3_probtp_conformites_cotisations_retraite": "probtp_conformite",
}


@dataclass(frozen=True)
class StagingCase:
    directory: str
    file: str
    operation: str
    identifier: str
    status: int
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.operation}/{self.file}"

    @property
    def path(self) -> str:
        op = OPERATIONS[self.operation]
        return op.path.format(**{op.id_kind: self.identifier})


def load_cases() -> list[StagingCase]:
    cases = []
    for directory in sorted(p for p in PAYLOADS.iterdir() if p.is_dir()):
        for file in sorted(directory.glob("*.y*ml")):
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
            params = raw["params"]
            identifier = params.get("siren") or params.get("siret")
            cases.append(
                StagingCase(
                    directory.name,
                    file.name,
                    DIR_TO_OPERATION[directory.name],
                    identifier,
                    int(raw["status"]),
                    json.loads(raw["payload"]),
                )
            )
    return cases


CASES = load_cases()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "staging_case" in metafunc.fixturenames:
        metafunc.parametrize("staging_case", CASES, ids=[c.id for c in CASES])


@dataclass
class StagingServer:
    """A MockTransport handler that answers like staging: payload by path, PDF for documents."""

    cases: list[StagingCase]
    requests: list[httpx.Request] = field(default_factory=list)
    overrides: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path in self.overrides:
            return self.overrides[request.url.path](request)
        if request.url.host != httpx.URL(BASE_URL).host or request.url.path.endswith(".pdf"):
            return httpx.Response(200, content=PDF, headers={"Content-Type": "application/pdf"})
        for case in self.cases:
            if case.path == request.url.path:
                return httpx.Response(
                    case.status,
                    json=case.body,
                    headers={
                        "X-Request-ID": f"req-{case.identifier}",
                        "RateLimit-Limit": "250",
                        "RateLimit-Remaining": "200",
                        "RateLimit-Reset": "30",
                    },
                )
        if request.url.path == "/privileges":
            return httpx.Response(200, json={"privileges": ["attestations_sociales"]})
        return httpx.Response(
            404, json={"errors": [{"code": "00003", "title": "?", "detail": "?"}]}
        )

    @property
    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.host == httpx.URL(BASE_URL).host]


@pytest.fixture
def staging() -> StagingServer:
    return StagingServer(CASES)


@pytest.fixture
def ae_settings() -> ApiEntrepriseSettings:
    return ApiEntrepriseSettings(
        base_url=BASE_URL,
        token=SecretStr(TOKEN),
        document_hosts=["raw.githubusercontent.com", "entreprise.api.gouv.fr"],
        max_wait_seconds=0.5,
    )


@pytest.fixture
def make_client(
    ae_settings: ApiEntrepriseSettings, staging: StagingServer
) -> Callable[..., ApiEntrepriseClient]:
    def make(**kwargs: Any) -> ApiEntrepriseClient:
        kwargs.setdefault("transport", httpx.MockTransport(staging))
        kwargs.setdefault("production", False)
        kwargs.setdefault("clock", lambda: NOON)  # outside every maintenance window
        kwargs.setdefault("limiter", MemoryRateLimiter({Family.JSON: 1000, Family.DOCUMENTS: 1000}))
        settings = kwargs.pop("settings", ae_settings)
        return ApiEntrepriseClient(settings, **kwargs)

    return make
