"""POST /v1/imports → 202 (the file stored with the import), the job, GET /v1/imports/{id}."""

import json
import uuid
from typing import Any

from sqlmodel import select

from app.imports import service, tasks
from app.imports.models import ImportRun
from app.keys.models import Role
from app.suppliers.models import Supplier
from tests.api.conftest import assert_problem
from tests.factories import random_siret
from tests.imports.conftest import SAMPLE_2024, marche_2019


def _doc(*records: dict[str, Any]) -> bytes:
    return json.dumps({"marches": list(records)}).encode()


async def _post(client, headers, content: bytes, name: str = "decp.json", **data: str):  # type: ignore[no-untyped-def]
    return await client.post(
        "/v1/imports",
        files={"file": (name, content, "application/json")},
        data=data,
        headers=headers,
    )


async def _run_job(app, import_id: str) -> Any:  # type: ignore[no-untyped-def]
    return await tasks.run_import({"compliance": app.state.compliance}, import_id)


async def test_an_erp_key_imports_its_buyers_records_only(app, client, make_buyer, make_key):
    buyer = await make_buyer("Ville de Croix-Test")
    headers = await make_key(Role.ERP, buyer=buyer)
    holder, other = random_siret(), random_siret()
    content = _doc(marche_2019(buyer.siret, "API-1", holder), marche_2019(other, "API-2", holder))
    response = await _post(client, headers, content)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["state"] == "queued" and body["report"] is None and body["format"] == "decp"
    assert response.headers["location"] == f"/v1/imports/{body['id']}"
    async with app.state.sessionmaker() as session:  # stored before the answer: never lost
        run = await session.get(ImportRun, uuid.UUID(body["id"]))
        assert run is not None and run.content == content and run.buyer_id == buyer.id

    summary = await _run_job(app, body["id"])
    assert summary == {
        "records": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": {"other_buyer": 1},
    }
    assert await _run_job(app, body["id"]) is None  # delivered twice: run once
    got = (await client.get(f"/v1/imports/{body['id']}", headers=headers)).json()
    assert got["state"] == "completed" and got["finished_at"]
    assert [line["code"] for line in got["report"]["lines"]] == [None, "other_buyer"]
    async with app.state.sessionmaker() as session:
        run = await session.get(ImportRun, uuid.UUID(body["id"]))
        assert run is not None and run.content is None  # dropped once imported

    # Another buyer's key sees nothing of it; a contractor may not import.
    stranger = await make_key(Role.OFFICER, buyer=await make_buyer("Ailleurs"))
    response = await client.get(f"/v1/imports/{body['id']}", headers=stranger)
    assert_problem(response, 404, "import_not_found")
    async with app.state.sessionmaker() as session:
        supplier = (await session.exec(select(Supplier).where(Supplier.siren == holder[:9]))).one()
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    assert_problem(await _post(client, contractor, content), 403, "forbidden_role")
    assert_problem(await client.post("/v1/imports", files={"file": ("x", b"{}")}), 401)


async def test_an_admin_import_creates_buyers_and_a_dry_run_writes_nothing(app, client, make_key):
    admin = await make_key(Role.ADMIN)
    content = SAMPLE_2024.read_bytes()
    dry = await _post(client, admin, content, dry_run="true")
    assert dry.status_code == 202 and dry.json()["dry_run"] is True
    assert (await _run_job(app, dry.json()["id"]))["created"] == 3
    real = await _post(client, admin, content)
    assert (await _run_job(app, real.json()["id"]))["created"] == 3  # the dry run wrote nothing
    again = await _post(client, admin, content)
    assert (await _run_job(app, again.json()["id"]))["unchanged"] == 3
    got = await client.get(f"/v1/imports/{again.json()['id']}", headers=admin)
    assert got.json()["report"]["unchanged"] == 3


async def test_csv_code_tiers_is_searchable_in_the_contracts_list(
    app, client, make_buyer, make_key
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    a, b = random_siret(), random_siret()
    csv = (
        "reference;object;amount_ht;notified_on;duration_months;holder_siret;code_tiers\r\n"
        f"CT-1;Voirie;48000;2026-03-02;24;{a};F00412\r\n"
        f"CT-2;Toiture;58000;2026-03-02;24;{b};F00999\r\n"
    ).encode("cp1252")
    response = await _post(client, headers, csv, name="export.csv")
    assert response.json()["format"] == "csv"
    assert (await _run_job(app, response.json()["id"]))["created"] == 2
    listed = await client.get("/v1/contracts", params={"code_tiers": "F00412"}, headers=headers)
    assert [c["reference"] for c in listed.json()["items"]] == ["CT-1"]
    assert listed.json()["items"][0]["holders"][0]["code_tiers"] == "F00412"


async def test_bad_uploads_are_clear_problems(app, client, make_buyer, make_key, monkeypatch):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    response = await _post(client, headers, b"PK\x03\x04 a zip archive", name="decp.zip")
    assert_problem(response, 422, "unreadable_file")
    monkeypatch.setattr(service, "MAX_IMPORT_BYTES", 10)
    assert_problem(await _post(client, headers, b'{"marches": []}'), 413, "file_too_large")


async def test_a_file_that_breaks_midway_is_a_failed_import_with_its_report(
    app, client, make_buyer, make_key
):
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    good = json.dumps(marche_2019(buyer.siret, "OK-1", random_siret()))
    response = await _post(client, headers, f'{{"marches": [{good}, {{"id": '.encode())
    await _run_job(app, response.json()["id"])
    got = (await client.get(f"/v1/imports/{response.json()['id']}", headers=headers)).json()
    assert got["state"] == "failed" and "JSON" in got["error"]


async def test_no_queue_no_import(app, client, make_buyer, make_key, monkeypatch):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())

    async def down() -> bool:
        return False

    monkeypatch.setattr(app.state.compliance.jobs, "ready", down)
    response = await _post(client, headers, b'{"marches": []}')
    assert_problem(response, 503, "queue_unavailable")
    assert response.headers["retry-after"] == "60"


def test_the_job_is_registered_for_arq_and_the_in_process_runner(settings):
    from app.runtime import in_process_runner
    from workers.main import WorkerSettings

    runner = in_process_runner(settings, periodic=True)
    assert {"run_import", "resume_imports_job"} <= set(runner.functions)
    assert "resume_imports_job" in {p.function for p in runner.periodic}
    names = [getattr(f, "name", getattr(f, "__name__", "")) for f in WorkerSettings.functions]
    assert "run_import" in names
    assert "cron:imports" in {c.name for c in WorkerSettings.cron_jobs}


async def test_an_import_whose_job_was_lost_is_sent_again(app, client, make_buyer, make_key):
    from dataclasses import replace
    from datetime import timedelta

    from tests.imports.test_ingest import RecordingQueue

    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    response = await _post(client, headers, b'{"marches": []}')
    import_id = response.json()["id"]
    queue = RecordingQueue()
    compliance = replace(app.state.compliance, jobs=queue)
    assert await service.resume_imports(compliance) == 0  # too young to be judged lost
    async with app.state.sessionmaker() as session:
        run = await session.get(ImportRun, uuid.UUID(import_id))
        assert run is not None
        run.created_at -= timedelta(minutes=5)
        session.add(run)
        await session.commit()
    assert await service.resume_imports(compliance) == 1
    assert queue.sent == [("run_import", (import_id,))]
    await _run_job(app, import_id)
    assert await service.resume_imports(compliance) == 0  # completed: nothing to resume
