"""SIREN and SIRET: one parser (app.identifiers) behind paths, queries, bodies and the API keys.

Whatever the place, a malformed identifier is a 422 `invalid_identifier` pointing at it, never a
404 that would read as "this company is not among yours".
"""

import pytest
from pydantic_core import PydanticCustomError

from app.identifiers import parse_optional_siren, parse_siren, parse_siret
from app.keys.models import Role
from tests.api.conftest import Tenant, assert_problem, pointers
from tests.factories import contract_payload, random_siren, random_siret


def _bad_luhn(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _spaced(siren: str) -> str:
    return f"{siren[:3]} {siren[3:6]} {siren[6:]}"


@pytest.fixture
async def tenant(make_buyer, make_key) -> Tenant:  # type: ignore[no-untyped-def]
    buyer = await make_buyer("Commune d'Identifiants")
    return Tenant(buyer, await make_key(Role.OFFICER, buyer=buyer))


# --- the parser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "５52100554",  # a full-width digit: str.isdigit() says yes, we say no
        "٥٥٢١٠٠٥٥٤",  # Arabic-Indic digits
        "55210055",  # 8 digits
        "552100553",  # Luhn key wrong
        "552-100-554",
        True,
        5.521e8,
    ],
)
def test_parse_siren_refuses(value):  # type: ignore[no-untyped-def]
    with pytest.raises(PydanticCustomError) as caught:
        parse_siren(value)
    assert caught.value.type == "invalid_identifier"
    assert caught.value.message().startswith("Le SIREN")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("552 100 554", "552100554"),
        ("552\u00a0100\u202f554", "552100554"),  # NBSP, narrow NBSP from a word processor
        (552100554, "552100554"),
        ("356000000", "356000000"),  # La Poste
    ],
)
def test_parse_siren_normalises(value, expected):  # type: ignore[no-untyped-def]
    assert parse_siren(value) == expected


def test_parse_siret_la_poste_exception_and_luhn():
    assert parse_siret("356 000 000 00010") == "35600000000010"  # digit sum 5, not Luhn
    siret = random_siret()
    assert parse_siret(siret) == siret
    with pytest.raises(PydanticCustomError):
        parse_siret(_bad_luhn(siret))
    assert parse_optional_siren(None) is None


# --- paths ---------------------------------------------------------------------------------------

SIREN_PATHS = ["/v1/suppliers/{}", "/v1/suppliers/{}/documents"]
BAD_SIRENS = ["12345678", _bad_luhn(random_siren()), "５52100554", "1234567890"]


@pytest.mark.parametrize("path", SIREN_PATHS)
@pytest.mark.parametrize("siren", BAD_SIRENS)
async def test_bad_siren_in_path_is_422_not_404(client, tenant, path, siren):
    r = await client.get(path.format(siren), headers=tenant.headers)
    body = assert_problem(r, 422, "invalid_identifier")
    assert pointers(body) == {"#/path/siren"}
    assert "SIREN" in body["errors"][0]["detail"]


@pytest.mark.parametrize("path", SIREN_PATHS)
async def test_valid_unknown_siren_in_path_is_404(client, tenant, path):
    """The control of the test above: a well-formed SIREN goes through to the service."""
    r = await client.get(path.format(random_siren()), headers=tenant.headers)
    assert_problem(r, 404)


async def test_spaced_siren_in_path_and_query(client, tenant):
    siren = random_siren()
    created = await client.post(
        "/v1/contracts",
        json=contract_payload(holders=[{"siren": _spaced(siren)}]),
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["holders"][0]["siren"] == siren  # stored without the spaces

    supplier = await client.get(f"/v1/suppliers/{_spaced(siren)}", headers=tenant.headers)
    assert supplier.status_code == 200, supplier.text
    assert supplier.json()["siren"] == siren

    listed = await client.get(
        "/v1/contracts", params={"supplier": _spaced(siren)}, headers=tenant.headers
    )
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]


async def test_bad_siren_in_query(client, tenant):
    r = await client.get("/v1/contracts", params={"supplier": "12345678"}, headers=tenant.headers)
    assert pointers(assert_problem(r, 422, "invalid_identifier")) == {"#/query/supplier"}


# --- bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "pointer"),
    [
        ({"siren": "５52100554"}, "/holders/0/siren"),
        ({"siret": "５5210055400013"}, "/holders/0/siret"),
        ({"siret": "55210055400013", "siren": "552100554"}, None),  # the control: accepted
    ],
)
async def test_full_width_digits_in_holder(client, tenant, holder, pointer):
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[holder]), headers=tenant.headers
    )
    if pointer is None:
        assert r.status_code == 201, r.text
        return
    body = assert_problem(r, 422, "invalid_identifier")
    assert pointers(body) == {pointer}


async def test_key_for_a_malformed_buyer_siret_is_422(client, make_key, make_buyer):
    admin = await make_key(Role.ADMIN)
    buyer = await make_buyer()
    bad = await client.post(
        "/v1/keys", json={"role": "officer", "buyer_siret": "５" + buyer.siret[1:]}, headers=admin
    )
    assert_problem(bad, 422, "invalid_identifier")
    spaced = f"{buyer.siret[:3]} {buyer.siret[3:6]} {buyer.siret[6:9]} {buyer.siret[9:]}"
    ok = await client.post(
        "/v1/keys", json={"role": "officer", "buyer_siret": spaced}, headers=admin
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["buyer_id"] == str(buyer.id)
