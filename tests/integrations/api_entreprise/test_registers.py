"""The registers that prove a registration besides the RCS: the répertoire des métiers (CMA
France) and the national register's extract (INPI RNE), as the official spec and staging
payloads describe them."""

import hashlib

import httpx

from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise import schemas as s
from app.integrations.api_entreprise.operations import OPERATIONS
from app.integrations.api_entreprise.ratelimit import Family
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, PDF
from tests.integrations.api_entreprise.test_spec_conformance import spec

RNM = "/v3/cma_france/rnm/unites_legales/552049447"
RNE = "/v3/inpi/rne/unites_legales/552049447/extrait_rne"
RNE_PDF_HOST = "data.inpi.fr"


def test_the_register_operations_are_the_specs() -> None:
    rnm, rne = OPERATIONS["rnm_entreprise_artisanale"], OPERATIONS["inpi_extrait_rne"]
    paths = spec()["paths"]
    assert paths[rnm.path]["get"]["deprecated"] is True  # still served; the RNE covers artisans
    assert "deprecated" not in paths[rne.path]["get"]
    # Every field the spec requires is required by the models (none has a default).
    for op, model in ((rnm, s.RnmEntrepriseArtisanale), (rne, s.InpiExtraitRne)):
        schema = paths[op.path]["get"]["responses"]["200"]["content"]["application/json"]
        required = set(schema["schema"]["properties"]["data"]["required"])
        declared = {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
        assert declared == required, op.name
    assert (rnm.family, rne.family) == (Family.JSON, Family.DOCUMENTS)  # the RNE brings a PDF


async def test_rnm_delivered_says_the_company_is_on_the_register(make_client) -> None:
    outcome = await make_client().rnm_entreprise_artisanale(
        "552049447", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.DELIVERED
    assert isinstance(outcome.data, s.RnmEntrepriseArtisanale)
    assert (outcome.data.activity_mode, outcome.data.itinerant) == ("P", "0")
    assert outcome.document is None


async def test_rne_delivered_with_its_certificate_from_data_inpi_fr(make_client, staging) -> None:
    outcome = await make_client().inpi_extrait_rne("552049447", recipient=BUYER_SIRET, object="M")
    assert outcome.kind is OutcomeKind.DELIVERED
    data = outcome.data
    assert isinstance(data, s.InpiExtraitRne)
    assert str(data.identity.registered_on) == "1983-01-01"
    assert data.identity.nature == "COMMERCIALE"
    assert data.observations[0].text == "Augmentation de capital de 50000 à 75000 EUR"
    assert outcome.document is not None
    assert outcome.document.sha256 == hashlib.sha256(PDF).hexdigest()
    [download] = [r for r in staging.requests if r.url.host == RNE_PDF_HOST]
    assert "authorization" not in download.headers


async def test_the_rne_host_is_allowed_for_the_rne_only(make_client, staging) -> None:
    path = "/v3/fntp/unites_legales/130025265/carte_professionnelle_travaux_publics"
    body = {"data": {"document_url": f"https://{RNE_PDF_HOST}/x.pdf", "expires_in": 60}}
    staging.overrides[path] = lambda _: httpx.Response(200, json=body | {"links": {}, "meta": {}})
    outcome = await make_client().fntp_carte_professionnelle(
        "130025265", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.BUG and RNE_PDF_HOST in (outcome.message or "")


async def test_without_its_pdf_the_rne_answer_still_proves_the_registration(
    make_client, staging
) -> None:
    """The JSON answer is the register's own data; the PDF is a copy of it from another host.
    A PDF that cannot be had (down, not a PDF) leaves the answer delivered, without a document."""
    client = make_client()
    staging.overrides["/export/companies"] = lambda _: httpx.Response(503)
    down = await client.inpi_extrait_rne("552049447", recipient=BUYER_SIRET, object="M")
    staging.overrides["/export/companies"] = lambda _: httpx.Response(
        200, text="<html>maintenance</html>", headers={"Content-Type": "text/html"}
    )
    not_pdf = await client.inpi_extrait_rne("552049447", recipient=BUYER_SIRET, object="M")
    for outcome in (down, not_pdf):
        assert outcome.kind is OutcomeKind.DELIVERED and outcome.document is None
        assert outcome.raw is not None and isinstance(outcome.data, s.InpiExtraitRne)


async def test_register_errors_map_like_every_provider(make_client, staging) -> None:
    client = make_client()
    not_on_rnm = await client.rnm_entreprise_artisanale(
        "000000000", recipient=BUYER_SIRET, object="M"
    )
    assert (not_on_rnm.kind, not_on_rnm.error_code) == (OutcomeKind.UNAVAILABLE, "31003")
    staging.overrides[RNE] = lambda _: httpx.Response(
        504, json={"errors": [{"code": "34002", "title": "T", "detail": "D"}]}
    )
    timeout = await client.inpi_extrait_rne("552049447", recipient=BUYER_SIRET, object="M")
    assert timeout.kind is OutcomeKind.PENDING and timeout.retry_at is not None
    staging.overrides[RNM] = lambda _: httpx.Response(
        200, json={"data": {"modalite_exercice": "P"}, "links": {}, "meta": {}}
    )
    unparseable = await client.rnm_entreprise_artisanale(
        "552049447", recipient=BUYER_SIRET, object="M"
    )
    assert unparseable.kind is OutcomeKind.BUG
