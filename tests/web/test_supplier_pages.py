"""`/fournisseurs` and `/fournisseurs/{siren}` as an officer uses them: statuses, filters, search,
sort, pages, the CSV of the view, a supplier's requirements, documents, contracts and timeline,
the re-check button, and another buyer's supplier or document as a 404 page.

The buyer's state is seeded through the domain: contracts by `create_contract`, requirement rows
by the planner (`sync_pairs`), evidence judged by the rules (status, reasons, status events), a
document archived in the real (encrypted) archive."""

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.evaluation import evidence_to_json, today_in_paris
from app.compliance.models import Check, RequirementState, RunState
from app.compliance.planner import sync_pairs
from app.compliance.rules import CompliancePolicy, Evidence, EvidenceKind, RequirementType
from app.contracts.models import ContractCreate, HolderIn
from app.contracts.service import create_contract
from app.db import SessionMaker, unit_of_work
from app.documents.archive import archive_document
from app.documents.models import JournalEntry
from app.suppliers import queries as suppliers
from app.users.models import UserRole
from app.web.templating import date_fr, money
from tests.factories import random_siren, random_siret
from tests.web.conftest import csrf_of

ORIGIN = {"Origin": "http://testserver"}
TODAY = today_in_paris(utcnow())
NOTIFIED = TODAY - timedelta(days=10)
PDF = b"%PDF-1.4\n% attestation de vigilance de test\n%%EOF\n"


def delivered(day: date = NOTIFIED) -> Evidence:
    return Evidence(
        kind=EvidenceKind.DELIVERED,
        obtained_on=day,
        issued_on=day,
        valid_from=day,
        valid_until=day + timedelta(days=120),
    )


# name → the URSSAF evidence (the other requirements delivered); None: never checked at all.
SUPPLIERS: dict[str, Evidence | None] = {
    "Alpha Nettoyage": delivered(),  # compliant
    "Bêta Travaux": Evidence(kind=EvidenceKind.REFUSED, obtained_on=NOTIFIED),  # non_compliant
    "Gamma Services": Evidence(
        kind=EvidenceKind.PENDING, obtained_on=TODAY, retry_on=TODAY + timedelta(days=2)
    ),  # at_risk: upstream_pending
    "Électricité Épsilon": Evidence(kind=EvidenceKind.UNAVAILABLE, obtained_on=NOTIFIED),
    "Delta Nouveau": None,  # not_checked
}
EXPECTED = {
    "Alpha Nettoyage": "compliant",
    "Bêta Travaux": "non_compliant",
    "Gamma Services": "at_risk",
    "Électricité Épsilon": "at_risk",
    "Delta Nouveau": "not_checked",
}


@dataclass
class Seeded:
    buyer: Buyer
    sirens: dict[str, str]  # name → SIREN
    sirets: dict[str, str]  # name → the SIRET on the contract
    contracts: dict[str, uuid.UUID]  # name → its contract
    document_id: uuid.UUID  # Alpha's URSSAF attestation
    foreign_key: str = ""
    extra: dict[str, object] = field(default_factory=dict)


