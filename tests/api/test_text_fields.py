"""Text that looks like something else (issue 14): all-zero identifiers, blank references, and
invisible characters — bidirectional overrides that make a name read backwards (Trojan Source,
CVE-2021-42574) and zero-width characters that make two references look the same — are refused
with a 422 and their pointers, never stored."""

import pytest

from app.keys.models import Role
from tests.api.conftest import assert_problem, pointers
from tests.factories import contract_payload


@pytest.fixture
async def officer(make_buyer, make_key):  # type: ignore[no-untyped-def]
    return await make_key(Role.OFFICER, buyer=await make_buyer())


@pytest.mark.parametrize(
    ("holder", "pointer"),
    [
        ({"siren": "000000000"}, "/holders/0/siren"),
        ({"siret": "00000000000000"}, "/holders/0/siret"),
    ],
)
async def test_all_zero_identifiers_are_refused(client, officer, holder, pointer):  # type: ignore[no-untyped-def]
    r = await client.post("/v1/contracts", json=contract_payload(holders=[holder]), headers=officer)
    body = assert_problem(r, 422, "invalid_identifier")
    assert pointer in pointers(body)


async def test_an_all_zero_supplier_path_is_refused(client, officer):  # type: ignore[no-untyped-def]
    r = await client.get("/v1/suppliers/000000000", headers=officer)
    assert_problem(r, 422, "invalid_identifier")


@pytest.mark.parametrize("reference", ["   ", "\t\n", " \u00a0 "])
async def test_a_blank_reference_is_refused(client, officer, reference):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(reference=reference), headers=officer
    )
    assert pointers(assert_problem(r, 422)) == {"/reference"}


async def test_references_are_stored_stripped(client, officer):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(reference="  M-2026-7  "), headers=officer
    )
    assert r.status_code == 201, r.text
    assert r.json()["reference"] == "M-2026-7"


INVISIBLE = ["\u202e", "\u2066", "\u200b", "\u200d", "\u2060", "\ufeff", "\u200f"]


@pytest.mark.parametrize("char", INVISIBLE)
async def test_invisible_characters_in_a_reference_are_refused(client, officer, char):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(reference=f"M-{char}2026"), headers=officer
    )
    body = assert_problem(r, 422, "invalid_text")
    assert pointers(body) == {"/reference"}


@pytest.mark.parametrize("char", ["\u202e", "\u200b"])
async def test_invisible_characters_in_names_are_refused(client, officer, make_key, char):  # type: ignore[no-untyped-def]
    holder = {"foreign_id": "DE811907980", "country": "DE", "name": f"Bau{char}GmbH"}
    r = await client.post("/v1/contracts", json=contract_payload(holders=[holder]), headers=officer)
    assert pointers(assert_problem(r, 422, "invalid_text")) == {"/holders/0/name"}
    admin = await make_key(Role.ADMIN)
    r = await client.post(
        "/v1/buyers",
        json={"siret": "21750001600019", "name": f"Ville{char} de Paris"},
        headers=admin,
    )
    assert pointers(assert_problem(r, 422, "invalid_text")) == {"/name"}


async def test_accents_and_ordinary_punctuation_stay_allowed(client, officer):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts",
        json=contract_payload(reference="Marché n° 2026-ÉTÉ/7 — lot « A »"),
        headers=officer,
    )
    assert r.status_code == 201, r.text
