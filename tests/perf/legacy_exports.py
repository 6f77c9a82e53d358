"""The gaps as a CSV file an officer opens in a French spreadsheet: `;` separator, UTF-8 with a
byte-order mark (so accents survive a double click), French headers and labels, French dates,
the contracts concerned and the day since when. Streamed batch by batch: flat memory whatever
the size of the buyer."""

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.compliance.rules import STATUS_LABELS_FR, RequirementType
from app.compliance.rules.codes import requirement_label_fr
from app.contracts.models import Contract, ContractHolder
from app.db import SessionMaker
from tests.perf.legacy_queries import GapFilters, gap_public, list_gaps

BOM = "\ufeff"
CSV_COLUMNS = [
    "SIREN ou identifiant",
    "Fournisseur",
    "Exigence",
    "Statut",
    "Depuis le",
    "Valide jusqu'au",
    "Prochaine vérification",
    "Marchés",
    "Motifs",
]
CSV_BATCH = 2000
CSV_FILENAME = "ecarts.csv"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run: one starting like a formula (`=HYPERLINK(…)` in a
    supplier's name) is prefixed with an apostrophe (OWASP, CSV injection)."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


async def _references(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    query = (
        select(ContractHolder.supplier_id, Contract.reference)
        .join(Contract, col(Contract.id) == ContractHolder.contract_id)
        .where(Contract.buyer_id == buyer_id, col(ContractHolder.supplier_id).in_(supplier_ids))
        .order_by(col(Contract.reference))
    )
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    for supplier_id, reference in (await session.exec(query)).all():
        out[supplier_id].append(reference)
    return out


async def stream_gaps_csv(
    sessionmaker: SessionMaker, buyer_id: uuid.UUID, filters: GapFilters
) -> AsyncIterator[str]:
    """Every gap, batch by batch on the id cursor. Each batch reads in a short session of its
    own (the request's unit of work has ended by the time the body streams)."""
    yield BOM + _line(CSV_COLUMNS)
    after: uuid.UUID | None = None
    while True:
        async with sessionmaker() as session:
            rows = await list_gaps(session, buyer_id, filters, after=after, limit=CSV_BATCH)
            references = await _references(session, buyer_id, {s.id for _, s in rows})
        if not rows:
            return
        chunk = []
        for row, supplier in rows:
            g = gap_public(row, supplier)
            since = min((r.since for r in g.reasons if r.since), default=None)
            ident = supplier.siren or f"{supplier.country or ''}{supplier.foreign_id or ''}"
            chunk.append(
                _line(
                    [
                        ident,
                        supplier.name or "",
                        requirement_label_fr(RequirementType(g.type), capitalize=True),
                        STATUS_LABELS_FR.get(g.status, g.status.value),
                        _fr(since),
                        _fr(g.valid_until),
                        _fr(g.next_check_on),
                        ", ".join(references.get(supplier.id, [])),
                        " ; ".join(r.message for r in g.reasons),
                    ]
                )
            )
        yield "".join(chunk)
        if len(rows) < CSV_BATCH:
            return
        after = rows[-1][0].id