async def seed_buyer(app, sessionmaker: SessionMaker, buyer: Buyer) -> Seeded:  # type: ignore[no-untyped-def]
    """One contract per supplier of SUPPLIERS (plus a foreign one), their rows planned, their
    evidence judged; Alpha's URSSAF attestation archived and one check recorded for it."""
    policy = CompliancePolicy()
    archive = app.state.compliance.archive
    sirens, sirets, contracts, saved_all = {}, {}, {}, []
    async with unit_of_work(sessionmaker) as session:
        for i, name in enumerate(SUPPLIERS):
            siren = random_siren()
            siret = random_siret(siren)
            saved = await create_contract(
                session,
                buyer.id,
                ContractCreate(
                    reference=f"M-2026-{i:03d}",
                    object=f"Marché de {name}",
                    amount_ht=Decimal("48000.00"),
                    notified_on=NOTIFIED,
                    duration_months=24,
                    holders=[HolderIn(siret=siret, name=name)],
                ),
                threshold=Decimal("5000"),
            )
            sirens[name], sirets[name], contracts[name] = siren, siret, saved.contract.id
            saved_all.append(saved)
        foreign = await create_contract(
            session,
            buyer.id,
            ContractCreate(
                reference="M-2026-DE",
                object="Ingénierie",
                amount_ht=Decimal("90000.00"),
                notified_on=NOTIFIED,
                duration_months=12,
                holders=[HolderIn(foreign_id="hrb 12345", country="DE", name="Müller GmbH")],
            ),
            threshold=Decimal("5000"),
        )
        supplier_ids = {h.name: h.supplier_id for h in _holders(*saved_all, foreign)}
        pairs = [(buyer.id, sid) for sid in supplier_ids.values()]
        await sync_pairs(session, pairs, policy=policy)
        rows = (
            await session.exec(
                select(RequirementState).where(RequirementState.buyer_id == buyer.id)
            )
        ).all()
        by_supplier = {sid: name for name, sid in supplier_ids.items()}
        document_id = None
        for row in rows:
            name = by_supplier.get(row.supplier_id)
            urssaf = SUPPLIERS.get(name or "")
            if name not in SUPPLIERS or urssaf is None:
                continue
            evidence = (
                urssaf if row.requirement == RequirementType.URSSAF_VIGILANCE else delivered()
            )
            if name == "Alpha Nettoyage" and row.requirement == RequirementType.URSSAF_VIGILANCE:
                doc = await archive_document(
                    session,
                    archive,
                    content=PDF,
                    media_type="application/pdf",
                    doc_type=row.requirement,
                    supplier_id=row.supplier_id,
                    buyer_id=buyer.id,
                    source_endpoint="/v4/urssaf/unites_legales/x/attestation_vigilance",
                    request_id="req-1",
                    uploaded_by=None,
                    obtained_at=utcnow(),
                    valid_from=NOTIFIED,
                    valid_until=NOTIFIED + timedelta(days=120),
                    security_code=None,
                )
                document_id = doc.id
                evidence = Evidence(**{**evidence_fields(evidence), "document_id": str(doc.id)})
                row.document_id = doc.id
                session.add(
                    Check(
                        buyer_id=buyer.id,
                        supplier_id=row.supplier_id,
                        requirement=row.requirement,
                        due_on=NOTIFIED,
                        outcome="delivered",
                        done=True,
                        attempts=1,
                        finished_at=utcnow(),
                    )
                )
            row.evidence = evidence_to_json(evidence)
            row.last_checked_at, row.served_due_on = utcnow(), NOTIFIED
            session.add(row)
        await session.flush()
        await sync_pairs(session, pairs, policy=policy, why="Vérification de test")
    assert document_id is not None
    return Seeded(buyer, sirens, sirets, contracts, document_id, foreign_key="DEHRB12345")


def evidence_fields(evidence: Evidence) -> dict[str, object]:
    return {f: getattr(evidence, f) for f in evidence.__dataclass_fields__}


def _holders(*saved):  # type: ignore[no-untyped-def]
    for s in saved:
        yield from s.contract.holders


@pytest.fixture
async def seeded(app, sessionmaker, make_buyer):  # type: ignore[no-untyped-def]
    return await seed_buyer(app, sessionmaker, await make_buyer("Commune de Fournisseurs"))


