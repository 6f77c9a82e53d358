"""Request bodies (issue 14): a JSON body is capped while it is read (413), a route that takes JSON
refuses another media type (415) while a POST without a body needs no Content-Type, and
duplicate keys in a JSON object are a 422 — all as problem+json, before any route runs."""

import json

import httpx
import pytest

from app.config import LimitsSettings
from app.keys.models import Role
from tests.api.conftest import assert_problem
from tests.factories import contract_payload, random_siren

SMALL = 4096  # LIMITS__MAX_JSON_BYTES for these tests


@pytest.fixture
async def capped(make_app, settings):  # type: ignore[no-untyped-def]
    async with make_app(
        settings.model_copy(update={"limits": LimitsSettings(max_json_bytes=SMALL)})
    ) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
            yield client


@pytest.fixture
async def officer(make_buyer, make_key):  # type: ignore[no-untyped-def]
    return await make_key(Role.OFFICER, buyer=await make_buyer())


async def test_a_body_over_the_cap_is_a_413(capped, officer):  # type: ignore[no-untyped-def]
    big = contract_payload(object="x" * (SMALL + 1))
    r = await capped.post("/v1/contracts", json=big, headers=officer)
    body = assert_problem(r, 413, "payload_too_large")
    assert "Mo" in body["detail"]
    ok = await capped.post("/v1/contracts", json=contract_payload(), headers=officer)
    assert ok.status_code == 201, ok.text  # under the cap: served as before


async def test_the_cap_holds_while_reading_a_body_with_no_length(capped, officer):  # type: ignore[no-untyped-def]
    """A chunked body (no Content-Length) is refused once it passes the cap, not after."""
    sent: list[int] = []

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"reference": "'
        for _ in range(1000):  # would be 1 MB; the guard stops reading long before
            sent.append(1)
            yield b"a" * 1024
        yield b'"}'

    r = await capped.post(
        "/v1/contracts",
        content=chunks(),
        headers={**officer, "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")


async def test_the_default_cap_is_one_megabyte(client, officer):  # type: ignore[no-untyped-def]
    big = contract_payload(object="x" * (1024 * 1024))
    r = await client.post("/v1/contracts", json=big, headers=officer)
    assert_problem(r, 413, "payload_too_large")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_another_media_type_where_json_is_expected_is_a_415(client, officer, content_type):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts",
        content=json.dumps(contract_payload()),
        headers={**officer, "Content-Type": content_type},
    )
    assert_problem(r, 415, "unsupported_media_type")


async def test_json_media_types_are_accepted(client, officer):  # type: ignore[no-untyped-def]
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        r = await client.post(
            "/v1/contracts",
            content=json.dumps(contract_payload()),
            headers={**officer, "Content-Type": content_type},
        )
        assert r.status_code == 201, (content_type, r.text)


async def test_a_post_without_a_body_needs_no_content_type(client, officer):  # type: ignore[no-untyped-def]
    """POST …/checks takes no body: no Content-Type, or a stray one, is not a 415."""
    siren = random_siren()
    for headers in (officer, {**officer, "Content-Type": "text/plain"}):
        r = await client.post(f"/v1/suppliers/{siren}/checks", headers=headers)
        assert r.status_code != 415, r.text
        assert r.status_code < 500, r.text


async def test_duplicate_keys_are_a_422_with_their_pointers(client, officer):  # type: ignore[no-untyped-def]
    siret = contract_payload()["holders"][0]["siret"]
    raw = (
        '{"reference": "M-1", "reference": "M-2", "object": "Entretien", "amount_ht": "48000.00",'
        ' "notified_on": "2026-03-02", "duration_months": 24,'
        f' "holders": [{{"siret": "{siret}", "siret": "{siret}"}}]}}'
    )
    r = await client.post(
        "/v1/contracts", content=raw, headers={**officer, "Content-Type": "application/json"}
    )
    body = assert_problem(r, 422, "duplicate_key")
    assert [e["pointer"] for e in body["errors"]] == ["/reference", "/holders/0/siret"]
    assert {e["code"] for e in body["errors"]} == {"duplicate_key"}
    listed = await client.get("/v1/contracts", headers=officer)
    assert listed.json()["items"] == [] if "items" in listed.json() else listed.json() == []
