"""A 200 about another company than the one asked for is never archived as the supplier's
evidence: BUG, an alert in the log, a French message, no document downloaded (issue 9)."""

import copy
import logging
from datetime import date

import httpx
import pytest

from app.compliance.fetch import Subject, fetch_requirement
from app.compliance.rules import RequirementType
from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise.identity import identity_mismatch
from app.integrations.api_entreprise.operations import OPERATIONS
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, CASES

LOGGER = "app.integrations.api_entreprise.client"


def case(operation: str, identifier: str):
    return next(c for c in CASES if c.operation == operation and c.identifier == identifier)


def serving(body: dict):
    return lambda _: httpx.Response(200, json=body, headers={"X-Request-ID": "rid-x"})


@pytest.mark.parametrize("c", [c for c in CASES if c.status == 200], ids=lambda c: c.id)
def test_every_official_answer_names_the_company_asked_for(c) -> None:
    assert identity_mismatch(OPERATIONS[c.operation].id_kind, c.identifier, c.body["data"]) is None


@pytest.mark.parametrize(
    ("operation", "identifier", "path", "foreign"),
    [
        ("insee_unite_legale", "552049447", ("siren",), "775672272"),
        ("insee_etablissement", "55204944776279", ("siret",), "77567227221138"),
        ("infogreffe_extrait_rcs", "552049447", ("siren",), "424179364"),
        ("inpi_extrait_rne", "552049447", ("identite_entreprise", "siren"), "424179364"),
    ],
)
async def test_an_answer_about_another_company_is_a_bug(
    make_client, staging, caplog, operation, identifier, path, foreign
) -> None:
    c = case(operation, identifier)
    body = copy.deepcopy(c.body)
    target = body["data"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = foreign
    staging.overrides[c.path] = serving(body)
    caplog.set_level(logging.ERROR, logger=LOGGER)
    outcome = await make_client().call(operation, identifier, recipient=BUYER_SIRET, object="M")
    assert outcome.kind is OutcomeKind.BUG
    assert outcome.error_code == "identity_mismatch"
    assert outcome.message is not None and "autre" in outcome.message and foreign in outcome.message
    assert outcome.raw is None and outcome.data is None and outcome.document is None
    assert outcome.request_id == "rid-x"
    assert any("ALERT" in r.getMessage() and foreign in r.getMessage() for r in caplog.records)
    assert not any(
        r.url.path.endswith(".pdf") or r.url.host == "data.inpi.fr" for r in staging.requests
    )


async def test_nothing_is_archived_for_the_supplier(make_client, staging) -> None:
    c = case("insee_unite_legale", "552049447")
    body = copy.deepcopy(c.body)
    body["data"]["siren"] = "775672272"
    staging.overrides[c.path] = serving(body)
    subject = Subject(BUYER_SIRET, "M1", "552049447")
    got = await fetch_requirement(
        make_client(), RequirementType.REGISTRATION, subject, date(2026, 11, 27)
    )
    assert got.kind is None and got.outcome == "bug"  # the engine keeps what it had
    assert got.documents == [] and got.alert is not None


def test_a_siret_answer_is_compared_on_its_siret_only() -> None:
    # The staging data pairs SIRET 30613890001294 with another unit's SIREN (130025265).
    data = {"siret": "30613890001294", "unite_legale": {"siren": "130025265"}}
    assert identity_mismatch("siret", "30613890001294", data) is None
    assert identity_mismatch("siret", "30613890001295", data) == "30613890001294"
    assert identity_mismatch("siren", "552049447", {"siren": None}) is None  # names none
