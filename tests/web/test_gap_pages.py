"""`/ecarts` and `/ecarts.csv`: the gaps with the API's filters, by pages, and their CSV; another
buyer's gaps never shown; a signed-out visitor sent to sign in."""

import csv
import io

import httpx

from app.web.officers import gaps as gap_pages
from tests.web.test_supplier_pages import seed_buyer


def _rows(html: str) -> list[tuple[str, str, str]]:
    """(supplier, requirement, status code) of each line of the table."""
    if "<tbody>" not in html:
        return []
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    out = []
    for chunk in body.split("<tr>")[1:]:
        name = chunk.split("</a>", 1)[0].rsplit(">", 1)[1]
        cells = chunk.split("<td>")
        requirement = cells[1].split("</td>", 1)[0]
        status = cells[2].split("status--", 1)[1].split('"', 1)[0]
        out.append((name, requirement, status))
    return out


async def test_the_gaps_list_and_its_filters(app, sign_in, sessionmaker, make_buyer):
    seeded = await seed_buyer(app, sessionmaker, await make_buyer("Commune des Écarts"))
    client = (await sign_in(buyer=seeded.buyer)).client
    page = await client.get("/ecarts")
    assert page.status_code == 200, page.text
    assert "<title>Écarts — Vigie</title>" in page.text and page.text.count("<h1>") == 1
    rows = _rows(page.text)
    names = {name for name, _, _ in rows}
    # Every supplier with a requirement not in order; never the compliant one.
    assert names == {
        "Bêta Travaux",
        "Gamma Services",
        "Électricité Épsilon",
        "Delta Nouveau",
        "Müller GmbH",
    }
    assert ("Bêta Travaux", "L&#39;attestation de vigilance URSSAF", "refused") in rows
    assert all(status != "valid" for _, _, status in rows)
    assert f'href="/fournisseurs/{seeded.sirens["Gamma Services"]}"' in page.text
    assert "Réponse de la source en attente" in page.text  # the reason, in French

    refused = _rows((await client.get("/ecarts", params={"statut": "refused"})).text)
    assert refused == [("Bêta Travaux", "L&#39;attestation de vigilance URSSAF", "refused")]
    several = await client.get("/ecarts", params={"statut": ["refused", "upstream_pending"]})
    assert {r[0] for r in _rows(several.text)} == {"Bêta Travaux", "Gamma Services"}
    assert 'value="upstream_pending" checked' in several.text
    foreign = _rows((await client.get("/ecarts", params={"exigence": "foreign_vat"})).text)
    assert [r[0] for r in foreign] == ["Müller GmbH"]
    # Due within: the never-checked rows are due now; nothing valid appears.
    soon = _rows((await client.get("/ecarts", params={"echeance": "7"})).text)
    assert soon and {r[0] for r in soon} <= names
    for params in ({"statut": "lost"}, {"exigence": "nothing"}, {"echeance": "12"}):
        bad = await client.get("/ecarts", params=params)
        assert bad.status_code == 422 and 'lang="fr"' in bad.text, params


async def test_pages_follow_the_cursor(app, sign_in, sessionmaker, make_buyer, monkeypatch):
    seeded = await seed_buyer(app, sessionmaker, await make_buyer())
    client = (await sign_in(buyer=seeded.buyer)).client
    every = _rows((await client.get("/ecarts")).text)
    monkeypatch.setattr(gap_pages, "PAGE_SIZE", 3)
    seen, url, pages = [], "/ecarts", 0
    while url:
        page = await client.get(url)
        assert page.status_code == 200
        seen += _rows(page.text)
        pages += 1
        if pages > 1:
            assert 'href="/ecarts">Début de la liste</a>' in page.text
        nxt = page.text.split('rel="next"', 1)[0].rsplit('href="', 1)
        url = nxt[1].split('"', 1)[0].replace("&amp;", "&") if 'rel="next"' in page.text else ""
    assert pages == -(-len(every) // 3) and seen == every


async def test_the_csv_of_the_view(app, sign_in, sessionmaker, make_buyer):
    seeded = await seed_buyer(app, sessionmaker, await make_buyer())
    client = (await sign_in(buyer=seeded.buyer)).client
    page = await client.get("/ecarts", params={"statut": "refused", "exigence": "urssaf_vigilance"})
    assert 'href="/ecarts.csv?statut=refused&amp;exigence=urssaf_vigilance"' in page.text
    answer = await client.get(
        "/ecarts.csv", params={"statut": "refused", "exigence": "urssaf_vigilance"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="ecarts.csv"'
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["SIREN ou identifiant", "Fournisseur", "Exigence", "Statut"]
    assert [r[:4] for r in rows[1:]] == [
        [
            seeded.sirens["Bêta Travaux"],
            "Bêta Travaux",
            "L'attestation de vigilance URSSAF",
            "Refusée",
        ]
    ]
    assert rows[1][7] == "M-2026-001"
    whole = await client.get("/ecarts.csv")
    lines = whole.content.decode("utf-8-sig").splitlines()
    assert len(lines) - 1 == len(_rows((await client.get("/ecarts")).text))


async def test_another_buyer_sees_none_of_them(app, sign_in, sessionmaker, make_buyer):
    await seed_buyer(app, sessionmaker, await make_buyer("Commune A"))
    stranger = (await sign_in(buyer=await make_buyer("Commune B"))).client
    page = await stranger.get("/ecarts")
    assert page.status_code == 200 and _rows(page.text) == []
    assert "Tout est en ordre" in page.text
    text = (await stranger.get("/ecarts.csv")).content.decode("utf-8-sig")
    assert len(text.splitlines()) == 1


async def test_signed_out_visitors_are_sent_to_sign_in(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ("/ecarts", "/ecarts.csv?statut=refused"):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/connexion?suivant=/ecarts")
