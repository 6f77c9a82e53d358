"""Every operation answers with the documented shape for each profile and staging case."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.integrations.sandbox.endpoints import BY_NAME, ENDPOINTS, Endpoint
from app.integrations.sandbox.identifiers import head_office_siret
from app.integrations.sandbox.profiles import DEMO_SIRENS, SCENARIO_SIRENS
from app.integrations.sandbox.staging import staging_cases
from tests.integrations.sandbox.conftest import PARAMS, TODAY

CERTIFICATES = {
    "msa_conformite_cotisations",
    "fntp_carte_professionnelle",
    "qualibat_certification",
    "ademe_rge",
    "cnetp_attestation",
    "cibtp_attestation",
    "opqibi_certification",
    "probtp_attestation",
    "probtp_conformite",
}


def expected_status(endpoint: str, profile: str) -> int:
    if profile == "unknown":
        return 404
    if endpoint.startswith("insee_"):
        return 451 if profile == "non_diffusible" else 200
    if endpoint == "infogreffe_extrait_rcs":
        return 404 if profile in ("artisan", "rne_only", "unregistered") else 200
    if endpoint == "rnm_entreprise_artisanale":  # companies are not on the répertoire des métiers
        return 200 if profile == "artisan" else 404
    if endpoint == "inpi_extrait_rne":  # the national register knows every registered company
        return 404 if profile == "unregistered" else 200
    if endpoint == "urssaf_attestation_vigilance":
        return {
            "ceased": 404,
            "out_of_perimeter": 404,
            "struck_off": 404,
            "manual_review": 502,
        }.get(profile, 200)
    if profile in ("ceased", "out_of_perimeter"):
        return 404
    return 200


def url_for(endpoint: Endpoint, siren: str) -> str:
    identifier = siren if endpoint.id_kind == "siren" else head_office_siret(siren)
    return endpoint.path.replace("{" + endpoint.id_kind + "}", identifier)


def official_200(endpoint: str) -> dict[str, Any]:
    for (name, _), case in staging_cases().items():
        if name == endpoint and case.status == 200:
            return case.body()
    raise AssertionError(f"no staging 200 for {endpoint}")


def data_keys(body: dict[str, Any]) -> set[str]:
    data = body["data"]
    return set(data[0]["data"]) if isinstance(data, list) else set(data)


PINNED = DEMO_SIRENS | SCENARIO_SIRENS


@pytest.mark.parametrize("profile", sorted(PINNED))
@pytest.mark.parametrize("endpoint", [e.name for e in ENDPOINTS])
async def test_each_profile_answers_with_the_official_shape(
    sandbox: httpx.AsyncClient, endpoint: str, profile: str
) -> None:
    ep = BY_NAME[endpoint]
    response = await sandbox.get(url_for(ep, PINNED[profile]), params=PARAMS)
    assert response.status_code == expected_status(endpoint, profile), response.text
    body = response.json()
    assert int(response.headers["RateLimit-Limit"]) == (250 if ep.family == "json" else 50)
    assert response.headers["X-Request-ID"]
    if response.status_code != 200:
        error = body["errors"][0]
        assert error["code"][:2] in (ep.code_prefix, "04")
        assert error["title"] and error["detail"]
        assert error["meta"]["provider"]
        return
    assert set(body) == {"data", "links", "meta"}
    assert data_keys(body) == data_keys(official_200(endpoint))
    urls = [body["data"].get("document_url")] if isinstance(body["data"], dict) else []
    urls += [item["data"]["url"] for item in body["data"]] if endpoint == "ademe_rge" else []
    for url in filter(None, urls):
        assert url.startswith("http://sandbox.test/files/")


async def test_compliant_urssaf_is_valid_six_months_from_a_recent_date(
    sandbox: httpx.AsyncClient,
) -> None:
    siren = DEMO_SIRENS["compliant"]
    response = await sandbox.get(
        f"/v4/urssaf/unites_legales/{siren}/attestation_vigilance", params=PARAMS
    )
    data = response.json()["data"]
    assert data["entity_status"]["code"] == "ok"
    start, end = data["date_debut_validite"], data["date_fin_validite"]
    assert "2026-01-01" <= start <= TODAY.isoformat()
    assert end[:7] == f"2026-{int(start[5:7]) + 6:02d}"  # end of the month, 6 months later
    assert data["code_securite"] and data["document_url_expires_in"] == 86400


async def test_refused_ceased_manual_review_struck_off_and_proceedings(
    sandbox: httpx.AsyncClient,
) -> None:
    refused = await sandbox.get(
        f"/v4/urssaf/unites_legales/{DEMO_SIRENS['urssaf_refused']}/attestation_vigilance",
        params=PARAMS,
    )
    assert refused.json()["data"]["entity_status"]["code"] == "refus_de_delivrance"
    assert refused.json()["data"]["document_url"] is None

    ceased = await sandbox.get(
        f"/v4/insee/sirene/unites_legales/{DEMO_SIRENS['ceased']}", params=PARAMS
    )
    assert ceased.json()["data"]["etat_administratif"] == "C"
    assert ceased.json()["data"]["date_cessation"] is not None

    review = await sandbox.get(
        f"/v4/urssaf/unites_legales/{DEMO_SIRENS['manual_review']}/attestation_vigilance",
        params=PARAMS,
    )
    error = review.json()["errors"][0]
    assert (error["code"], error["meta"]["retry_in"]) == ("04501", 172800)

    rcs = "/v3/infogreffe/rcs/unites_legales/{}/extrait_kbis"
    struck = await sandbox.get(rcs.format(DEMO_SIRENS["struck_off"]), params=PARAMS)
    assert struck.json()["data"]["date_radiation"] is not None
    proceedings = await sandbox.get(
        rcs.format(DEMO_SIRENS["collective_proceedings"]), params=PARAMS
    )
    assert "redressement judiciaire" in proceedings.json()["data"]["observations"][0]["libelle"]

    unknown = await sandbox.get(
        f"/v4/insee/sirene/unites_legales/{DEMO_SIRENS['unknown']}", params=PARAMS
    )
    assert unknown.status_code == 404


async def test_registers_and_proceedings_of_the_scenarios(sandbox: httpx.AsyncClient) -> None:
    def path(endpoint: str, scenario: str) -> str:
        return url_for(BY_NAME[endpoint], SCENARIO_SIRENS[scenario])

    artisan = await sandbox.get(path("insee_unite_legale", "artisan"), params=PARAMS)
    assert artisan.json()["data"]["type"] == "personne_physique"
    assert artisan.json()["data"]["forme_juridique"]["code"] == "1000"
    rnm = await sandbox.get(path("rnm_entreprise_artisanale", "artisan"), params=PARAMS)
    assert rnm.json() == {
        "data": {"modalite_exercice": "P", "non_sedentaire": "0"},
        "links": {},
        "meta": {},
    }
    rne = (await sandbox.get(path("inpi_extrait_rne", "rne_only"), params=PARAMS)).json()["data"]
    assert rne["identite_entreprise"]["nature_entreprise"] == "LIBERALE"
    assert rne["identite_entreprise"]["siren"] == SCENARIO_SIRENS["rne_only"]
    assert rne["observations"] == []
    pdf = await sandbox.get(rne["document_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

    hidden = await sandbox.get(path("insee_unite_legale", "non_diffusible"), params=PARAMS)
    assert hidden.status_code == 451 and hidden.json()["errors"][0]["meta"]["provider"] == "INSEE"
    clean = await sandbox.get(path("infogreffe_extrait_rcs", "non_diffusible"), params=PARAMS)
    assert clean.json()["data"]["date_radiation"] is None
    assert clean.json()["data"]["observations"] == []

    for scenario, words in (
        ("liquidation", "liquidation judiciaire"),
        ("sauvegarde", "procédure de sauvegarde"),
    ):
        rcs = await sandbox.get(path("infogreffe_extrait_rcs", scenario), params=PARAMS)
        rne = await sandbox.get(path("inpi_extrait_rne", scenario), params=PARAMS)
        [note] = rcs.json()["data"]["observations"]
        [copy] = rne.json()["data"]["observations"]
        assert words in note["libelle"] and words in copy["texte"]
        assert note["date"] == copy["date"] == "2026-02-08"  # TODAY - 30 days


@pytest.mark.parametrize("key", sorted(staging_cases()), ids="/".join)
async def test_every_staging_case_answers_its_official_payload(
    sandbox: httpx.AsyncClient, key: tuple[str, str]
) -> None:
    case = staging_cases()[key]
    endpoint = BY_NAME[case.endpoint]
    path = endpoint.path.replace("{" + endpoint.id_kind + "}", case.identifier)
    response = await sandbox.get(path, params=PARAMS)
    assert response.status_code == case.status
    expected, body = case.body(), response.json()
    if isinstance(body.get("data"), dict) and body["data"].get("document_url"):
        assert body["data"]["document_url"].startswith("http://sandbox.test/files/")
        body["data"]["document_url"] = expected["data"]["document_url"]
    if endpoint.name == "ademe_rge" and response.status_code == 200:
        for got, official in zip(body["data"], expected["data"], strict=True):
            got["data"]["url"] = official["data"]["url"]
    assert body == expected
