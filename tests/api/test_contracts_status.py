"""Each contract's overall status in the list and in the contract, the `status` filter across
pages, and unknown query parameters refused (422 `unknown_parameter`)."""

import uuid
from datetime import date, timedelta

import pytest

from app.common import utcnow
from app.compliance.evaluation import evidence_to_json, today_in_paris
from app.compliance.models import RequirementState
from app.compliance.rules import Evidence, EvidenceKind, RequirementType
from app.contracts import queries
from app.db import unit_of_work
from tests.api.conftest import assert_problem, pointers
from tests.factories import contract_payload, random_siret

TODAY = today_in_paris(utcnow())
NOTIFIED = TODAY - timedelta(days=10)  # the current due date: the notification, ten days ago


def delivered(day: date = NOTIFIED) -> Evidence:
    return Evidence(
        kind=EvidenceKind.DELIVERED,
        obtained_on=day,
        issued_on=day,
        valid_from=day,
        valid_until=day + timedelta(days=120),
    )


REFUSED = Evidence(kind=EvidenceKind.REFUSED, obtained_on=NOTIFIED)
PENDING = Evidence(kind=EvidenceKind.PENDING, obtained_on=TODAY, retry_on=TODAY + timedelta(days=2))


async def _create(client, tenant, notified_on=NOTIFIED, **overrides):  # type: ignore[no-untyped-def]
    payload = contract_payload(notified_on=notified_on.isoformat(), **overrides)
    r = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _record(  # type: ignore[no-untyped-def]
    sessionmaker, buyer_id, supplier_id, requested_on=None, alert=None, day=NOTIFIED, **exceptions
):
    """Evidence for every requirement type (what is not required is not looked at): delivered on
    `day` (the current due date), except `exceptions` (requirement name → Evidence)."""
    async with unit_of_work(sessionmaker) as session:
        for rtype in RequirementType:
            evidence = exceptions.get(rtype.value, delivered(day))
            session.add(
                RequirementState(
                    buyer_id=buyer_id,
                    supplier_id=uuid.UUID(str(supplier_id)),
                    requirement=rtype,
                    evidence=evidence_to_json(evidence),
                    requested_on=requested_on if rtype.value in exceptions else None,
                    alert=alert,
                )
            )


def _supplier(contract, index: int = 0) -> str:  # type: ignore[no-untyped-def]
    return str(contract["holders"][index]["supplier_id"])


