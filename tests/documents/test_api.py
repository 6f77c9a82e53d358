import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.db import unit_of_work
from app.documents.archive import Archive, archive_document
from app.documents.crypto import Keyring, new_master_key
from app.documents.models import JournalEntry
from app.documents.storage import LocalStorage
from app.keys.models import Role
from app.suppliers.models import Supplier
from tests.documents.conftest import fake_pdf
from tests.factories import contract_payload, prefix_of, random_siren, random_siret


@pytest.fixture
def api_archive(app, tmp_path) -> Archive:
    archive = Archive(LocalStorage(tmp_path / "api-archive"), Keyring([new_master_key("t")]))
    app.state.archive = archive
    return archive


@pytest.fixture
async def world(client, sessionmaker, make_buyer, make_key, api_archive):
    buyer, other = await make_buyer(), await make_buyer("Autre commune")
    officer = await make_key(Role.OFFICER, buyer=buyer)
    siret = random_siret()
    payload = contract_payload(holders=[{"siret": siret}], notified_on="2026-03-02")
    response = await client.post("/v1/contracts", json=payload, headers=officer)
    assert response.status_code == 201, response.text
    contract_id = response.json()["id"]
    async with unit_of_work(sessionmaker) as session:
        supplier = (await session.exec(select(Supplier).where(Supplier.siren == siret[:9]))).one()

        async def put(n: int, buyer_id, obtained: datetime, media="application/pdf", body=None):
            return await archive_document(
                session,
                api_archive,
                content=body or fake_pdf(n),
                media_type=media,
                doc_type="attestation_urssaf" if media == "application/pdf" else "insee_sirene",
                supplier_id=supplier.id,
                buyer_id=buyer_id,
                source_endpoint="/v4/urssaf/unites_legales/x/attestation_vigilance",
                request_id=f"req-{n}",
                uploaded_by=None,
                obtained_at=obtained,
                valid_from=None,
                valid_until=None,
                security_code=None,
            )

        in_period = [
            await put(1, buyer.id, datetime(2026, 3, 1, 9, tzinfo=UTC)),
            await put(
                2,
                buyer.id,
                datetime(2026, 9, 1, 9, tzinfo=UTC),
                "application/json",
                b'{"etat_administratif":"A","siren":"' + siret[:9].encode() + b'"}',
            ),
        ]
        too_old = await put(3, buyer.id, datetime(2025, 1, 1, 9, tzinfo=UTC))
        foreign = await put(4, other.id, datetime(2026, 5, 1, 9, tzinfo=UTC))
    return {
        "buyer": buyer,
        "officer": officer,
        "other_officer": await make_key(Role.OFFICER, buyer=other),
        "erp": await make_key(Role.ERP, buyer=buyer),
        "contractor": await make_key(Role.CONTRACTOR, supplier_id=supplier.id),
        "admin": await make_key(Role.ADMIN),
        "siren": siret[:9],
        "contract_id": contract_id,
        "in_period": in_period,
        "too_old": too_old,
        "foreign": foreign,
    }


async def test_list_is_scoped_to_the_buyer(client, world) -> None:
    url = f"/v1/suppliers/{world['siren']}/documents"
    mine = await client.get(url, headers=world["officer"])
    assert mine.status_code == 200
    ids = {d["id"] for d in mine.json()["items"]}
    assert ids == {str(d.id) for d in [*world["in_period"], world["too_old"]]}
    theirs = await client.get(url, headers=world["contractor"])
    assert {d["id"] for d in theirs.json()["items"]} == ids | {str(world["foreign"].id)}
    for key in ("admin",):
        assert (await client.get(url, headers=world[key])).status_code == 404
    nobody = await client.get(f"/v1/suppliers/{random_siren()}/documents", headers=world["officer"])
    assert nobody.status_code == 404
    zeros = await client.get("/v1/suppliers/000000000/documents", headers=world["officer"])
    assert zeros.status_code == 422  # no company has it (issue 14): not a SIREN at all


async def test_metadata_visible_to_owner_404_to_others(client, world) -> None:
    doc = world["in_period"][0]
    url = f"/v1/documents/{doc.id}"
    for key in ("officer", "erp", "contractor"):
        response = await client.get(url, headers=world[key])
        assert response.status_code == 200, key
        assert response.json()["sha256"] == doc.sha256
        assert response.json()["request_id"] == "req-1"
    for key in ("other_officer", "admin"):
        response = await client.get(url, headers=world[key])
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "document_not_found"
    foreign = await client.get(f"/v1/documents/{world['foreign'].id}", headers=world["officer"])
    assert foreign.status_code == 404


async def test_download_is_identical_and_journaled(client, world, sessionmaker, api_archive):
    doc = world["in_period"][0]
    response = await client.get(
        f"/v1/documents/{doc.id}/content", headers={**world["erp"], "X-Request-ID": "dl-1"}
    )
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == doc.sha256
    assert response.headers["x-content-sha256"] == doc.sha256
    assert response.headers["repr-digest"].startswith("sha-256=:")
    assert response.headers["content-type"] == "application/pdf"
    async with unit_of_work(sessionmaker) as session:
        entries = (
            await session.exec(
                select(JournalEntry).where(
                    JournalEntry.subject == f"document:{doc.id}",
                    JournalEntry.kind == "document.downloaded",
                )
            )
        ).all()
    prefix = prefix_of(world["erp"]["Authorization"])
    assert [(e.data["key_prefix"], e.data["request_id"]) for e in entries] == [(prefix, "dl-1")]
    denied = await client.get(f"/v1/documents/{doc.id}/content", headers=world["other_officer"])
    assert denied.status_code == 404


async def test_dossier_zip_and_manifest(client, world) -> None:
    url = f"/v1/contracts/{world['contract_id']}/dossier"
    response = await client.get(url, headers=world["officer"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(zf.read("manifest.json"))
    assert {d["document_id"] for d in manifest["documents"]} == {
        str(d.id) for d in world["in_period"]
    }
    for item in manifest["documents"]:
        assert hashlib.sha256(zf.read(item["file"])).hexdigest() == item["sha256"]
        assert item["journal"][0]["kind"] == "document.archived"
    assert any(f.endswith(".json") for f in zf.namelist())
    for key in ("other_officer", "contractor", "admin"):
        assert (await client.get(url, headers=world[key])).status_code == 404


async def test_first_start_creates_the_key_file_0600(app, settings) -> None:
    path = settings.archive.key_file
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    assert app.state.archive.keyring.current.kid in path.read_text()
