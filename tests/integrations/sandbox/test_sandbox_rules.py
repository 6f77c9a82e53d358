"""Authentication, mandatory parameters, rate limits, documents and faults, as upstream."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

import httpx
import pypdf
import pytest

from app.integrations.sandbox import SandboxConfig, create_sandbox_app
from app.integrations.sandbox.profiles import DEMO_SIRENS
from tests.integrations.sandbox.conftest import AUTH, PARAMS, TODAY, FakeClock

SIREN = DEMO_SIRENS["compliant"]
INSEE = f"/v4/insee/sirene/unites_legales/{SIREN}"
URSSAF = f"/v4/urssaf/unites_legales/{SIREN}/attestation_vigilance"


def client_for(config: SandboxConfig) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_sandbox_app(config))
    return httpx.AsyncClient(transport=transport, base_url="http://sandbox.test", headers=AUTH)


@pytest.mark.parametrize(
    ("missing", "code"), [("context", "00201"), ("object", "00202"), ("recipient", "00203")]
)
async def test_a_missing_mandatory_parameter_gets_the_official_422(
    sandbox: httpx.AsyncClient, missing: str, code: str
) -> None:
    params = {k: v for k, v in PARAMS.items() if k != missing}
    response = await sandbox.get(URSSAF, params=params)
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "code": code,
                "title": "Entité non traitable",
                "detail": f"Le paramètre {missing} est obligatoire",
                "source": {"parameter": missing},
                "meta": {},
            }
        ]
    }


@pytest.mark.parametrize(
    ("path", "code", "parameter"),
    [
        ("/v4/urssaf/unites_legales/123456789/attestation_vigilance", "00301", "siren"),
        ("/v4/insee/sirene/unites_legales/12345", "00301", "siren"),
        ("/v4/insee/sirene/etablissements/12345678901234", "00302", "siret"),
        ("/v3/msa/etablissements/abc/conformite_cotisations", "00302", "siret"),
    ],
)
async def test_a_malformed_identifier_gets_422(
    sandbox: httpx.AsyncClient, path: str, code: str, parameter: str
) -> None:
    response = await sandbox.get(path, params=PARAMS)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["code"], error["source"]) == (code, {"parameter": parameter})


async def test_recipient_must_be_a_siret_other_than_the_queried_entity(
    sandbox: httpx.AsyncClient,
) -> None:
    bad = await sandbox.get(URSSAF, params={**PARAMS, "recipient": "123"})
    same = await sandbox.get(URSSAF, params={**PARAMS, "recipient": f"{SIREN}00017"})
    assert (bad.status_code, same.status_code) == (422, 422)
    assert same.json()["errors"][0]["source"] == {"parameter": "recipient"}


async def test_bad_missing_or_expired_token_gets_401(sandbox_app, config) -> None:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as anonymous:
        missing = await anonymous.get(INSEE, params=PARAMS)
        wrong = await anonymous.get(INSEE, params=PARAMS, headers={"Authorization": "Bearer nope"})
        privileges = await anonymous.get("/privileges")
    for response in (missing, wrong, privileges):
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "00101"
        assert response.json()["errors"][0]["source"] == {"parameter": "token"}
        assert "RateLimit-Limit" not in response.headers  # nothing counted without a token

    expired_config = replace(config, expired_tokens=("old",))
    async with client_for(expired_config) as client:
        response = await client.get(INSEE, params=PARAMS, headers={"Authorization": "Bearer old"})
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "00103")


async def test_missing_privilege_gets_403_and_privileges_lists_them(config) -> None:
    async with client_for(replace(config, privileges=("attestations_sociales",))) as client:
        insee = await client.get(INSEE, params=PARAMS)
        urssaf = await client.get(URSSAF, params=PARAMS)
        privileges = await client.get("/privileges")
    assert (insee.status_code, insee.json()["errors"][0]["code"]) == (403, "00100")
    assert urssaf.status_code == 200
    assert privileges.json() == {"privileges": ["attestations_sociales"]}


async def test_fixed_window_limit_429_retry_after_and_reset(
    config: SandboxConfig, clock: FakeClock
) -> None:
    async with client_for(replace(config, json_per_minute=3, documents_per_minute=2)) as client:
        remaining = []
        window_end = int(clock.now + 60)
        for _ in range(3):
            response = await client.get(INSEE, params=PARAMS)
            assert response.status_code == 200
            remaining.append(int(response.headers["RateLimit-Remaining"]))
            assert int(response.headers["RateLimit-Reset"]) == window_end  # fixed, not sliding
            clock.advance(10)
        assert remaining == [2, 1, 0]

        limited = await client.get(INSEE, params=PARAMS)
        assert limited.status_code == 429
        assert limited.json()["errors"][0]["code"] == "00429"
        assert limited.headers["Retry-After"] == "30"  # window opened 30 s ago
        assert limited.headers["RateLimit-Remaining"] == "0"

        documents = await client.get(URSSAF, params=PARAMS)  # another family, its own budget
        assert documents.status_code == 200
        assert documents.headers["RateLimit-Limit"] == "2"

        clock.advance(30)  # the window opened by the first call has ended
        again = await client.get(INSEE, params=PARAMS)
        assert again.status_code == 200
        assert again.headers["RateLimit-Remaining"] == "2"

        stats = (await client.get("/__sandbox/stats")).json()
        assert stats["rate_limited"] == 1
        json_windows = [w for w in stats["windows"] if w["family"] == "json"]
        assert [(w["count"], w["rejected"]) for w in json_windows] == [(3, 1), (1, 0)]
        assert stats["families"]["json"]["max_per_window"] == 3
        assert stats["families"]["json"]["max_per_sliding_window"] == 3
        assert "sandbox-dev-token" not in str(stats)

        await client.post("/__sandbox/reset")
        stats = (await client.get("/__sandbox/stats")).json()
        assert (stats["rate_limited"], stats["windows"], stats["total_requests"]) == (0, [], 0)


async def test_limits_are_per_token(config: SandboxConfig) -> None:
    async with client_for(replace(config, json_per_minute=1, tokens=("a", "b"))) as client:
        first = await client.get(INSEE, params=PARAMS, headers={"Authorization": "Bearer a"})
        other = await client.get(INSEE, params=PARAMS, headers={"Authorization": "Bearer b"})
        again = await client.get(INSEE, params=PARAMS, headers={"Authorization": "Bearer a"})
    assert [first.status_code, other.status_code, again.status_code] == [200, 200, 429]


async def test_limits_and_faults_change_at_run_time(sandbox: httpx.AsyncClient) -> None:
    changed = await sandbox.post("/__sandbox/config", json={"json_per_minute": 1})
    assert changed.json()["json_per_minute"] == 1
    await sandbox.get(INSEE, params=PARAMS)
    assert (await sandbox.get(INSEE, params=PARAMS)).status_code == 429
    assert (await sandbox.post("/__sandbox/config", json={"nope": 1})).status_code == 400


async def test_document_is_a_pdf_with_name_and_dates_then_expires(
    sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    data = (await sandbox.get(URSSAF, params=PARAMS)).json()["data"]
    name = (await sandbox.get(INSEE, params=PARAMS)).json()["data"]["personne_morale_attributs"]
    pdf = await sandbox.get(data["document_url"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(pdf.content), strict=True).pages[0].extract_text()
    assert name["raison_sociale"] in text
    assert data["date_debut_validite"] in text and data["date_fin_validite"] in text
    assert "Attestation de vigilance" in text

    clock.advance(data["document_url_expires_in"] - 1)
    assert (await sandbox.get(data["document_url"])).status_code == 200
    clock.advance(1)
    assert (await sandbox.get(data["document_url"])).status_code == 410
    assert (await sandbox.get(data["document_url"] + "x")).status_code == 404


async def test_every_generated_document_parses(sandbox: httpx.AsyncClient) -> None:
    siret = f"{SIREN}00017"
    paths = [
        f"/v4/dgfip/unites_legales/{SIREN}/attestation_fiscale",
        f"/v3/fntp/unites_legales/{SIREN}/carte_professionnelle_travaux_publics",
        f"/v4/qualibat/etablissements/{siret}/certification_batiment",
        f"/v3/cnetp/unites_legales/{SIREN}/attestation_cotisations_conges_payes_chomage_intemperies",
        f"/v3/cibtp/etablissements/{siret}/attestation_cotisations_conges_payes_chomage_intemperies",
        f"/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite",
    ]
    for path in paths:
        url = (await sandbox.get(path, params=PARAMS)).json()["data"]["document_url"]
        content = (await sandbox.get(url)).content
        assert content.startswith(b"%PDF-")
        assert len(pypdf.PdfReader(io.BytesIO(content), strict=True).pages) == 1


async def test_document_ttl_is_configurable(config: SandboxConfig, clock: FakeClock) -> None:
    async with client_for(replace(config, document_ttl_seconds=5)) as client:
        data = (await client.get(URSSAF, params=PARAMS)).json()["data"]
        assert data["document_url_expires_in"] == 5
        clock.advance(5)
        assert (await client.get(data["document_url"])).status_code == 410


async def test_error_rate_serves_provider_5xx_and_counts_them(config: SandboxConfig) -> None:
    async with client_for(replace(config, error_rate=1.0)) as client:
        responses = [await client.get(URSSAF, params=PARAMS) for _ in range(6)]
        stats = (await client.get("/__sandbox/stats")).json()
    assert {r.status_code for r in responses} <= {502, 504}
    assert {r.json()["errors"][0]["code"] for r in responses} <= {"04999", "04002"}
    assert stats["faults"] == {"error": 6}
    assert all("RateLimit-Remaining" in r.headers for r in responses)  # still counted


async def test_faults_are_deterministic_for_a_seed(config: SandboxConfig) -> None:
    async def run() -> list[int]:
        async with client_for(replace(config, error_rate=0.5, seed=42)) as client:
            return [(await client.get(INSEE, params=PARAMS)).status_code for _ in range(20)]

    first = await run()
    assert first == await run()
    assert 200 in first and set(first) - {200}


async def test_timeout_rate_holds_the_answer_then_504(config: SandboxConfig) -> None:
    async with client_for(replace(config, timeout_rate=1.0, timeout_seconds=0.01)) as client:
        response = await client.get(INSEE, params=PARAMS)
        stats = (await client.get("/__sandbox/stats")).json()
    assert response.status_code == 504
    assert stats["faults"] == {"timeout": 1}


async def test_timeout_is_longer_than_the_client_timeout(config: SandboxConfig) -> None:
    async with client_for(replace(config, timeout_rate=1.0, timeout_seconds=30)) as client:
        with pytest.raises(httpx.TimeoutException):
            # ASGITransport ignores httpx timeouts, so bound the wait ourselves.
            try:
                await asyncio.wait_for(client.get(INSEE, params=PARAMS), timeout=0.2)
            except TimeoutError as exc:
                raise httpx.ReadTimeout("sandbox held the answer") from exc


async def test_a_duplicate_request_in_progress_gets_409(config: SandboxConfig) -> None:
    async with client_for(replace(config, latency_ms=50)) as client:
        first, second = await asyncio.gather(
            client.get(INSEE, params=PARAMS), client.get(INSEE, params=PARAMS)
        )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    conflict = first if first.status_code == 409 else second
    assert conflict.json()["errors"][0]["code"] == "00015"


async def test_today_is_injectable(sandbox: httpx.AsyncClient) -> None:
    data = (
        await sandbox.get(f"/v4/dgfip/unites_legales/{SIREN}/attestation_fiscale", params=PARAMS)
    ).json()["data"]
    assert data["date_delivrance_attestation"] == TODAY.isoformat()
    assert data["date_periode_analysee"] == "2026-02-28"