async def _statuses(client, tenant, **params):  # type: ignore[no-untyped-def]
    r = await client.get("/v1/contracts", params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return {c["id"]: c["status"] for c in r.json()["items"]}


@pytest.fixture
async def four(client, tenant, sessionmaker):  # type: ignore[no-untyped-def]
    """One contract of each status, in creation order."""
    compliant = await _create(client, tenant)
    refused = await _create(client, tenant)
    pending = await _create(client, tenant)
    unchecked = await _create(client, tenant)
    buyer = tenant.buyer.id
    await _record(sessionmaker, buyer, _supplier(compliant))
    await _record(sessionmaker, buyer, _supplier(refused), urssaf_vigilance=REFUSED)
    await _record(sessionmaker, buyer, _supplier(pending), urssaf_vigilance=PENDING)
    return {
        "compliant": compliant["id"],
        "non_compliant": refused["id"],
        "at_risk": pending["id"],
        "not_checked": unchecked["id"],
    }


async def test_new_contract_is_not_checked(client, tenant):
    contract = await _create(client, tenant)
    assert contract["status"] == "not_checked"
    got = await client.get(f"/v1/contracts/{contract['id']}", headers=tenant.headers)
    assert got.json()["status"] == "not_checked"
    assert await _statuses(client, tenant) == {contract["id"]: "not_checked"}


async def test_list_and_contract_give_each_status(client, tenant, four):
    assert await _statuses(client, tenant) == {cid: status for status, cid in four.items()}
    for status, cid in four.items():
        one = await client.get(f"/v1/contracts/{cid}", headers=tenant.headers)
        assert one.json()["status"] == status, (status, one.json())


async def test_list_agrees_with_the_contract_compliance(client, tenant, four):
    """The list's status is the one `GET /v1/contracts/{id}/compliance` explains."""
    listed = await _statuses(client, tenant)
    for cid in four.values():
        r = await client.get(f"/v1/contracts/{cid}/compliance", headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert listed[cid] == r.json()["status"], cid


async def test_status_follows_the_request_and_vigies_own_failures(client, tenant, sessionmaker):
    """What the engine reads besides the evidence (the first request to the contractor, Vigie's
    own failure) moves the list's status as it moves the contract's compliance."""
    due = TODAY - timedelta(days=40)  # the gaps began 40 days ago, past the 15-day grace
    nothing = Evidence(kind=EvidenceKind.NONE, obtained_on=due)
    asked_long_ago = await _create(client, tenant, notified_on=due)
    never_asked = await _create(client, tenant, notified_on=due)
    failed = await _create(client, tenant, notified_on=due)
    buyer = tenant.buyer.id

    async def record(contract, **kwargs):  # type: ignore[no-untyped-def]
        await _record(sessionmaker, buyer, _supplier(contract), day=due, **kwargs)

    await record(asked_long_ago, requested_on=due, urssaf_vigilance=nothing)
    await record(never_asked, urssaf_vigilance=nothing)
    await record(failed, requested_on=due, alert="403 de la source", urssaf_vigilance=nothing)
    listed = await _statuses(client, tenant)
    assert listed[asked_long_ago["id"]] == "non_compliant"  # past the grace after the request
    assert listed[never_asked["id"]] == "at_risk"  # no request recorded: never non-compliant
    assert listed[failed["id"]] == "at_risk"  # Vigie's own failure never counts against it
    for cid, status in listed.items():
        r = await client.get(f"/v1/contracts/{cid}/compliance", headers=tenant.headers)
        assert r.json()["status"] == status, (cid, r.json())


async def test_worst_holder_wins(client, tenant, sessionmaker):
    contract = await _create(client, tenant, holders=[{"siret": random_siret()} for _ in range(2)])
    await _record(sessionmaker, tenant.buyer.id, _supplier(contract, 0))
    await _record(sessionmaker, tenant.buyer.id, _supplier(contract, 1), urssaf_vigilance=REFUSED)
    assert (await _statuses(client, tenant))[contract["id"]] == "non_compliant"


async def test_one_compliant_holder_does_not_hide_an_unchecked_one(client, tenant, sessionmaker):
    contract = await _create(client, tenant, holders=[{"siret": random_siret()} for _ in range(2)])
    await _record(sessionmaker, tenant.buyer.id, _supplier(contract, 0))
    assert (await _statuses(client, tenant))[contract["id"]] == "not_checked"


async def test_status_uses_only_the_callers_evidence(client, tenant, other_tenant, sessionmaker):
    """Another buyer's refusal for the same company is not this buyer's evidence."""
    siret = random_siret()
    mine = await _create(client, tenant, holders=[{"siret": siret}])
    await _create(client, other_tenant, holders=[{"siret": siret}])
    await _record(sessionmaker, other_tenant.buyer.id, _supplier(mine), urssaf_vigilance=REFUSED)
    assert await _statuses(client, tenant) == {mine["id"]: "not_checked"}
    await _record(sessionmaker, tenant.buyer.id, _supplier(mine))
    assert await _statuses(client, tenant) == {mine["id"]: "compliant"}


async def test_filter_by_status(client, tenant, four):
    for status, cid in four.items():
        assert await _statuses(client, tenant, status=status) == {cid: status}
    both = await _statuses(client, tenant, status=["at_risk", "non_compliant"])
    assert set(both) == {four["at_risk"], four["non_compliant"]}
    everything = await _statuses(
        client, tenant, status=["compliant", "at_risk", "non_compliant", "not_checked"]
    )
    assert set(everything) == set(four.values())


async def test_status_filter_combines_with_the_others(client, tenant, four):
    refused = await client.get(f"/v1/contracts/{four['non_compliant']}", headers=tenant.headers)
    siren = refused.json()["holders"][0]["siren"]
    assert await _statuses(client, tenant, status="non_compliant", supplier=siren) == {
        four["non_compliant"]: "non_compliant"
    }
    assert await _statuses(client, tenant, status="compliant", supplier=siren) == {}


async def test_unknown_status_value(client, tenant):
    r = await client.get("/v1/contracts?status=conforme", headers=tenant.headers)
    body = assert_problem(r, 422, "invalid_choice")
    assert pointers(body) == {"#/query/status/0"}


async def test_status_filter_pages_are_full_and_complete(client, tenant, sessionmaker, monkeypatch):
    """Matches spread over several internal batches: each page full, none lost, none repeated."""
    monkeypatch.setattr(queries, "SCAN_BATCH", 2)
    created = [await _create(client, tenant) for _ in range(9)]
    refused = [c["id"] for i, c in enumerate(created) if i % 3 != 1]  # 6 of 9, with gaps
    for c in created:
        if c["id"] in refused:
            await _record(sessionmaker, tenant.buyer.id, _supplier(c), urssaf_vigilance=REFUSED)
    seen: list[str] = []
    sizes = []
    cursor = None
    for _ in range(6):
        params = {"limit": 2, "status": "non_compliant"} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/v1/contracts", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert {c["status"] for c in page["items"]} <= {"non_compliant"}
        sizes.append(len(page["items"]))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [2, 2, 2]  # a batch ending on a full page still looks further
    assert seen == refused  # oldest first, no duplicates, none missing


async def test_status_filter_exact_page_has_no_next_cursor(client, tenant, sessionmaker):
    refused = [await _create(client, tenant) for _ in range(2)]
    await _create(client, tenant)  # not checked: after the matches, must not make a next page
    for c in refused:
        await _record(sessionmaker, tenant.buyer.id, _supplier(c), urssaf_vigilance=REFUSED)
    params = {"limit": 2, "status": "non_compliant"}
    page = (await client.get("/v1/contracts", params=params, headers=tenant.headers)).json()
    assert [c["id"] for c in page["items"]] == [c["id"] for c in refused]
    assert page["next_cursor"] is None


# --- unknown query parameters ------------------------------------------------------------------


async def test_unknown_parameter_is_refused(client, tenant):
    await _create(client, tenant)
    r = await client.get("/v1/contracts?stauts=non_compliant", headers=tenant.headers)
    body = assert_problem(r, 422, "unknown_parameter")
    assert "stauts" in body["detail"]
    assert pointers(body) == {"#/query/stauts"}
    assert body["errors"][0]["code"] == "unknown_parameter"


async def test_several_unknown_parameters_are_all_named(client, tenant):
    r = await client.get("/v1/contracts?limit=5&foo=1&Status=x", headers=tenant.headers)
    body = assert_problem(r, 422, "unknown_parameter")
    assert pointers(body) == {"#/query/foo", "#/query/Status"}
    assert "foo" in body["detail"] and "Status" in body["detail"]


async def test_every_declared_parameter_is_known(client, tenant):
    contract = await _create(client, tenant)
    params = {
        "limit": 10,
        "reference": contract["reference"],
        "supplier": contract["holders"][0]["siren"],
        "active_on": TODAY.isoformat(),
        "status": "not_checked",
    }
    r = await client.get("/v1/contracts", params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["items"]] == [contract["id"]]
    r = await client.get(f"/v1/contracts?cursor={uuid.uuid4()}", headers=tenant.headers)
    assert r.status_code == 200, r.text


async def test_a_missing_key_is_answered_before_an_unknown_parameter(client):
    r = await client.get("/v1/contracts?stauts=x")
    assert_problem(r, 401, "missing_api_key")
