# ruff: noqa: F811 (sign_in is the fixture imported below)
"""An uploaded URSSAF attestation's security code verified with URSSAF (the in-process sandbox,
`URSSAF__SANDBOX=true`): valid for the supplier → « code vérifié » and URSSAF's answer kept in
the checks; unknown, another company's or expired → a strong warning in the 201 `checks` and on
the review page, never a rejection by itself; not configured → no call, « code non vérifié »."""

import uuid
from datetime import timedelta

import pytest

from app.config import Settings, UrssafSettings
from app.db import unit_of_work
from app.integrations.urssaf.sandbox import OTHER_SIREN
from app.keys.models import Role
from app.runtime import UnsafeConfiguration, refuse_unsafe_production
from app.uploads.models import Upload
from app.users.models import UserRole
from tests.factories import random_siren
from tests.uploads import samples
from tests.uploads.conftest import TODAY, seed_supplier, state_of
from tests.web.conftest import sign_in  # noqa: F401 (the fixture, for the review page)


@pytest.fixture
def urssaf_sandbox() -> bool:
    return True


@pytest.fixture
def settings(settings: Settings, urssaf_sandbox: bool) -> Settings:
    return settings.model_copy(update={"urssaf": UrssafSettings(sandbox=urssaf_sandbox)})


async def _submit(client, sign_in, sessionmaker, make_key, app, code):
    officer = await sign_in(role=UserRole.OFFICER)
    siren = random_siren()
    policy = app.state.compliance.policy
    supplier = await seed_supplier(sessionmaker, officer.buyer, siren, policy)
    contractor = await make_key(Role.CONTRACTOR, supplier_id=supplier.id)
    pdf = samples.attestation(siren, issued=TODAY - timedelta(days=10), code=code)
    r = await client.post(
        f"/v1/suppliers/{siren}/uploads",
        files={"file": ("attestation.pdf", pdf, "application/pdf")},
        data={"requirement": "urssaf_vigilance"},
        headers=contractor,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    # Never a rejection by itself: the officer decides.
    assert body["status"] == "under_review" and body["reason"] is None
    assert (await state_of(sessionmaker, officer.buyer.id, supplier.id)).status == "under_review"
    upload_id = uuid.UUID(body["buyers"][0]["upload_id"])
    async with unit_of_work(sessionmaker) as session:
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        verified = upload.code_verified
    check = next(c for c in body["checks"] if c["code"] == "code_verification")
    page = await officer.client.get(f"/revue/{upload_id}")
    assert page.status_code == 200 and code in page.text
    return siren, check, verified, page.text


async def test_a_valid_code_of_the_supplier_is_verified_and_the_answer_kept(
    client, sign_in, sessionmaker, make_key, app
):
    siren, check, verified, page = await _submit(
        client, sign_in, sessionmaker, make_key, app, "A1B2C3D4E5F6G7H"
    )
    assert check["ok"] is True and check["label"] == "Code vérifié auprès de l'URSSAF"
    assert check["outcome"] == "valide" and check["answer"]["siren"] == siren
    assert verified is True
    assert (
        "code vérifié auprès de l&#39;URSSAF" in page or "code vérifié auprès de l'URSSAF" in page
    )
    assert "code non vérifié" not in page and "Attention" not in page


@pytest.mark.parametrize(
    ("code", "outcome", "words"),
    [
        ("A1B2C3D4E5F6G70", "inconnue", "Code inconnu de l"),
        ("A1B2C3D4E5F6G78", "valide", f"autre entreprise (SIREN {OTHER_SIREN})"),
        ("A1B2C3D4E5F6G79", "perimee", "attestation est périmée"),
    ],
)
async def test_an_unknown_foreign_or_expired_code_is_a_strong_warning_not_a_rejection(
    client, sign_in, sessionmaker, make_key, app, code, outcome, words
):
    _siren, check, verified, page = await _submit(
        client, sign_in, sessionmaker, make_key, app, code
    )
    assert check["ok"] is False and check["warning"] is True and check["outcome"] == outcome
    assert words in check["label"]
    assert verified is False
    assert "Attention" in page and "code vérifié auprès" not in page
    assert "Accepter" in page  # the officer still decides


async def test_an_incomplete_answer_leaves_the_code_unverified(
    client, sign_in, sessionmaker, make_key, app
):
    _siren, check, verified, page = await _submit(
        client, sign_in, sessionmaker, make_key, app, "A1B2C3D4E5F6G77"
    )
    assert check == {"code": "code_verification", "label": "Code non vérifié", "ok": None}
    assert verified is None and "code non vérifié" in page


@pytest.mark.parametrize("urssaf_sandbox", [False])
async def test_without_configuration_no_call_is_made_and_the_code_is_not_verified(
    client, sign_in, sessionmaker, make_key, app
):
    assert app.state.runtime.urssaf is None
    _siren, check, verified, page = await _submit(
        client, sign_in, sessionmaker, make_key, app, "A1B2C3D4E5F6G70"
    )
    assert check["ok"] is None and check["label"] == "Code non vérifié"
    assert verified is None
    assert "code non vérifié" in page and "verification-attestation" in page


def test_production_refuses_the_urssaf_sandbox():
    settings = Settings(
        environment="production",
        secret_key="x" * 40,
        api_entreprise={"base_url": "https://entreprise.api.gouv.fr", "token": "t"},
        urssaf={"sandbox": True},
    )
    with pytest.raises(UnsafeConfiguration, match="URSSAF__SANDBOX"):
        refuse_unsafe_production(settings)
