"""POST /v1/contracts: every validation code, as RFC 9457 problem+json with JSON Pointers."""

import json
from decimal import Decimal

import pytest

from app.config import Settings
from tests.api.conftest import assert_problem, pointers
from tests.factories import contract_payload, luhn_complete, random_siren, random_siret

# La Poste (SIREN 356000000): its establishments' SIRETs have a digit sum multiple of 5
# instead of a Luhn key. 35600000000048 happens to pass Luhn too; ...010 passes only the exception.
LA_POSTE_SIRETS = ["35600000000048", "35600000000010"]


def _luhn_ok(number: str) -> bool:
    return luhn_complete(number[:-1]) == number


def _bad_luhn(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


# --- identifiers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "pointer"),
    [
        ({"siret": _bad_luhn(random_siret())}, "/holders/0/siret"),
        ({"siren": _bad_luhn(random_siren())}, "/holders/0/siren"),
        ({"siret": "1234567890123"}, "/holders/0/siret"),  # 13 digits
        ({"siret": "123456789012345"}, "/holders/0/siret"),  # 15 digits
        ({"siren": "12345678"}, "/holders/0/siren"),
        ({"siret": "7320829A200010"}, "/holders/0/siret"),  # letters
        ({"siren": "ABCDEFGHI"}, "/holders/0/siren"),
        ({"siret": True}, "/holders/0/siret"),
    ],
)
async def test_invalid_identifier(client, tenant, holder, pointer):
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[holder]), headers=tenant.headers
    )
    body = assert_problem(r, 422, "invalid_identifier")
    assert pointers(body) == {pointer}
    assert body["errors"][0]["code"] == "invalid_identifier"


async def test_second_holder_pointer(client, tenant):
    holders = [{"siret": random_siret()}, {"siret": _bad_luhn(random_siret())}]
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=holders), headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "invalid_identifier")) == {"/holders/1/siret"}


@pytest.mark.parametrize("siret", LA_POSTE_SIRETS)
async def test_la_poste_siret_accepted(client, tenant, siret):
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[{"siret": siret}]), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    holder = r.json()["holders"][0]
    assert (holder["siren"], holder["siret"]) == ("356000000", siret)


def test_la_poste_exception_is_needed():
    assert not _luhn_ok(LA_POSTE_SIRETS[1])


async def test_la_poste_siret_still_checked(client, tenant):
    r = await client.post(
        "/v1/contracts",
        json=contract_payload(holders=[{"siret": "35600000000019"}]),  # digit sum 24
        headers=tenant.headers,
    )
    assert_problem(r, 422, "invalid_identifier")


async def test_identifier_spaces_are_tolerated(client, tenant):
    siret = random_siret()
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]}\u00a0{siret[9:]}"
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[{"siret": spaced}]), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["holders"][0]["siret"] == siret


async def test_siret_and_siren_must_agree(client, tenant):
    holder = {"siret": random_siret(), "siren": random_siren()}
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[holder]), headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "invalid_holder")) == {"/holders/0"}


@pytest.mark.parametrize(
    "holder",
    [
        {"foreign_id": "HRB 12345"},
        {"foreign_id": "HRB 12345", "country": "DE"},
        {"foreign_id": "HRB 12345", "name": "Muster GmbH"},
        {"foreign_id": "HRB 12345", "country": "FR", "name": "Pas étrangère"},
        {"foreign_id": "HRB 12345", "country": "D1", "name": "Muster GmbH"},
        {},
    ],
)
async def test_foreign_holder_needs_country_and_name(client, tenant, holder):
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[holder]), headers=tenant.headers
    )
    body = assert_problem(r, 422)
    assert body["code"] in {"invalid_holder", "validation_error"}
    assert "/holders/0" in pointers(body) or any(
        p.startswith("/holders/0/") for p in pointers(body)
    )


async def test_foreign_holder_accepted(client, tenant):
    holder = {"foreign_id": "HRB 12345", "country": "de", "name": "Muster GmbH"}
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[holder]), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    out = r.json()["holders"][0]
    # Normalised as an address names it (/v1/suppliers/DEHRB12345).
    assert (out["country"], out["foreign_id"], out["siren"]) == ("DE", "HRB12345", None)


