"""POST /v1/suppliers/{siren}/uploads and POST /v1/documents/{id}/review: the path of a document
no source can deliver, from the contractor's upload to the officer's decision; every hostile
file refused with its code and nothing stored."""

import io
import json
import zipfile
from datetime import timedelta

import pytest

from app.compliance.models import RequirementState
from app.compliance.rules import RequirementStatus
from app.keys.models import Role
from tests.factories import random_siren
from tests.uploads import samples
from tests.uploads.conftest import TODAY, URSSAF, seed_supplier, state_of, stored


@pytest.fixture
def policy(app):
    return app.state.compliance.policy


def _files(content: bytes, name: str = "attestation.pdf", kind: str = "application/pdf"):
    return {"file": (name, content, kind)}


async def _upload(client, siren, headers, content, *, requirement="urssaf_vigilance", **data):
    return await client.post(
        f"/v1/suppliers/{siren}/uploads",
        files=_files(content),
        data={"requirement": requirement, **data},
        headers=headers,
    )


async def test_out_of_perimeter_upload_then_accept_makes_it_valid_and_archived(
    client, make_buyer, make_key, sessionmaker, policy
):
    buyer = await make_buyer("Commune de Dépôt")
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    assert (await state_of(sessionmaker, buyer.id, supplier.id)).status == "awaiting_upload"
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    officer = await make_key(Role.OFFICER, buyer=buyer)
    pdf = samples.attestation(siren, issued=TODAY - timedelta(days=10))

    r = await _upload(client, siren, contractor, pdf, security_code="A1B2C3D4E5F6G7H")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "under_review" and body["reason"] is None
    assert [b["buyer_siret"] for b in body["buyers"]] == [buyer.siret]
    assert body["buyers"][0]["requirement_status"] == "under_review"
    codes = {c["code"] for c in body["checks"]}
    assert {"pdf_signature", "not_encrypted", "no_active_content", "identity"} <= codes
    assert body["extracted"]["issued_on"] == (TODAY - timedelta(days=10)).isoformat()
    assert body["extracted"]["security_code"] == "A1B2C3D4E5F6G7H"
    assert (await state_of(sessionmaker, buyer.id, supplier.id)).status == "under_review"
    document_id = body["document_id"]

    r = await client.post(
        f"/v1/documents/{document_id}/review", json={"decision": "accept"}, headers=officer
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "valid"
    state = await state_of(sessionmaker, buyer.id, supplier.id)
    assert state.status == "valid" and str(state.document_id) == document_id
    # Six months from issue (D8222-5 1°), the day before.
    assert state.valid_until is not None and state.valid_until > TODAY + timedelta(days=150)

    # Byte-identical on download, and in the contract's dossier.
    r = await client.get(f"/v1/documents/{document_id}/content", headers=officer)
    assert r.status_code == 200 and r.content == pdf
    contract = (await client.get("/v1/contracts", headers=officer)).json()["items"][0]
    r = await client.get(f"/v1/contracts/{contract['id']}/dossier", headers=officer)
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(archive.read("manifest.json"))
    item = next(d for d in manifest["documents"] if d["document_id"] == document_id)
    assert archive.read(item["file"]) == pdf
    kinds = [e["kind"] for e in item["journal"]]
    assert kinds[:3] == ["document.archived", "upload.submitted", "upload.reviewed"]
    assert item["uploaded_by"].startswith("vg_")

    # Decided once.
    again = await client.post(
        f"/v1/documents/{document_id}/review",
        json={"decision": "reject", "reason": "x"},
        headers=officer,
    )
    assert again.status_code == 409 and again.json()["code"] == "already_reviewed"


async def test_every_hostile_file_is_refused_with_its_code_and_nothing_is_stored(
    client, make_buyer, make_key, sessionmaker, policy, settings
):
    buyer = await make_buyer()
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    cases = samples.hostile_files(settings.uploads.max_bytes, random_siren(), TODAY)
    assert len(cases) >= 25
    before = await stored(sessionmaker, settings.archive.dir)
    state_before = await state_of(sessionmaker, buyer.id, supplier.id)
    for name, file_name, declared, make, status, code in cases:
        r = await client.post(
            f"/v1/suppliers/{siren}/uploads",
            files={"file": (file_name, make(), declared)},
            data={"requirement": "urssaf_vigilance"},
            headers=contractor,
        )
        assert (r.status_code, r.headers["content-type"]) == (
            status,
            "application/problem+json",
        ), f"{name}: {r.status_code} {r.text[:300]}"
        assert r.json()["code"] == code, f"{name}: {r.json()}"
    assert await stored(sessionmaker, settings.archive.dir) == before
    after = await state_of(sessionmaker, buyer.id, supplier.id)
    assert (after.status, after.evidence) == (state_before.status, state_before.evidence)


async def test_an_oversized_declared_body_is_refused_before_it_is_read(
    client, make_buyer, make_key, sessionmaker, policy
):
    buyer = await make_buyer()
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    r = await client.post(
        f"/v1/suppliers/{siren}/uploads",
        content=b"x" * 100,
        headers={
            **contractor,
            "Content-Type": "multipart/form-data; boundary=zz",
            "Content-Length": str(50_000_000),
        },
    )
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"


async def test_an_old_attestation_is_rejected_automatically_and_the_requirement_is_left_alone(
    client, make_buyer, make_key, sessionmaker, policy
):
    buyer = await make_buyer()
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    old = samples.attestation(siren, issued=TODAY - timedelta(days=200), accents=False)
    r = await _upload(client, siren, contractor, old)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "rejected" and "six mois" in body["reason"]
    # Never a non-compliance of Vigie's own making: the requirement still waits for a document.
    assert body["buyers"][0]["requirement_status"] == "awaiting_upload"
    r = await client.get(
        f"/v1/suppliers/{siren}/compliance", headers=await make_key(Role.OFFICER, buyer=buyer)
    )
    assert r.status_code == 200 and r.json()["status"] != "non_compliant", r.text
    # An automatic rejection is not waiting for an officer.
    r = await client.post(
        f"/v1/documents/{body['document_id']}/review",
        json={"decision": "accept"},
        headers=await make_key(Role.OFFICER, buyer=buyer),
    )
    assert r.status_code == 409


async def test_file_once_answers_every_buyer_waiting_each_reviewing_its_own_copy(
    client, make_buyer, make_key, sessionmaker, policy
):
    siren = random_siren()
    buyers = [await make_buyer(n) for n in ("Alpha", "Bêta", "Gamma")]
    supplier = None
    for buyer in buyers[:2]:
        supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    assert supplier is not None
    # The third buyer has its URSSAF attestation already: it is not waiting.
    await seed_supplier(sessionmaker, buyers[2], siren, policy, unavailable=(), delivered=(URSSAF,))
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    pdf = samples.attestation(siren, issued=TODAY - timedelta(days=5))

    r = await _upload(client, siren, contractor, pdf)
    assert r.status_code == 201, r.text
    copies = r.json()["buyers"]
    assert sorted(c["buyer_siret"] for c in copies) == sorted(b.siret for b in buyers[:2])
    assert len({c["document_id"] for c in copies}) == 2  # one archived copy per buyer
    for buyer in buyers[:2]:
        assert (await state_of(sessionmaker, buyer.id, supplier.id)).status == "under_review"
    assert (await state_of(sessionmaker, buyers[2].id, supplier.id)).status == "valid"

    # Each buyer reviews its own copy, and sees only its own.
    alpha = await make_key(Role.OFFICER, buyer=buyers[0])
    beta_copy = next(c for c in copies if c["buyer_siret"] == buyers[1].siret)
    r = await client.post(
        f"/v1/documents/{beta_copy['document_id']}/review",
        json={"decision": "accept"},
        headers=alpha,
    )
    assert r.status_code == 404
    r = await client.post(
        f"/v1/documents/{beta_copy['document_id']}/review",
        json={"decision": "reject", "reason": "Attestation illisible en page 2"},
        headers=await make_key(Role.OFFICER, buyer=buyers[1]),
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await state_of(sessionmaker, buyers[0].id, supplier.id)).status == "under_review"

    # Naming the buyers: only those asking; a buyer not asking is refused, nothing stored.
    other = samples.attestation(siren, issued=TODAY - timedelta(days=4), code=None)
    r = await _upload(client, siren, contractor, other, buyers=[buyers[0].siret, "21750001600019"])
    assert r.status_code == 422 and r.json()["code"] == "buyer_not_requesting"
    r = await _upload(client, siren, contractor, other, buyers=buyers[2].siret)
    assert r.status_code == 201
    # A renewal for a requirement in order stays under review without undoing what is valid.
    assert r.json()["buyers"][0]["requirement_status"] == "valid"


async def test_who_may_upload_and_review(client, make_buyer, make_key, sessionmaker, policy):
    buyer, other_buyer = await make_buyer("Un"), await make_buyer("Deux")
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    other_supplier = await seed_supplier(sessionmaker, other_buyer, random_siren(), policy)
    pdf = samples.attestation(siren, issued=TODAY)
    # Another company's contractor key: the supplier does not exist for it.
    r = await _upload(
        client, siren, await make_key(Role.CONTRACTOR, supplier_id=other_supplier.id), pdf
    )
    assert r.status_code == 404
    # Another buyer's officer: not its supplier.
    r = await _upload(client, siren, await make_key(Role.OFFICER, buyer=other_buyer), pdf)
    assert r.status_code == 404
    # ERP keys do not upload; no key at all is a 401.
    r = await _upload(client, siren, await make_key(Role.ERP, buyer=buyer), pdf)
    assert r.status_code == 403
    r = await _upload(client, siren, {}, pdf)
    assert r.status_code == 401
    # An officer uploads on behalf of the contractor, for its own buyer.
    officer = await make_key(Role.OFFICER, buyer=buyer)
    r = await _upload(client, siren, officer, pdf)
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]
    # Contractors do not review; a refusal needs its reason; an unknown requirement is a 422.
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    r = await client.post(
        f"/v1/documents/{document_id}/review", json={"decision": "accept"}, headers=contractor
    )
    assert r.status_code == 403
    r = await client.post(
        f"/v1/documents/{document_id}/review", json={"decision": "reject"}, headers=officer
    )
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await client.post(
        f"/v1/documents/{document_id}/review", json={"decision": "maybe"}, headers=officer
    )
    assert r.status_code == 422
    r = await _upload(client, siren, officer, pdf, requirement="kbis")
    assert r.status_code == 422 and r.json()["code"] == "invalid_requirement"
    r = await client.post(
        f"/v1/suppliers/{siren}/uploads", data={"requirement": "urssaf_vigilance"}, headers=officer
    )
    assert r.status_code == 422 and r.json()["code"] == "missing_file"


async def test_rejection_by_the_officer_makes_the_requirement_rejected_with_its_reason(
    client, make_buyer, make_key, sessionmaker, policy
):
    buyer = await make_buyer()
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    officer = await make_key(Role.OFFICER, buyer=buyer)
    r = await _upload(client, siren, contractor, samples.attestation(siren, issued=TODAY))
    document_id = r.json()["document_id"]
    r = await client.post(
        f"/v1/documents/{document_id}/review",
        json={"decision": "reject", "reason": "Ce n'est pas la bonne entreprise"},
        headers=officer,
    )
    assert r.status_code == 200 and r.json()["status"] == RequirementStatus.REJECTED
    state: RequirementState = await state_of(sessionmaker, buyer.id, supplier.id)
    assert state.status == "rejected"
    assert any(reason["code"] == "document_rejected" for reason in state.reasons)
