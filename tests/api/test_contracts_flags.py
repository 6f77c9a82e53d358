"""Holder and contract flags (MSA regime, foreign workers), what PATCH may change once checks have
run, and the readable amendment history."""

import hashlib
import json
import uuid
from datetime import date

from sqlmodel import select

from app.compliance.models import Check
from app.compliance.rules import RequirementType
from app.contracts.models import Contract, ContractHolder, SocialRegime
from app.db import unit_of_work
from tests.api.conftest import assert_problem, pointers
from tests.factories import contract_payload, random_siret

FOREIGN = {"foreign_id": "DE811907980", "country": "DE", "name": "Bau GmbH"}


async def _create(client, tenant, **overrides):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/contracts", json=contract_payload(**overrides), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _patch(client, tenant, contract, body):  # type: ignore[no-untyped-def]
    return await client.patch(f"/v1/contracts/{contract['id']}", json=body, headers=tenant.headers)


async def _stored(sessionmaker, contract_id: str) -> tuple[Contract, list[ContractHolder]]:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        contract = await session.get(Contract, uuid.UUID(contract_id))
        assert contract is not None
        query = select(ContractHolder).where(ContractHolder.contract_id == contract.id)
        return contract, list((await session.exec(query)).all())


async def _checked(sessionmaker, buyer_id, supplier_id) -> None:  # type: ignore[no-untyped-def]
    """A check has run for this holder under this buyer."""
    async with unit_of_work(sessionmaker) as session:
        session.add(
            Check(
                buyer_id=buyer_id,
                supplier_id=uuid.UUID(str(supplier_id)),
                requirement=RequirementType.URSSAF_VIGILANCE,
                due_on=date(2026, 3, 2),
                outcome="delivered",
            )
        )


# --- social regime ------------------------------------------------------------------------------


async def test_holder_regime_defaults_to_general_and_msa_is_kept(client, tenant, sessionmaker):
    farm, other = random_siret(), random_siret()
    holders = [{"siret": farm, "social_regime": "msa"}, {"siret": other}]
    contract = await _create(client, tenant, holders=holders)
    regimes = {h["siret"]: h["social_regime"] for h in contract["holders"]}
    assert regimes == {farm: "msa", other: "general"}
    got = (await client.get(f"/v1/contracts/{contract['id']}", headers=tenant.headers)).json()
    assert {h["siret"]: h["social_regime"] for h in got["holders"]} == regimes
    _, rows = await _stored(sessionmaker, contract["id"])
    stored = {h.siret: h.social_regime for h in rows}
    assert stored == {farm: SocialRegime.MSA, other: SocialRegime.GENERAL}


async def test_a_foreign_holder_has_no_french_regime(client, tenant):
    contract = await _create(client, tenant, holders=[FOREIGN])
    assert contract["holders"][0]["social_regime"] is None
    r = await client.post(
        "/v1/contracts",
        json=contract_payload(holders=[{**FOREIGN, "social_regime": "msa"}]),
        headers=tenant.headers,
    )
    body = assert_problem(r, 422, "invalid_holder")
    assert pointers(body) == {"/holders/0"}
    assert "MSA" in body["errors"][0]["detail"]


async def test_unknown_regime(client, tenant):
    holders = [{"siret": random_siret(), "social_regime": "agricole"}]
    r = await client.post(
        "/v1/contracts", json=contract_payload(holders=holders), headers=tenant.headers
    )
    body = assert_problem(r, 422, "invalid_choice")
    assert pointers(body) == {"/holders/0/social_regime"}


async def test_msa_vigilance_is_an_accepted_requirement(client, tenant):
    contract = await _create(client, tenant, extra_requirements=["msa_vigilance", "qualibat"])
    assert contract["extra_requirements"] == ["msa_vigilance", "qualibat"]
    r = await client.post(
        "/v1/contracts",
        json=contract_payload(extra_requirements=["urssaf_vigilance"]),
        headers=tenant.headers,
    )
    body = assert_problem(r, 422, "invalid_requirement")
    assert "urssaf_vigilance" in body["errors"][0]["detail"]
    assert "msa_vigilance" in body["errors"][0]["detail"]  # among the values offered


async def test_regime_is_part_of_the_content(client, tenant):
    """Reposting the same contract is idempotent; another regime for a holder is a conflict."""
    payload = contract_payload(holders=[{"siret": random_siret(), "social_regime": "msa"}])
    first = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    assert again.status_code == 200, again.text
    general = {**payload, "holders": [{"siret": payload["holders"][0]["siret"]}]}
    r = await client.post("/v1/contracts", json=general, headers=tenant.headers)
    assert_problem(r, 409, "contract_reference_conflict")


