"""The pull feed: each buyer's events in commit order, a cursor that resumes exactly, filters,
30 days kept; contracts' changes are events."""

from datetime import timedelta

from sqlalchemy import update

from app.common import utcnow
from app.db import unit_of_work
from app.events.models import Event, EventType
from app.events.service import purge_events, record_event
from app.keys.models import Role
from tests.api.conftest import assert_problem
from tests.factories import contract_payload


async def _record(sessionmaker, buyer, *types: str) -> None:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        for i, kind in enumerate(types):
            await record_event(session, buyer.id, kind, {"n": i})


async def test_events_in_order_with_a_cursor_that_resumes(
    client, make_buyer, make_key, sessionmaker
):
    a, b = await make_buyer(), await make_buyer()
    headers = await make_key(Role.ERP, buyer=a)
    await _record(sessionmaker, a, "token.expiring", "document.archived", "token.expiring")
    await _record(sessionmaker, b, "token.expiring")  # another buyer's: never shown to a

    r = await client.get("/v1/events", params={"limit": 2}, headers=headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [e["cursor"] for e in page["items"]] == ["1", "2"]
    assert [e["data"]["n"] for e in page["items"]] == [0, 1]
    assert page["items"][0]["data"]["buyer_siret"] == a.siret
    r = await client.get("/v1/events", params={"after": page["next_cursor"]}, headers=headers)
    assert [e["cursor"] for e in r.json()["items"]] == ["3"]
    assert r.json()["next_cursor"] == "3"
    r = await client.get("/v1/events", params={"after": "3"}, headers=headers)
    assert r.json() == {"items": [], "next_cursor": "3"}

    # A filter moves the cursor past what it leaves out.
    r = await client.get("/v1/events", params={"types": "document.archived"}, headers=headers)
    assert [e["type"] for e in r.json()["items"]] == ["document.archived"]
    assert r.json()["next_cursor"] == "3"
    r = await client.get(
        "/v1/events",
        params=[("types", "token.expiring"), ("types", "document.archived")],
        headers=headers,
    )
    assert len(r.json()["items"]) == 3


async def test_bad_cursors_and_types_are_422(client, make_buyer, make_key, sessionmaker):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    await _record(sessionmaker, buyer, "token.expiring")
    assert_problem(await client.get("/v1/events?after=abc", headers=headers), 422, "invalid_cursor")
    assert_problem(await client.get("/v1/events?after=9", headers=headers), 422, "invalid_cursor")
    r = await client.get("/v1/events?types=supplier.renamed", headers=headers)
    assert_problem(r, 422, "unknown_event_type")
    assert_problem(await client.get("/v1/events?aftr=1", headers=headers), 422, "unknown_parameter")
    admin = await make_key(Role.ADMIN)  # the platform has no feed of its own
    assert_problem(await client.get("/v1/events", headers=admin), 403, "forbidden_role")


async def test_thirty_days_kept_then_an_old_cursor_is_410(
    client, make_buyer, make_key, sessionmaker
):
    buyer = await make_buyer()
    headers = await make_key(Role.ERP, buyer=buyer)
    await _record(sessionmaker, buyer, "token.expiring", "token.expiring", "token.expiring")
    async with unit_of_work(sessionmaker) as session:
        old = utcnow() - timedelta(days=31)
        await session.exec(
            update(Event).where(Event.buyer_id == buyer.id, Event.seq <= 2).values(at=old)
        )
        assert await purge_events(session) >= 2
    r = await client.get("/v1/events", params={"after": "2"}, headers=headers)
    assert [e["cursor"] for e in r.json()["items"]] == ["3"]  # nothing was missed from 2
    assert_problem(
        await client.get("/v1/events", params={"after": "1"}, headers=headers),
        410,
        "cursor_expired",
    )
    r = await client.get("/v1/events", headers=headers)  # from the start: what is kept
    assert [e["cursor"] for e in r.json()["items"]] == ["3"]


async def test_contract_changes_are_events(client, make_buyer, make_key):
    buyer = await make_buyer()
    headers = await make_key(Role.ERP, buyer=buyer)
    payload = contract_payload()
    r = await client.post("/v1/contracts", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    contract_id = r.json()["id"]
    r = await client.patch(
        f"/v1/contracts/{contract_id}", json={"amount_ht": "60000.00"}, headers=headers
    )
    assert r.status_code == 200, r.text
    events = (await client.get("/v1/events", headers=headers)).json()["items"]
    assert [e["type"] for e in events] == [EventType.CONTRACT_CREATED, EventType.CONTRACT_UPDATED]
    assert events[0]["data"]["reference"] == payload["reference"]
    assert events[1]["data"]["changes"] == {"amount_ht": ["48000.00", "60000.00"]}


async def test_put_by_reference_creates_then_replaces(client, make_buyer, make_key):
    buyer = await make_buyer()
    headers = await make_key(Role.ERP, buyer=buyer)
    payload = contract_payload()
    url = f"/v1/contracts/by-ref/{payload['reference']}"
    r = await client.put(url, json=payload, headers=headers)
    assert r.status_code == 201, r.text
    contract_id = r.json()["id"]
    r = await client.put(url, json=payload, headers=headers)  # the same: nothing changes
    assert r.status_code == 200 and r.json()["id"] == contract_id
    changed = {**payload, "object": "Entretien et élagage", "duration_months": 36}
    r = await client.put(url, json=changed, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == contract_id and r.json()["object"] == "Entretien et élagage"
    amendments = (
        await client.get(f"/v1/contracts/{contract_id}/amendments", headers=headers)
    ).json()
    [amendment] = amendments["items"]
    assert set(amendment["changes"]) == {"object", "ends_on"}
    listed = (await client.get("/v1/contracts", headers=headers)).json()["items"]
    assert [c["id"] for c in listed] == [contract_id]
    types = [e["type"] for e in (await client.get("/v1/events", headers=headers)).json()["items"]]
    assert types == ["contract.created", "contract.updated"]
    r = await client.put(f"{url}-autre", json=payload, headers=headers)
    assert_problem(r, 422, "reference_mismatch")
