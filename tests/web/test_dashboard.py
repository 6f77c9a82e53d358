"""The dashboard: counts by overall status (graded by the rules, as the API does), the twelve
months ahead, the most urgent gaps first, Vigie's own failures set apart; nothing of another
buyer; charts with their data tables."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from app.common import utcnow
from app.compliance.evaluation import reason_to_json, start_of, today_in_paris
from app.compliance.models import RequirementState
from app.compliance.rules import Reason, RequirementStatus, RequirementType
from app.contracts.models import ContractCreate
from app.contracts.service import create_contract
from app.db import unit_of_work
from app.suppliers.models import Supplier
from app.users.models import UserRole
from app.web.charts import grouped_columns, horizontal_bars
from tests.factories import contract_payload, random_siren

TODAY = today_in_paris(utcnow())


async def _contract(sessionmaker, buyer, names: dict[str, str]) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    """One contract whose holders are `names` (SIREN → name); returns SIREN → supplier id."""
    async with unit_of_work(sessionmaker) as session:
        data = ContractCreate.model_validate(
            contract_payload(holders=[{"siren": s, "name": n} for s, n in names.items()])
        )
        await create_contract(session, buyer.id, data, threshold=Decimal("5000"))
        rows = (await session.exec(select(Supplier).where(Supplier.siren.in_(list(names))))).all()  # type: ignore[union-attr]
        for supplier in rows:
            supplier.name = names[supplier.siren or ""]
            session.add(supplier)
        return {s.siren: s.id for s in rows if s.siren}


def _reason(code: str, message: str, rtype: RequirementType) -> dict:  # type: ignore[type-arg]
    return reason_to_json(Reason(code=code, message=message, since=TODAY, requirement=rtype))


async def _set(
    sessionmaker,
    buyer,
    supplier_id,
    rtype,
    status,
    *,
    reasons=(),
    valid_until=None,
    due_in_days=None,
    alert=None,
):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        row = (
            await session.exec(
                select(RequirementState).where(
                    RequirementState.buyer_id == buyer.id,
                    RequirementState.supplier_id == supplier_id,
                    RequirementState.requirement == rtype,
                )
            )
        ).first() or RequirementState(buyer_id=buyer.id, supplier_id=supplier_id, requirement=rtype)
        row.status = status
        row.reasons = list(reasons)
        row.valid_until = valid_until
        row.alert = alert
        row.active = True
        if due_in_days is not None:
            row.next_due_at = start_of(TODAY + timedelta(days=due_in_days))
        session.add(row)


async def test_the_dashboard_counts_grades_and_orders_the_gaps(sign_in, sessionmaker, make_buyer):
    buyer = await make_buyer("Commune du Tableau")
    good, refused, waiting = random_siren(), random_siren(), random_siren()
    ids = await _contract(
        sessionmaker,
        buyer,
        {good: "Jardins Conformes", refused: "Nettoyage Refusé", waiting: "Traduction Attente"},
    )
    for rtype in (
        RequirementType.REGISTRATION,
        RequirementType.URSSAF_VIGILANCE,
        RequirementType.DGFIP_FISCAL,
    ):
        await _set(
            sessionmaker,
            buyer,
            ids[good],
            rtype,
            RequirementStatus.VALID,
            valid_until=TODAY + timedelta(days=45),
            due_in_days=60,
        )
        await _set(
            sessionmaker,
            buyer,
            ids[waiting],
            rtype,
            RequirementStatus.VALID,
            valid_until=TODAY + timedelta(days=200),
        )
        await _set(
            sessionmaker,
            buyer,
            ids[refused],
            rtype,
            RequirementStatus.VALID,
            valid_until=TODAY + timedelta(days=200),
        )
    urssaf = RequirementType.URSSAF_VIGILANCE
    await _set(
        sessionmaker,
        buyer,
        ids[refused],
        urssaf,
        RequirementStatus.REFUSED,
        reasons=[_reason("urssaf_refused", "L'URSSAF a refusé de délivrer l'attestation.", urssaf)],
    )
    await _set(
        sessionmaker,
        buyer,
        ids[waiting],
        urssaf,
        RequirementStatus.AWAITING_UPLOAD,
        reasons=[
            _reason("out_of_perimeter", "Hors du périmètre de l'URSSAF : dépôt attendu.", urssaf)
        ],
        alert="jeton refusé",
    )
    # Another buyer's non-compliant supplier must not show.
    other = await make_buyer("Métropole Voisine")
    stranger = random_siren()
    other_ids = await _contract(sessionmaker, other, {stranger: "Société Étrangère Au Tableau"})
    await _set(
        sessionmaker,
        other,
        other_ids[stranger],
        urssaf,
        RequirementStatus.REFUSED,
        reasons=[_reason("urssaf_refused", "Refus.", urssaf)],
    )

    officer = await sign_in(role=UserRole.OFFICER, buyer=buyer)
    page = await officer.client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "Société Étrangère Au Tableau" not in html
    found = re.findall(r'stat__value">(\d+)</span>\s*<a href="/fournisseurs\?statut=(\w+)"', html)
    stats = {status: int(count) for count, status in found}
    assert stats == {"non_compliant": 1, "at_risk": 1, "compliant": 1, "not_checked": 0}
    # The refusal (non-compliant) comes before the awaited upload (at risk).
    urgent = html.split("titre-urgents", 1)[1].split("</table>", 1)[0]
    assert urgent.index("Nettoyage Refusé") < urgent.index("Traduction Attente")
    assert f'href="/fournisseurs/{refused}"' in urgent and "Jardins Conformes" not in urgent
    assert "Problèmes du côté de Vigie" in html and "1 vérification(s)" in html
    # The month table: 7 certificates still valid (3 within 45 days, 4 within 200), 3 checks due
    # in 60 days (only the compliant supplier's rows were given a due date).
    months = html.split("titre-echeances", 1)[1]
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        months,
    )
    assert len(rows) == 12
    assert sum(int(due) for _, due, _ in rows) == 3 and sum(int(exp) for _, _, exp in rows) == 7
    assert rows[0][0].split()[1] == str(TODAY.year)  # « novembre 2026 »
    assert '<svg class="chart" role="img"' in html and "style=" not in html


async def test_an_empty_buyer_sees_zeroes_and_no_gap(sign_in):
    officer = await sign_in()
    page = await officer.client.get("/")
    assert page.status_code == 200
    assert "Aucun écart" in page.text and "0 fournisseur sous contrat" in page.text


def test_chart_geometry_scales_on_the_largest_value():
    bars = horizontal_bars(
        [("A", 10, "x"), ("B", 5, "y"), ("C", 0, "z")], width=560, label_width=150
    )
    assert bars.bars[0].width == 360 and bars.bars[1].width == 180 and bars.bars[2].width == 0
    assert bars.height == 3 * 34 + 4
    columns = grouped_columns([("janv.", [4, 2]), ("févr.", [0, 1])], [("a", "c1"), ("b", "c2")])
    (value, css, _x, y, height) = columns.columns[0].values[0]
    assert (value, css) == (4, "c1") and y + height == columns.baseline
    assert columns.columns[1].values[0][4] == 0