@pytest.mark.parametrize("cpv", ["4521", "45210000-22", "ABCDEFGH", "452100000"])
async def test_invalid_cpv(client, tenant, cpv):
    r = await client.post(
        "/v1/contracts", json=contract_payload(cpv_code=cpv), headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "invalid_cpv")) == {"/cpv_code"}


async def test_valid_cpv(client, tenant):
    r = await client.post(
        "/v1/contracts", json=contract_payload(cpv_code="45210000-2"), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["cpv_code"] == "45210000-2"


# --- amounts -----------------------------------------------------------------------------------


async def test_below_vigilance_threshold(client, tenant):
    r = await client.post(
        "/v1/contracts", json=contract_payload(amount_ht="4999.99"), headers=tenant.headers
    )
    body = assert_problem(r, 422, "below_vigilance_threshold")
    assert pointers(body) == {"/amount_ht"}
    assert "5000.00" in body["detail"] or "5 000" in body["detail"]


async def test_at_threshold_accepted(client, tenant):
    r = await client.post(
        "/v1/contracts", json=contract_payload(amount_ht="5000.00"), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount_ht"] == "5000.00"


async def test_threshold_comes_from_settings(settings, make_app, make_buyer, make_key):
    import httpx

    from app.keys.models import Role

    custom = Settings(
        **{**settings.model_dump(), "vigilance_threshold_ht": Decimal("40000")},
    )
    assert custom.vigilance_threshold_ht == Decimal("40000")
    buyer = await make_buyer()
    headers = await make_key(Role.ERP, buyer=buyer)
    async with make_app(custom) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            low = await client.post(
                "/v1/contracts", json=contract_payload(amount_ht="39999.99"), headers=headers
            )
            ok = await client.post(
                "/v1/contracts", json=contract_payload(amount_ht="40000"), headers=headers
            )
    assert_problem(low, 422, "below_vigilance_threshold")
    assert ok.status_code == 201, ok.text


def test_threshold_env_var(monkeypatch):
    monkeypatch.setenv("VIGILANCE_THRESHOLD_HT", "25000.50")
    assert Settings().vigilance_threshold_ht == Decimal("25000.50")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("12 345,67", "12345.67"),
        ("12\u00a0345,67", "12345.67"),
        ("12\u202f345,67", "12345.67"),
        (12345.67, "12345.67"),
        ("12345", "12345.00"),
        (12345, "12345.00"),
        ("12345.6", "12345.60"),
        ("12345,67 €", "12345.67"),
        (5000.1, "5000.10"),
    ],
)
async def test_float_like_amounts(client, tenant, sent, stored):
    r = await client.post(
        "/v1/contracts", json=contract_payload(amount_ht=sent), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount_ht"] == stored


@pytest.mark.parametrize(
    "sent",
    ["-6000", -6000, "6000.001", 6000.001, "abc", "1.234,56", "1,234.56", "", "NaN", True, None],
)
async def test_invalid_amount(client, tenant, sent):
    r = await client.post(
        "/v1/contracts", json=contract_payload(amount_ht=sent), headers=tenant.headers
    )
    body = assert_problem(r, 422, "invalid_amount")
    assert pointers(body) == {"/amount_ht"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_non_finite_json_numbers(client, tenant, literal):
    # Python's json module reads these non-standard literals: they must not become amounts.
    raw = json.dumps(contract_payload(amount_ht=0)).replace(
        '"amount_ht": 0', f'"amount_ht": {literal}'
    )
    headers = {**tenant.headers, "Content-Type": "application/json"}
    r = await client.post("/v1/contracts", content=raw, headers=headers)
    body = assert_problem(r, 422)
    assert body["code"] in {"invalid_amount", "invalid_json"}


async def test_ambiguous_amount_explains(client, tenant):
    r = await client.post(
        "/v1/contracts", json=contract_payload(amount_ht="1.234,56"), headers=tenant.headers
    )
    body = assert_problem(r, 422, "invalid_amount")
    assert "ambigu" in body["errors"][0]["detail"]


# --- dates -------------------------------------------------------------------------------------


async def test_end_before_notification(client, tenant):
    payload = contract_payload(notified_on="2026-03-02", ends_on="2026-03-01")
    del payload["duration_months"]
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert pointers(assert_problem(r, 422, "invalid_dates")) == {"/ends_on"}


async def test_end_on_notification_day_accepted(client, tenant):
    payload = contract_payload(notified_on="2026-03-02", ends_on="2026-03-02")
    del payload["duration_months"]
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert r.status_code == 201, r.text


async def test_both_end_and_duration(client, tenant):
    payload = contract_payload(ends_on="2027-03-01", duration_months=12)
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert_problem(r, 422, "invalid_dates")


async def test_neither_end_nor_duration(client, tenant):
    payload = contract_payload()
    del payload["duration_months"]
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert_problem(r, 422, "invalid_dates")


async def test_duration_computes_end(client, tenant):
    payload = contract_payload(notified_on="2026-01-15", duration_months=12)
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["ends_on"] == "2027-01-14"


# --- FastAPI's own 422s are problem+json too ---------------------------------------------------


async def test_missing_field(client, tenant):
    payload = contract_payload()
    del payload["reference"]
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    body = assert_problem(r, 422, "missing_field")
    assert pointers(body) == {"/reference"}


async def test_bad_date(client, tenant):
    r = await client.post(
        "/v1/contracts", json=contract_payload(notified_on="02/03/2026"), headers=tenant.headers
    )
    body = assert_problem(r, 422, "invalid_date")
    assert pointers(body) == {"/notified_on"}


async def test_invalid_json_body(client, tenant):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    r = await client.post("/v1/contracts", content=b'{"reference": ', headers=headers)
    assert_problem(r, 422, "invalid_json")


async def test_several_errors_listed(client, tenant):
    payload = contract_payload(amount_ht="abc", holders=[{"siret": "123"}])
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    body = assert_problem(r, 422, "validation_error")
    assert pointers(body) == {"/amount_ht", "/holders/0/siret"}
    assert {e["code"] for e in body["errors"]} == {"invalid_amount", "invalid_identifier"}


async def test_request_id_echoed(client, tenant):
    headers = {**tenant.headers, "X-Request-ID": "erp-sync-42"}
    r = await client.post("/v1/contracts", json={}, headers=headers)
    assert assert_problem(r, 422)["request_id"] == "erp-sync-42"


async def test_unknown_path_is_problem_json(client):
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")


async def test_invalid_json_points_at_the_document(client, tenant):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    r = await client.post("/v1/contracts", content=b'{"reference": ', headers=headers)
    body = assert_problem(r, 422, "invalid_json")
    assert pointers(body) == {""}  # RFC 6901: "" is the whole document, not a member "/14"
    assert "14" in body["errors"][0]["detail"]


async def test_body_of_the_wrong_shape(client, tenant):
    r = await client.post("/v1/contracts", json=[], headers=tenant.headers)
    body = assert_problem(r, 422, "invalid_object")
    assert pointers(body) == {""}
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=[]), headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "too_short")) == {"/holders"}


