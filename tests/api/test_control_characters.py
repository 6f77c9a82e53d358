"""Control characters never reach the database (issue 14): a NUL byte in a query parameter or a
JSON string was a 500 from PostgreSQL (and a reset connection); it is a 422 `invalid_text` with the
pointer of each field, while tabs and line breaks stay allowed."""

from app.keys.models import Role


def _contract(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "reference": "M-CTRL-1",
        "object": "Entretien\tdes espaces verts\nlot 2",
        "amount_ht": "25000.00",
        "notified_on": "2026-11-01",
        "duration_months": 24,
        "holders": [{"siren": "552100554"}],
    }
    body.update(overrides)
    return body


async def test_a_nul_byte_in_a_json_string_is_a_422_with_its_pointer(client, make_buyer, make_key):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    r = await client.post("/v1/contracts", json=_contract(reference="a\u0000b"), headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert (
        body["code"] == "invalid_text" and r.headers["content-type"] == "application/problem+json"
    )
    assert [e["pointer"] for e in body["errors"]] == ["/reference"]
    holders = [{"siren": "552100554", "name": "x\u001by"}]
    r = await client.post("/v1/contracts", json=_contract(holders=holders), headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/holders/0/name"


async def test_a_nul_byte_in_a_query_parameter_is_a_422(client, make_buyer, make_key):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    r = await client.get("/v1/contracts?supplier=%00", headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_text"
    assert r.json()["errors"][0]["pointer"] == "#/query/supplier"


async def test_tabs_and_line_breaks_are_text(client, make_buyer, make_key):
    """The control: an object on two lines with a tab is accepted (the guard can pass input)."""
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    r = await client.post("/v1/contracts", json=_contract(), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["object"] == "Entretien\tdes espaces verts\nlot 2"
