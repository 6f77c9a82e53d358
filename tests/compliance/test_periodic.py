"""The duty is periodic (D8222-5 C. trav.): a contract registered ahead of its notification is
checked at once (R2143-7 CCP) without that early check serving the notification's due date, and a
document that ends between two due dates is replaced by a fresh one the day after it ends."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.common import utcnow
from app.compliance import scheduling
from app.compliance.evaluation import start_of
from app.compliance.models import RequirementState
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle


@pytest.fixture
def committed_database_url(fresh_database_url: str) -> str:
    """The tick claims whatever is due in the whole database: give each test its own (these
    tests commit for real, so this is the database their settings use)."""
    return fresh_database_url


async def _rows(sessionmaker, buyer_id):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        query = select(RequirementState).where(RequirementState.buyer_id == buyer_id)
        return {r.requirement.value: r for r in (await session.exec(query)).all()}


async def test_a_contract_ahead_of_its_notification_is_checked_at_once(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    notified = date.today() + timedelta(days=60)
    payload = contract_for(profile("compliant"), notified_on=notified.isoformat())
    r = await client.post("/v1/contracts", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    rows = await _rows(sessionmaker, buyer.id)
    assert rows and all(r.last_checked_at is not None for r in rows.values())
    assert {r.status for r in rows.values()} == {"valid"}  # not `not_checked` until the date
    # Too early to serve the notification's due date: its own check still comes, on the day.
    assert all(r.served_due_on is None and r.due_on == notified for r in rows.values())
    assert all(r.next_due_at == start_of(notified) for r in rows.values())


async def test_a_document_ending_between_due_dates_is_fetched_again_once(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    r = await client.post("/v1/contracts", json=contract_for(profile("compliant")), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    before = (await _rows(sessionmaker, buyer.id))["urssaf_vigilance"]
    served = before.served_due_on
    assert served is not None and before.document_id is not None
    ended = date.today() - timedelta(days=2)  # the attestation ended after the due date
    async with sessionmaker() as session:
        row = await session.get(RequirementState, before.id)
        assert row is not None
        row.evidence = {
            **(row.evidence or {}),
            "obtained_on": served.isoformat(),  # fetched on its due date
            "valid_from": (ended - timedelta(days=90)).isoformat(),
            "valid_until": ended.isoformat(),
        }
        row.valid_until = ended
        row.last_checked_at = utcnow() - timedelta(days=9)  # fetched at the due date
        session.add(row)
        await session.commit()
    await scheduling.plan_all(runtime.compliance)
    # In order for the period its due date opened: information, not a gap.
    r = await client.get(f"/v1/suppliers/{profile('compliant')}/compliance", headers=headers)
    body = r.json()
    urssaf = next(q for q in body["requirements"] if q["type"] == "urssaf_vigilance")
    assert body["status"] == "compliant", body["reasons"]
    assert urssaf["status"] == "valid"
    assert "document_expired_between_checks" in {x["code"] for x in urssaf["reasons"]}
    row = (await _rows(sessionmaker, buyer.id))["urssaf_vigilance"]
    assert row.next_due_at is not None and row.next_due_at <= utcnow()  # a refresh is due now
    assert row.due_on > date.today()  # the next due date is unchanged
    await scheduling.tick(runtime.compliance)
    await settle(runtime)
    after = (await _rows(sessionmaker, buyer.id))["urssaf_vigilance"]
    assert after.attempts == before.attempts + 1 and after.document_id is not None
    assert after.last_checked_at is not None and after.last_checked_at > utcnow() - timedelta(
        minutes=5
    )  # fetched again (the sandbox hands out the same bytes today: the archive keeps one copy)
    assert after.served_due_on == served  # the refresh served no due date
    assert after.valid_until is not None and after.valid_until > date.today()
    assert after.next_due_at == start_of(after.due_on)  # once: back to the six-month schedule