async def test_hash_of_a_contract_without_flags_is_unchanged(client, tenant, sessionmaker):
    """Contracts stored before the flags existed stay idempotent: the defaults add nothing."""
    siret = random_siret()
    contract = await _create(client, tenant, holders=[{"siret": siret}], cpv_code="45210000")
    stored, _ = await _stored(sessionmaker, contract["id"])
    before_flags = {
        "reference": contract["reference"],
        "object": contract["object"],
        "amount_ht": contract["amount_ht"],
        "notified_on": contract["notified_on"],
        "ends_on": contract["ends_on"],
        "cpv_code": "45210000",
        "extra_requirements": [],
        "holders": [["siren", siret[:9], siret]],
    }
    expected = hashlib.sha256(json.dumps(before_flags, sort_keys=True).encode()).hexdigest()
    assert stored.content_hash == expected


async def test_patch_changes_a_holders_regime(client, tenant, sessionmaker):
    siret = random_siret()
    contract = await _create(client, tenant, holders=[{"siret": siret}])
    r = await _patch(
        client, tenant, contract, {"holders": [{"siret": siret, "social_regime": "msa"}]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["holders"][0]["social_regime"] == "msa"
    _, rows = await _stored(sessionmaker, contract["id"])
    assert [h.social_regime for h in rows] == [SocialRegime.MSA]
    history = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=tenant.headers)
    (amendment,) = history.json()["items"]
    assert amendment["changes"]["holders"] == [
        [["siren", siret[:9], siret]],
        [["siren", siret[:9], siret, "regime:msa"]],
    ]


# --- foreign workers ----------------------------------------------------------------------------


async def test_foreign_workers_defaults_to_false_and_is_kept(client, tenant, sessionmaker):
    plain = await _create(client, tenant)
    assert plain["foreign_workers"] is False
    declared = await _create(client, tenant, foreign_workers=True)
    assert declared["foreign_workers"] is True
    stored, _ = await _stored(sessionmaker, declared["id"])
    assert stored.foreign_workers is True
    r = await client.post(
        "/v1/contracts", json=contract_payload(foreign_workers="peut-être"), headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "invalid_boolean")) == {"/foreign_workers"}


async def test_foreign_workers_is_part_of_the_content(client, tenant):
    payload = contract_payload()
    assert (
        await client.post("/v1/contracts", json=payload, headers=tenant.headers)
    ).status_code == 201
    r = await client.post(
        "/v1/contracts", json={**payload, "foreign_workers": True}, headers=tenant.headers
    )
    assert_problem(r, 409, "contract_reference_conflict")


async def test_patch_declares_foreign_workers(client, tenant):
    contract = await _create(client, tenant)
    r = await _patch(client, tenant, contract, {"foreign_workers": True})
    assert r.status_code == 200, r.text
    assert r.json()["foreign_workers"] is True
    r = await _patch(client, tenant, contract, {"foreign_workers": None})  # null: unchanged
    assert r.json()["foreign_workers"] is True
    history = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=tenant.headers)
    assert [a["changes"] for a in history.json()["items"]] == [{"foreign_workers": [False, True]}]


# --- PATCH: what may change ---------------------------------------------------------------------


async def test_notification_changes_before_any_check(client, tenant):
    contract = await _create(client, tenant, notified_on="2026-03-02", duration_months=12)
    r = await _patch(client, tenant, contract, {"notified_on": "2026-04-01"})
    assert r.status_code == 200, r.text
    # the end follows a notification when given as a duration
    assert (r.json()["notified_on"], r.json()["ends_on"]) == ("2026-04-01", "2027-03-31")
    history = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=tenant.headers)
    assert history.json()["items"][0]["changes"] == {
        "notified_on": ["2026-03-02", "2026-04-01"],
        "ends_on": ["2027-03-01", "2027-03-31"],
    }


async def test_notification_with_an_explicit_end_keeps_the_end(client, tenant):
    contract = await _create(
        client, tenant, notified_on="2026-03-02", ends_on="2026-12-31", duration_months=None
    )
    r = await _patch(client, tenant, contract, {"notified_on": "2026-02-01"})
    assert (r.json()["notified_on"], r.json()["ends_on"]) == ("2026-02-01", "2026-12-31")
    late = await _patch(client, tenant, contract, {"notified_on": "2027-01-15"})
    assert pointers(assert_problem(late, 422, "invalid_dates")) == {"/ends_on"}


