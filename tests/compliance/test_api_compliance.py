"""The compliance API: roles and tenants, contract status, gaps (JSON, CSV, cursor), re-check,
bulk lookup — on SQLite with the in-process runner and the sandbox."""

import csv
import io

from sqlmodel import func, select

from app.compliance import exports
from app.compliance.models import Check
from app.compliance.rules import OverallStatus, RequirementStatus, RequirementType
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle


async def _setup(client, make_buyer, make_key, runtime, profile, *names):  # type: ignore[no-untyped-def]
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    r = await client.post(
        "/v1/contracts", json=contract_for(*[profile(n) for n in names]), headers=headers
    )
    assert r.status_code == 201, r.text
    await settle(runtime)
    return buyer, headers, r.json()


async def test_contract_status_is_the_worst_holder(client, make_buyer, make_key, runtime, profile):
    _, headers, contract = await _setup(
        client, make_buyer, make_key, runtime, profile, "compliant", "urssaf_refused"
    )
    r = await client.get(f"/v1/contracts/{contract['id']}/compliance", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "non_compliant"
    statuses = {h["supplier"]["siren"]: h["status"] for h in body["holders"]}
    assert statuses == {
        profile("compliant"): "compliant",
        profile("urssaf_refused"): "non_compliant",
    }
    assert any(reason["code"] == "urssaf_refused" for reason in body["reasons"])


async def test_another_buyer_sees_nothing(client, make_buyer, make_key, runtime, profile):
    _, _, contract = await _setup(client, make_buyer, make_key, runtime, profile, "compliant")
    other = await make_key(Role.OFFICER, buyer=await make_buyer("Autre"))
    r = await client.get(f"/v1/suppliers/{profile('compliant')}/compliance", headers=other)
    assert r.status_code == 404
    r = await client.get(f"/v1/contracts/{contract['id']}/compliance", headers=other)
    assert r.status_code == 404
    r = await client.post(f"/v1/suppliers/{profile('compliant')}/checks", headers=other)
    assert r.status_code == 404


async def test_contractor_reads_its_own_compliance(client, make_buyer, make_key, runtime, profile):
    buyer, _, contract = await _setup(client, make_buyer, make_key, runtime, profile, "compliant")
    supplier_id = contract["holders"][0]["supplier_id"]
    import uuid

    own = await make_key(Role.CONTRACTOR, supplier_id=uuid.UUID(supplier_id))
    r = await client.get(f"/v1/suppliers/{profile('compliant')}/compliance", headers=own)
    assert r.status_code == 200
    assert r.json()["status"] == "compliant"
    assert buyer.siret in {q["buyer_siret"] for q in r.json()["requirements"]}
    r = await client.post(f"/v1/suppliers/{profile('compliant')}/checks", headers=own)
    assert r.status_code == 403


async def test_gaps_filters_cursor_and_csv(
    client, make_buyer, make_key, runtime, profile, monkeypatch
):
    _, headers, _ = await _setup(
        client,
        make_buyer,
        make_key,
        runtime,
        profile,
        "compliant",
        "urssaf_refused",
        "out_of_perimeter",
        "manual_review",
    )
    r = await client.get("/v1/gaps", headers=headers)
    assert r.status_code == 200
    gaps = r.json()["items"]
    assert gaps and all(g["status"] != "valid" for g in gaps)
    assert profile("compliant") not in {g["supplier"]["siren"] for g in gaps}
    r = await client.get("/v1/gaps", params={"status": "refused"}, headers=headers)
    assert {(g["supplier"]["siren"], g["type"]) for g in r.json()["items"]} == {
        (profile("urssaf_refused"), "urssaf_vigilance")
    }
    r = await client.get("/v1/gaps", params={"requirement": "dgfip_fiscal"}, headers=headers)
    assert {g["type"] for g in r.json()["items"]} == {"dgfip_fiscal"}
    # Cursor pagination walks every gap once.
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/gaps", params=params, headers=headers)).json()
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(g["id"] for g in gaps)
    r = await client.get("/v1/gaps", headers={**headers, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())  # UTF-8 with BOM: a French spreadsheet
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["SIREN ou identifiant", "Fournisseur", "Exigence", "Statut"]
    assert len(rows) == len(gaps) + 1
    refused = next(x for x in rows if x[0] == profile("urssaf_refused"))
    assert refused[3] == "Refusée" and "refuse de délivrer" in refused[-1]
    assert refused[7]  # the contract's reference
    assert refused[4].count("/") == 2  # since when, as a French date
    # ?format=csv gives the same file; streamed by batches on the id cursor, tiny batches too.
    monkeypatch.setattr(exports, "CSV_BATCH", 2)
    streamed = await client.get("/v1/gaps", params={"format": "csv"}, headers=headers)
    assert streamed.headers["content-type"].startswith("text/csv")
    assert streamed.content == r.content
    r = await client.get("/v1/gaps", params={"format": "xls"}, headers=headers)
    assert r.status_code == 422


async def test_recheck_is_idempotent_and_runs(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    buyer, headers, _ = await _setup(client, make_buyer, make_key, runtime, profile, "compliant")
    siren = profile("compliant")
    first = await client.post(f"/v1/suppliers/{siren}/checks", headers=headers)
    second = await client.post(f"/v1/suppliers/{siren}/checks", headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    assert second.json()["already_running"] is True
    await settle(runtime)
    async with sessionmaker() as session:
        query = select(func.count()).select_from(Check).where(Check.buyer_id == buyer.id)
        # The re-check served the same due date: still one check per requirement.
        assert (await session.exec(query)).one() == 3
        attempts = (
            await session.exec(select(Check.attempts).where(Check.buyer_id == buyer.id))
        ).all()
        assert set(attempts) == {2}


async def test_lookup(client, make_buyer, make_key, runtime, profile):
    _, headers, _ = await _setup(
        client, make_buyer, make_key, runtime, profile, "compliant", "ceased"
    )
    unknown = profile("unknown")
    r = await client.post(
        "/v1/compliance/lookup",
        json={"sirens": [profile("compliant"), profile("ceased"), unknown]},
        headers=headers,
    )
    assert r.status_code == 200
    results = {x["siren"]: x for x in r.json()["results"]}
    assert results[profile("compliant")]["status"] == "compliant"
    assert results[profile("ceased")]["status"] == "non_compliant"
    assert results[unknown]["found"] is False
    r = await client.post(
        "/v1/compliance/lookup", json={"sirens": ["100000009"] * 1001}, headers=headers
    )
    assert r.status_code == 422 and r.json()["code"] == "too_many_sirens"


async def test_lookup_answers_a_bad_siren_in_its_own_result(
    client, make_buyer, make_key, runtime, profile
):
    _, headers, _ = await _setup(client, make_buyer, make_key, runtime, profile, "compliant")
    bad = ["12345678", "100000008", "１００００００09", "", "10000000９"]
    r = await client.post(
        "/v1/compliance/lookup", json={"sirens": [*bad, profile("compliant")]}, headers=headers
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["siren"] for x in results] == [*bad, profile("compliant")]
    for item in results[:-1]:
        assert item["code"] == "invalid_identifier" and item["found"] is None, item
        assert item["detail"] and item["status"] is None
    assert results[-1]["found"] is True and results[-1]["status"] == "compliant"
    assert results[-1]["code"] is None


async def test_a_bad_siren_in_a_path_is_a_422_not_a_404(client, make_buyer, make_key):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    for siren in ("12345678", "100000008", "1234567890"):
        for method, path in (
            ("GET", f"/v1/suppliers/{siren}/compliance"),
            ("POST", f"/v1/suppliers/{siren}/checks"),
        ):
            r = await client.request(method, path, headers=headers)
            assert r.status_code == 422, (method, path, r.text)
            assert r.json()["code"] == "invalid_identifier"


async def test_openapi_lists_the_values_of_types_and_statuses(client):
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    def enum_of(model: str, field: str) -> set[str]:
        prop = schemas[model]["properties"][field]
        ref = prop.get("$ref") or next(
            (x["$ref"] for x in prop.get("anyOf", []) if "$ref" in x), None
        )
        target = schemas[ref.rsplit("/", 1)[-1]] if ref else prop
        return set(target["enum"])

    assert enum_of("RequirementPublic", "type") == {t.value for t in RequirementType}
    assert enum_of("RequirementPublic", "status") == {s.value for s in RequirementStatus}
    assert enum_of("SupplierCompliance", "status") == {s.value for s in OverallStatus}
    assert enum_of("Gap", "status") == {s.value for s in RequirementStatus}
    assert enum_of("LookupResult", "status") == {s.value for s in OverallStatus}


async def test_lookup_and_paths_take_sirets_and_foreign_identifiers(
    client, make_buyer, make_key, runtime, profile
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    foreign = {"foreign_id": "811907980", "country": "DE", "name": "Muster Bau GmbH"}
    payload = contract_for(profile("compliant"))
    payload["holders"].append(foreign)
    r = await client.post("/v1/contracts", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    r = await client.get("/v1/suppliers/DE811907980/compliance", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["supplier"]["name"] == "Muster Bau GmbH"
    # Its documents can only come by upload (D8222-7): awaiting upload, a risk, never missing.
    assert r.json()["status"] == "at_risk"
    assert {q["status"] for q in r.json()["requirements"]} == {"awaiting_upload"}
    assert {q["type"] for q in r.json()["requirements"]} == {
        "foreign_vat",
        "foreign_social_cover",
        "foreign_registration",
    }
    assert (
        await client.get("/v1/suppliers/AT811907980/compliance", headers=headers)
    ).status_code == 404
    from stdnum.fr import siret as stdnum_siret

    siret = next(
        profile("compliant") + f"{n:05d}"
        for n in range(1, 100)
        if stdnum_siret.is_valid(profile("compliant") + f"{n:05d}")
    )
    r = await client.post(
        "/v1/compliance/lookup",
        json={"sirens": [siret, "de811907980", "12345678"]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    by_id = {x["siren"]: x for x in r.json()["results"]}
    assert by_id[siret]["found"] is True and by_id[siret]["status"] == "compliant"
    assert by_id["DE811907980"]["found"] is True
    assert by_id["12345678"]["code"] == "invalid_identifier"


async def test_an_agricultural_holder_gives_its_msa_attestation_instead_of_urssaf(
    client, make_buyer, make_key, runtime, profile
):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    siren = profile("compliant")
    payload = contract_for(siren)
    payload["holders"] = [{"siren": siren, "social_regime": "msa"}]
    r = await client.post("/v1/contracts", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    body = (await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)).json()
    types = {q["type"]: q["status"] for q in body["requirements"]}
    assert "urssaf_vigilance" not in types, types
    assert types["msa_vigilance"] == "valid" and body["status"] == "compliant", body
    contract = r.json()
    r = await client.get(f"/v1/contracts/{contract['id']}/compliance", headers=headers)
    holder = r.json()["holders"][0]
    assert {q["type"] for q in holder["requirements"]} >= {"msa_vigilance"}
    assert "urssaf_vigilance" not in {q["type"] for q in holder["requirements"]}


async def test_a_filter_the_api_does_not_know_is_a_422(client, make_buyer, make_key):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    for path in ("/v1/gaps", "/v1/suppliers", "/v1/contracts"):
        r = await client.get(path, params={"stauts": "refused"}, headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["code"] == "unknown_parameter" and "stauts" in r.json()["detail"]
    assert (
        await client.get("/v1/gaps", params={"status": "refused"}, headers=headers)
    ).status_code == 200
    assert (await client.get("/v1/gaps", params={"stauts": "x"})).status_code == 401


async def test_the_gaps_csv_neutralises_formulas(
    client, make_buyer, make_key, runtime, profile, sessionmaker
):
    from app.suppliers.models import Supplier

    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    payload = contract_for(profile("urssaf_refused"))
    assert (await client.post("/v1/contracts", json=payload, headers=headers)).status_code == 201
    await settle(runtime)
    async with sessionmaker() as session:
        supplier = (
            await session.exec(select(Supplier).where(Supplier.siren == profile("urssaf_refused")))
        ).one()
        supplier.name = '=HYPERLINK("http://evil.example","clic")'
        session.add(supplier)
        await session.commit()
    r = await client.get("/v1/gaps", params={"format": "csv"}, headers=headers)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    names = [row[1] for row in rows[1:] if row[0] == profile("urssaf_refused")]
    assert names and all(n == "'" + '=HYPERLINK("http://evil.example","clic")' for n in names)
