"""The gaps as a CSV file an officer opens in a French spreadsheet: `;` separator, UTF-8 with a
byte-order mark (so accents survive a double click), French headers and labels, French dates,
the contracts concerned and the day since when. Streamed batch by batch: flat memory whatever
the size of the buyer."""

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.compliance.evaluation import today_in_paris
from app.compliance.queries import GapFilters, gap_batch
from app.compliance.rules import STATUS_LABELS_FR, RequirementStatus, RequirementType
from app.compliance.rules.codes import requirement_label_fr
from app.contracts.models import Contract, ContractHolder
from app.db import SessionMaker

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
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}" if day else ""


# Each requirement's French label, once (the CSV repeats them on every line).
_LABELS = {t.value: requirement_label_fr(t, capitalize=True) for t in RequirementType}


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
    own (the request's unit of work has ended by the time the body streams): Core rows, one
    csv writer per batch, nothing kept between batches."""
    yield BOM + _line(CSV_COLUMNS)
    after: uuid.UUID | None = None
    while True:
        async with sessionmaker() as session:
            rows = await gap_batch(session, buyer_id, filters, after=after, limit=CSV_BATCH)
            references = await _references(session, buyer_id, {r.supplier_id for r in rows})
        if not rows:
            return
        yield _batch(rows, references)
        if len(rows) < CSV_BATCH:
            return
        after = rows[-1].id


def _batch(rows: Sequence[Any], references: dict[uuid.UUID, list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        reasons = (orjson.loads(row.reasons) if row.reasons else None) or ()
        since = min((r["since"] for r in reasons if r.get("since")), default=None)  # ISO days
        status = RequirementStatus(row.status or RequirementStatus.MISSING)
        next_check = today_in_paris(row.next_due_at) if row.next_due_at and row.active else None
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.siren or f"{row.country or ''}{row.foreign_id or ''}",
                    row.name or "",
                    _LABELS[row.requirement],
                    STATUS_LABELS_FR.get(status, status.value),
                    _fr(date.fromisoformat(since) if since else None),
                    _fr(row.valid_until),
                    _fr(next_check),
                    ", ".join(references.get(row.supplier_id, [])),
                    " ; ".join(r["message"] for r in reasons),
                )
            ]
        )
    return buffer.getvalue()