def _names(html: str) -> list[str]:
    """The suppliers of the list's table, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    out = []
    for chunk in body.split('<th scope="row">')[1:]:
        link = chunk.split("</a>", 1)[0]
        out.append(link.rsplit(">", 1)[1])
    return out


async def test_the_list_shows_every_supplier_with_its_status(sign_in, seeded):
    officer = await sign_in(buyer=seeded.buyer)
    page = await officer.client.get("/fournisseurs")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<title>Fournisseurs — Vigie</title>" in html and html.count("<h1>") == 1
    names = _names(html)
    assert sorted(names) == sorted([*SUPPLIERS, "Müller GmbH"])
    # Sorted by name without regard to case or accents: Électricité between Delta and Gamma.
    assert names == [
        "Alpha Nettoyage",
        "Bêta Travaux",
        "Delta Nouveau",
        "Électricité Épsilon",
        "Gamma Services",
        "Müller GmbH",
    ]
    for name, status in EXPECTED.items():
        row = html.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0]
        assert f'class="status status--{status}"' in row, (name, row)
        assert 'aria-hidden="true"' in row  # an icon beside the label, never colour alone
    refused = html.split(">Bêta Travaux</a>", 1)[1].split("</tr>", 1)[0]
    assert "Attestation refusée par l&#39;URSSAF" in refused
    assert f'href="/fournisseurs/{seeded.sirens["Bêta Travaux"]}"' in html
    assert 'href="/fournisseurs/DEHRB12345"' in html
    assert 'href="/fournisseurs.csv"' in html


async def test_filters_search_and_sort(sign_in, seeded):
    client = (await sign_in(buyer=seeded.buyer)).client

    async def names(**params: object) -> list[str]:
        page = await client.get("/fournisseurs", params=params)
        assert page.status_code == 200, page.text
        return _names(page.text) if "<tbody>" in page.text else []

    # A foreign supplier's documents await its upload: at risk too.
    assert await names(statut="at_risk") == ["Électricité Épsilon", "Gamma Services", "Müller GmbH"]
    assert sorted(await names(statut=["non_compliant", "compliant"])) == [
        "Alpha Nettoyage",
        "Bêta Travaux",
    ]
    # The worst first, then by name.
    by_status = await names(tri="statut")
    assert by_status[:4] == ["Bêta Travaux", "Électricité Épsilon", "Gamma Services", "Müller GmbH"]
    assert by_status[-1] == "Alpha Nettoyage"
    # Search: a part of a name without accents, a SIREN, a SIRET, its first digits.
    assert await names(q="electricite") == ["Électricité Épsilon"]
    assert await names(q="  BÊTA ") == ["Bêta Travaux"]
    assert await names(q=seeded.sirens["Gamma Services"]) == ["Gamma Services"]
    siren = seeded.sirens["Alpha Nettoyage"]
    assert await names(q=f"{siren[:3]} {siren[3:6]} {siren[6:]}") == ["Alpha Nettoyage"]
    assert await names(q=seeded.sirets["Delta Nouveau"]) == ["Delta Nouveau"]
    assert await names(q="nobody at all") == []
    # The requirement: suppliers that must provide it (a foreign one has its own list).
    assert await names(exigence="foreign_vat") == ["Müller GmbH"]
    assert "Müller GmbH" not in await names(exigence="urssaf_vigilance")
    # …with that requirement's own status in a column of its own.
    urssaf = (await client.get("/fournisseurs", params={"exigence": "urssaf_vigilance"})).text
    assert '<th scope="col">L&#39;attestation de vigilance URSSAF</th>' in urssaf
    beta = urssaf.split(">Bêta Travaux</a>", 1)[1].split("</tr>", 1)[0]
    assert "status--non_compliant" in beta and "status--refused" in beta
    gamma = urssaf.split(">Gamma Services</a>", 1)[1].split("</tr>", 1)[0]
    assert "status--upstream_pending" in gamma
    # The form shows the filters back; a value outside the choices is a 422 page, not a 500.
    page = await client.get("/fournisseurs", params={"statut": "at_risk", "q": "gam"})
    assert 'value="at_risk" checked' in page.text and 'value="gam"' in page.text
    assert 'href="/fournisseurs.csv?statut=at_risk&amp;q=gam"' in page.text
    bad = await client.get("/fournisseurs", params={"statut": "lost"})
    assert bad.status_code == 422 and "lost" in bad.text and 'lang="fr"' in bad.text


async def test_pages_of_fifty(sign_in, seeded, monkeypatch):
    monkeypatch.setattr(suppliers, "PAGE_SIZE", 2)
    client = (await sign_in(buyer=seeded.buyer)).client
    first = await client.get("/fournisseurs")
    assert _names(first.text) == ["Alpha Nettoyage", "Bêta Travaux"]
    assert 'aria-label="Pages de la liste des fournisseurs"' in first.text
    assert '<a href="/fournisseurs?page=1" aria-current="page">' in first.text
    assert 'href="/fournisseurs?page=2" rel="next"' in first.text
    third = await client.get("/fournisseurs", params={"page": 3, "tri": "nom"})
    assert _names(third.text) == ["Gamma Services", "Müller GmbH"]
    assert "(page 3 sur 3)" in third.text and 'rel="next"' not in third.text
    assert 'href="/fournisseurs?page=2" rel="prev"' in third.text
    # Past the last page: the last page.
    assert _names((await client.get("/fournisseurs?page=40")).text) == _names(third.text)


async def test_the_csv_is_the_current_view_for_a_french_spreadsheet(sign_in, seeded):
    client = (await sign_in(buyer=seeded.buyer)).client
    answer = await client.get("/fournisseurs.csv", params={"statut": ["at_risk", "non_compliant"]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["SIREN ou identifiant", "Fournisseur", "Statut"]
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {"Bêta Travaux", "Gamma Services", "Électricité Épsilon", "Müller GmbH"}
    assert by_name["Müller GmbH"][0] == "DE HRB12345"  # kept as addresses name it
    beta = by_name["Bêta Travaux"]
    assert beta[0] == seeded.sirens["Bêta Travaux"] and beta[2] == "Non conforme"
    assert beta[6] == "M-2026-001" and "refuse" in beta[7]
    assert by_name["Gamma Services"][5].count("/") in (0, 2)  # a French date or nothing
    every = await client.get("/fournisseurs.csv")
    assert len(every.content.decode("utf-8-sig").splitlines()) == 1 + len(SUPPLIERS) + 1


async def test_the_csv_neutralises_formulas(sign_in, sessionmaker, make_buyer):
    buyer = await make_buyer("Commune Piégée")
    async with unit_of_work(sessionmaker) as session:
        await create_contract(
            session,
            buyer.id,
            ContractCreate(
                reference="=1+1",
                object="Piège",
                amount_ht=Decimal("9000"),
                notified_on=NOTIFIED,
                duration_months=12,
                holders=[HolderIn(siren=random_siren(), name='=HYPERLINK("http://x")')],
            ),
            threshold=Decimal("5000"),
        )
    client = (await sign_in(buyer=buyer)).client
    text = (await client.get("/fournisseurs.csv")).content.decode("utf-8-sig")
    line = text.splitlines()[1]
    assert ";'=HYPERLINK(" in line.replace('"', "") and ";'=1+1;" in line.replace('"', "")


async def test_a_supplier_page_explains_each_requirement(sign_in, seeded):
    client = (await sign_in(buyer=seeded.buyer)).client
    siren = seeded.sirens["Bêta Travaux"]
    page = await client.get(f"/fournisseurs/{siren}")
    assert page.status_code == 200, page.text
    html = page.text
    assert f"<title>Bêta Travaux ({siren}) — Fournisseurs — Vigie</title>" in html
    assert html.count("<h1>") == 1 and 'class="status status--non_compliant"' in html
    assert "L&#39;attestation de vigilance URSSAF" in html
    assert "Attestation refusée par l&#39;URSSAF" in html  # the reason's label…
    assert "Code du travail, art. D8222-5, 1°" in html  # …and the article of law
    assert seeded.sirets["Bêta Travaux"] in html  # the establishment of the contract
    contract = seeded.contracts["Bêta Travaux"]
    assert f'href="/contrats/{contract}">M-2026-001</a>' in html
    assert money(Decimal("48000")) in html  # 48 000,00 € (Babel's French spaces)
    # The timeline: the status changes with their dates.
    timeline = html.split('class="timeline"', 1)[1]
    assert "Nouveau statut" in timeline and "status--refused" in timeline
    assert "<time datetime=" in timeline
    assert f'action="/fournisseurs/{siren}/verifier"' in html and "Vérifier maintenant" in html
    # The contractor portal's section (its uploads, `Inviter le titulaire`) has its place.
    assert "Documents déposés par le titulaire" in html
    assert f'action="/fournisseurs/{siren}/inviter"' in html
    # A SIRET names its company.
    assert (await client.get(f"/fournisseurs/{seeded.sirets['Bêta Travaux']}")).status_code == 200


async def test_the_document_downloads_for_this_buyer_only(
    sign_in, seeded, make_buyer, sessionmaker
):
    officer = await sign_in(buyer=seeded.buyer)
    siren = seeded.sirens["Alpha Nettoyage"]
    page = await officer.client.get(f"/fournisseurs/{siren}")
    link = f"/fournisseurs/{siren}/documents/{seeded.document_id}"
    assert f'href="{link}"' in page.text
    timeline = page.text.split('class="timeline"', 1)[1]
    assert "document obtenu" in timeline  # the recorded check
    answer = await officer.client.get(link)
    assert answer.status_code == 200 and answer.content == PDF
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "private, no-store"
    # Through another supplier's address: not this one's document.
    other = seeded.sirens["Bêta Travaux"]
    wrong = await officer.client.get(f"/fournisseurs/{other}/documents/{seeded.document_id}")
    assert wrong.status_code == 404
    # Another buyer: a 404 page for the supplier, its document and its re-check.
    stranger = await sign_in(buyer=await make_buyer("Autre commune"), email="x@autre.fr")
    for path in (f"/fournisseurs/{siren}", link):
        answer = await stranger.client.get(path)
        assert answer.status_code == 404 and "Page introuvable" in answer.text, path
        assert answer.content != PDF
    csrf = csrf_of((await stranger.client.get("/fournisseurs")).text)
    post = await stranger.client.post(
        f"/fournisseurs/{siren}/verifier", data={"csrf_token": csrf}, headers=ORIGIN
    )
    assert post.status_code == 404
    assert "Alpha Nettoyage" not in (await stranger.client.get("/fournisseurs")).text
    # The download is in the evidence journal, with who made it.
    async with unit_of_work(sessionmaker) as session:
        entries = (
            await session.exec(
                select(JournalEntry).where(JournalEntry.kind == "document.downloaded")
            )
        ).all()
    assert [e.data["key_prefix"] for e in entries] == [f"user:{officer.user.id}"]


async def test_a_foreign_supplier_has_its_page(sign_in, seeded):
    client = (await sign_in(buyer=seeded.buyer)).client
    page = await client.get("/fournisseurs/DEHRB12345")
    assert page.status_code == 200, page.text
    assert "Müller GmbH" in page.text and "HRB12345" in page.text
    assert "Le justificatif de numéro de TVA" in page.text


async def test_bad_identifiers_are_404_pages(sign_in, seeded):
    client = (await sign_in(buyer=seeded.buyer)).client
    for path in (
        "/fournisseurs/12345678",
        "/fournisseurs/100000008",
        "/fournisseurs/FR12345678901",
        f"/fournisseurs/{random_siren()}",  # valid, but not one of ours
        f"/fournisseurs/{seeded.sirens['Alpha Nettoyage']}/documents/pas-un-id",
        f"/fournisseurs/{seeded.sirens['Alpha Nettoyage']}/documents/{uuid.uuid4()}",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert 'lang="fr"' in answer.text and "Page introuvable" in answer.text


async def test_recheck_needs_the_token_then_queues_the_check(sign_in, seeded, sessionmaker):
    officer = await sign_in(buyer=seeded.buyer, role=UserRole.ADMIN)
    siren = seeded.sirens["Gamma Services"]
    page = await officer.client.get(f"/fournisseurs/{siren}")
    # Without the token (or from another site): refused, nothing queued.
    refused = await officer.client.post(f"/fournisseurs/{siren}/verifier", headers=ORIGIN)
    assert refused.status_code == 403 and "Accès refusé" in refused.text
    cross = await officer.client.post(
        f"/fournisseurs/{siren}/verifier",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Origin": "https://ailleurs.example"},
    )
    assert cross.status_code == 403
    supplier_id = await _supplier_id(sessionmaker, siren)
    assert await _run_states(sessionmaker, seeded.buyer.id, supplier_id) == {RunState.IDLE}
    # With it: the check is claimed and queued, and the page says so (PRG).
    answer = await officer.client.post(
        f"/fournisseurs/{siren}/verifier", data={"csrf_token": csrf_of(page.text)}, headers=ORIGIN
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/fournisseurs/{siren}?verification=demandee"
    assert RunState.QUEUED in await _run_states(sessionmaker, seeded.buyer.id, supplier_id)
    back = await officer.client.get(answer.headers["location"])
    assert "Vérification demandée" in back.text and 'role="status"' in back.text
    # Asking again while it is queued: the same check, said so.
    again = await officer.client.post(
        f"/fournisseurs/{siren}/verifier", data={"csrf_token": csrf_of(page.text)}, headers=ORIGIN
    )
    assert again.headers["location"].endswith("verification=en_cours")


async def _supplier_id(sessionmaker, siren):  # type: ignore[no-untyped-def]
    from app.suppliers.models import Supplier

    async with unit_of_work(sessionmaker) as session:
        return (await session.exec(select(Supplier.id).where(Supplier.siren == siren))).one()


async def _run_states(sessionmaker, buyer_id, supplier_id):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        query = select(RequirementState.run_state).where(
            RequirementState.buyer_id == buyer_id,
            RequirementState.supplier_id == supplier_id,
            RequirementState.active,
        )
        return set((await session.exec(query)).all())


async def test_signed_out_visitors_are_sent_to_sign_in(app, seeded):
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        siren = seeded.sirens["Alpha Nettoyage"]
        for path in (
            "/fournisseurs",
            "/fournisseurs.csv",
            f"/fournisseurs/{siren}",
            f"/fournisseurs/{siren}/documents/{seeded.document_id}",
        ):
            answer = await client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/connexion?suivant="), path
        post = await client.post(f"/fournisseurs/{siren}/verifier", headers=ORIGIN)
        assert post.status_code == 403  # no CSRF cookie yet: refused before anything runs


async def test_an_empty_buyer_has_an_empty_list(sign_in):
    client = (await sign_in()).client
    page = await client.get("/fournisseurs")
    assert page.status_code == 200 and "Aucun fournisseur pour l'instant" in page.text
    csv_text = (await client.get("/fournisseurs.csv")).content.decode("utf-8-sig")
    assert csv_text.splitlines() == [";".join(suppliers.CSV_COLUMNS)]


async def test_recheck_while_the_queue_is_down_is_a_503_page(sign_in, seeded, monkeypatch, app):
    officer = await sign_in(buyer=seeded.buyer)
    siren = seeded.sirens["Alpha Nettoyage"]
    page = await officer.client.get(f"/fournisseurs/{siren}")

    async def down() -> bool:
        return False

    monkeypatch.setattr(app.state.compliance.jobs, "ready", down)
    answer = await officer.client.post(
        f"/fournisseurs/{siren}/verifier", data={"csrf_token": csrf_of(page.text)}, headers=ORIGIN
    )
    assert answer.status_code == 503 and answer.headers["retry-after"] == "60"
    assert 'lang="fr"' in answer.text and "Service momentanément indisponible" in answer.text


async def test_the_list_agrees_with_the_api(sign_in, seeded, make_key, client, sessionmaker):
    """Each supplier's status in the list is the one `GET /v1/suppliers/{siren}/compliance`
    gives (the same rules on the same rows), with the same reasons."""
    from app.compliance.rules import CompliancePolicy
    from app.keys.models import Role

    headers = await make_key(Role.OFFICER, buyer=seeded.buyer)
    async with unit_of_work(sessionmaker) as session:
        rows = await suppliers.supplier_rows(
            session, seeded.buyer.id, suppliers.SupplierFilters(), policy=CompliancePolicy()
        )
    assert len(rows) == len(SUPPLIERS) + 1
    # Foreign suppliers too: `hrb 12345` is recorded as HRB12345, the API's DEHRB12345.
    for row in rows:
        answer = await client.get(f"/v1/suppliers/{row.key}/compliance", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == row.status.value, row.name
        assert [r["code"] for r in body["reasons"]] == [r.code for r in row.reasons], row.name
        assert body["non_compliant_on"] == (
            row.non_compliant_on.isoformat() if row.non_compliant_on else None
        )


async def test_sorted_by_next_check(sign_in, seeded, sessionmaker):
    """The soonest check first; a supplier with none planned last."""
    from datetime import datetime, time

    from app.compliance.evaluation import PARIS

    # Delta (never checked) is due since the notification, ten days ago; Gamma's checks were
    # due twenty days ago (a source's wait, say): the most overdue first.
    soon = datetime.combine(TODAY - timedelta(days=20), time(9), PARIS)
    supplier_id = await _supplier_id(sessionmaker, seeded.sirens["Gamma Services"])
    async with unit_of_work(sessionmaker) as session:
        rows = (
            await session.exec(
                select(RequirementState).where(RequirementState.supplier_id == supplier_id)
            )
        ).all()
        for row in rows:
            row.next_due_at = soon
            session.add(row)
    client = (await sign_in(buyer=seeded.buyer)).client
    page = await client.get("/fournisseurs", params={"tri": "verification"})
    names = _names(page.text)
    assert names[:2] == ["Gamma Services", "Delta Nouveau"]
    row = page.text.split(">Gamma Services</a>", 1)[1].split("</tr>", 1)[0]
    assert date_fr(TODAY - timedelta(days=20)) in row