async def test_query_errors_are_coded(client, tenant):
    r = await client.get("/v1/contracts?limit=0", headers=tenant.headers)
    assert pointers(assert_problem(r, 422, "out_of_range")) == {"#/query/limit"}


async def test_unexpected_error_is_a_500_problem(settings, make_app):
    """A bug answers 500 problem+json (never a 4xx, never a bare text page)."""
    import httpx

    async def boom() -> None:
        raise RuntimeError("bug")

    async with make_app(settings) as app:
        app.add_api_route("/boom-for-test", boom)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/boom-for-test", headers={"X-Request-ID": "trace-500"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert (body["code"], body["request_id"]) == ("internal_error", "trace-500")
    assert "bug" not in r.text  # internals are not disclosed


@pytest.mark.parametrize(
    ("dates", "pointer"),
    [
        ({"notified_on": "9999-12-01", "duration_months": 1200}, "/notified_on"),  # overflowed: 500
        ({"notified_on": "0026-03-02", "duration_months": 12}, "/notified_on"),  # a typo for 2026
        ({"notified_on": "2026-03-02", "ends_on": "9999-12-31"}, "/ends_on"),
    ],
)
async def test_implausible_dates(client, tenant, dates, pointer):
    payload = contract_payload(**dates)
    if "ends_on" in dates:
        del payload["duration_months"]
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert pointers(assert_problem(r, 422, "invalid_dates")) == {pointer}