async def test_notification_is_frozen_once_a_holder_was_checked(client, tenant, sessionmaker):
    contract = await _create(client, tenant, notified_on="2026-03-02")
    await _checked(sessionmaker, tenant.buyer.id, contract["holders"][0]["supplier_id"])
    r = await _patch(client, tenant, contract, {"notified_on": "2026-04-01"})
    body = assert_problem(r, 422, "immutable_field")
    assert pointers(body) == {"/notified_on"}
    assert "notification" in body["detail"]
    got = (await client.get(f"/v1/contracts/{contract['id']}", headers=tenant.headers)).json()
    assert got["notified_on"] == "2026-03-02"
    # the same value is no change; the other fields still change
    same = await _patch(
        client, tenant, contract, {"notified_on": "2026-03-02", "amount_ht": "9000"}
    )
    assert same.status_code == 200, same.text
    assert same.json()["amount_ht"] == "9000.00"


async def test_reference_is_frozen_once_a_holder_was_checked(client, tenant, sessionmaker):
    contract = await _create(client, tenant)
    await _checked(sessionmaker, tenant.buyer.id, contract["holders"][0]["supplier_id"])
    r = await _patch(client, tenant, contract, {"reference": "AUTRE-REF"})
    assert pointers(assert_problem(r, 422, "immutable_field")) == {"/reference"}
    both = await _patch(
        client, tenant, contract, {"reference": "AUTRE-REF", "notified_on": "2026-01-05"}
    )
    assert pointers(assert_problem(both, 422, "immutable_field")) == {"/reference", "/notified_on"}
    same = await _patch(client, tenant, contract, {"reference": f" {contract['reference']} "})
    assert same.status_code == 200, same.text


async def test_reference_changes_before_any_check(client, tenant):
    contract = await _create(client, tenant)
    r = await _patch(client, tenant, contract, {"reference": "  MARCHE-RENOMME  "})
    assert r.status_code == 200, r.text
    assert r.json()["reference"] == "MARCHE-RENOMME"
    found = await client.get("/v1/contracts?reference=MARCHE-RENOMME", headers=tenant.headers)
    assert [c["id"] for c in found.json()["items"]] == [contract["id"]]


async def test_reference_of_another_contract_is_a_conflict(client, tenant):
    first, second = await _create(client, tenant), await _create(client, tenant)
    r = await _patch(client, tenant, second, {"reference": first["reference"]})
    assert_problem(r, 409, "contract_reference_conflict")
    got = (await client.get(f"/v1/contracts/{second['id']}", headers=tenant.headers)).json()
    assert got["reference"] == second["reference"]


async def test_a_check_under_another_buyer_freezes_nothing(
    client, tenant, other_tenant, sessionmaker
):
    siret = random_siret()
    mine = await _create(client, tenant, holders=[{"siret": siret}])
    await _create(client, other_tenant, holders=[{"siret": siret}])
    await _checked(sessionmaker, other_tenant.buyer.id, mine["holders"][0]["supplier_id"])
    r = await _patch(client, tenant, mine, {"notified_on": "2026-03-09"})
    assert r.status_code == 200, r.text


# --- the amendment history ----------------------------------------------------------------------


async def test_amendments_oldest_first_by_pages(client, tenant):
    contract = await _create(client, tenant)
    for amount in ("50000", "51000", "52000"):
        assert (await _patch(client, tenant, contract, {"amount_ht": amount})).status_code == 200
    url = f"/v1/contracts/{contract['id']}/amendments"
    first = (await client.get(url, params={"limit": 2}, headers=tenant.headers)).json()
    assert [a["changes"]["amount_ht"] for a in first["items"]] == [
        ["48000.00", "50000.00"],
        ["50000.00", "51000.00"],
    ]
    assert first["next_cursor"] == first["items"][1]["id"]
    rest = await client.get(
        url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.headers
    )
    assert [a["changes"]["amount_ht"] for a in rest.json()["items"]] == [["51000.00", "52000.00"]]
    assert rest.json()["next_cursor"] is None
    item = rest.json()["items"][0]
    assert item.keys() == {"id", "changes", "by_key_prefix", "created_at"}
    assert tenant.headers["Authorization"].split()[1].startswith(item["by_key_prefix"])


async def test_no_amendment_yet(client, tenant):
    contract = await _create(client, tenant)
    r = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next_cursor": None}


async def test_amendments_of_another_buyer_are_404(client, tenant, other_tenant):
    contract = await _create(client, tenant)
    await _patch(client, tenant, contract, {"amount_ht": "60000"})
    r = await client.get(f"/v1/contracts/{contract['id']}/amendments", headers=other_tenant.headers)
    assert_problem(r, 404, "contract_not_found")
    ghost = await client.get(f"/v1/contracts/{uuid.uuid4()}/amendments", headers=tenant.headers)
    assert_problem(ghost, 404, "contract_not_found")


async def test_amendments_refuse_unknown_parameters(client, tenant):
    contract = await _create(client, tenant)
    r = await client.get(
        f"/v1/contracts/{contract['id']}/amendments?since=2026-01-01", headers=tenant.headers
    )
    assert pointers(assert_problem(r, 422, "unknown_parameter")) == {"#/query/since"}
