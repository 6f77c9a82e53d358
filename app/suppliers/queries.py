"""The officers' list of their suppliers (the page `/fournisseurs`): every supplier under contract
with its overall status, filtered, searched, sorted and cut into pages, and the CSV of that view.
One supplier's page reads `profile.py`.

The overall status is not stored: it is the rules' judgement of the stored requirement rows
(`overall_status`, exactly as `GET /v1/suppliers/{siren}/compliance` gives it), and the day a gap
becomes a non-compliance moves with the calendar. So the list reads the few columns the rules need
for every supplier of the buyer in one Core query, judges each in Python, then filters by status,
sorts and cuts the page: one implementation of the rules, no SQL copy of them to drift.
SIREN/SIRET searches and the requirement filter narrow the query in SQL; names are matched in
Python without case or accents (SQLite's `lower()` knows ASCII only, PostgreSQL's `unaccent` is an
extension). `bench/supplier_pages.py` prints what a page costs for a large buyer.
"""

import json
import math
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.evaluation import result_from_row, today_in_paris
from app.compliance.exports import BOM, _line
from app.compliance.models import RequirementState
from app.compliance.rules import (
    CompliancePolicy,
    OverallResult,
    OverallStatus,
    Reason,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    overall_status,
    status_label_fr,
)
from app.contracts.models import Contract, ContractHolder
from app.suppliers.models import Supplier
from app.suppliers.service import supplier_scope

PAGE_SIZE = 50

# Worst first: the order of the "status" sort and of the counts.
SEVERITY = (
    OverallStatus.NON_COMPLIANT,
    OverallStatus.AT_RISK,
    OverallStatus.NOT_CHECKED,
    OverallStatus.COMPLIANT,
)
_RANK = {status: i for i, status in enumerate(SEVERITY)}


class SupplierSort(StrEnum):
    NAME = "name"
    STATUS = "status"  # the worst first
    NEXT_CHECK = "next_check"  # the soonest first, never-planned last


@dataclass(frozen=True)
class SupplierFilters:
    statuses: frozenset[OverallStatus] = frozenset()  # empty: any
    requirement: RequirementType | None = None  # required (an active requirement) of the supplier
    search: str | None = None  # a name (part), a SIREN or SIRET (or their first digits)
    sort: SupplierSort = SupplierSort.NAME


@dataclass
class SupplierRow:
    """One supplier of the buyer, as the list shows it."""

    id: uuid.UUID
    siren: str | None
    country: str | None
    foreign_id: str | None
    name: str | None
    status: OverallStatus
    reasons: list[Reason]
    non_compliant_on: date | None
    next_check_on: date | None
    gaps: int  # requirements not valid
    # With the requirement filter: that requirement's own status (None: never evaluated).
    requirement_status: str | None = None

    @property
    def key(self) -> str:
        return path_key(self.siren, self.country, self.foreign_id)

    @property
    def reason_codes(self) -> list[str]:
        """Its reasons' codes, each once, the worst first (three requirements never checked
        are one reason to show)."""
        return list(dict.fromkeys(r.code for r in self.reasons))

    @property
    def identifier(self) -> str:
        return self.siren or f"{self.country or ''} {self.foreign_id or ''}".strip()


@dataclass
class SupplierPage:
    rows: list[SupplierRow]
    total: int
    page: int
    pages: int
    counts: dict[OverallStatus, int] = field(default_factory=dict)  # over the filtered list


def path_key(siren: str | None, country: str | None, foreign_id: str | None) -> str:
    """How a page addresses a supplier: its SIREN, or its foreign identifier with its country
    prefix (`DE811907980`), as `parse_supplier_key` reads it back."""
    if siren:
        return siren
    text = "".join((foreign_id or "").split()).upper()
    country = (country or "").upper()
    return text if text.startswith(country) else f"{country}{text}"


def fold(text: str) -> str:
    """Lower case without accents: `Électricité` and `electricite` match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _digits(text: str) -> str | None:
    compact = "".join(text.split())
    return compact if compact.isascii() and compact.isdigit() else None


# The query's columns, by position (Core rows: a 30,000-row buyer builds no ORM object).
_ID, _SIREN, _COUNTRY, _FOREIGN, _NAME, _TYPE, _STATUS, _REASONS, _UNTIL, _DUE, _ACTIVE = range(11)
_TYPE_ORDER = {t.value: i for i, t in enumerate(RequirementType)}
_VALID = RequirementStatus.VALID.value


def _scoped_rows(buyer_id: uuid.UUID, filters: SupplierFilters) -> sa.Select[Any]:
    """The buyer's suppliers with their requirement rows: only the columns the rules read.
    The id and the reasons come raw (text on SQLite): each distinct value is parsed once."""
    s = Supplier.__table__  # type: ignore[attr-defined]
    r = RequirementState.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(
            sa.type_coerce(s.c.id, sa.String),
            s.c.siren,
            s.c.country,
            s.c.foreign_id,
            s.c.name,
            sa.type_coerce(r.c.requirement, sa.String),
            sa.type_coerce(r.c.status, sa.String),
            sa.type_coerce(r.c.reasons, sa.Text),
            r.c.valid_until,
            r.c.next_due_at,
            r.c.active,
        )
        .select_from(s.outerjoin(r, sa.and_(r.c.supplier_id == s.c.id, r.c.buyer_id == buyer_id)))
        .where(s.c.id.in_(supplier_scope(buyer_id)))
    )
    if filters.requirement is not None:
        required = sa.select(r.c.supplier_id).where(
            r.c.buyer_id == buyer_id,
            r.c.requirement == filters.requirement.value,
            r.c.active.is_(True),
        )
        query = query.where(s.c.id.in_(required))
    digits = _digits(filters.search or "")
    if digits:
        # A SIREN, a SIRET, or their first digits: the company's, or one of its establishments
        # named on this buyer's contracts.
        sirets = (
            select(ContractHolder.supplier_id)
            .join(Contract, col(Contract.id) == ContractHolder.contract_id)
            .where(Contract.buyer_id == buyer_id, col(ContractHolder.siret).startswith(digits))
        )
        query = query.where(
            sa.or_(s.c.siren.startswith(digits[:9]), s.c.id.in_(sirets))
            if len(digits) <= 9
            else s.c.id.in_(sirets.union(select(Supplier.id).where(Supplier.siren == digits[:9])))
        )
    return query


class _Judge:
    """The rules' judgement of one supplier's rows under one buyer, as
    `compliance.queries.supplier_compliance` makes it (active rows, else the history; the
    requirements in their order). Pure for a day and a policy, so each distinct row and each
    distinct set of rows is judged once: thousands of suppliers share a few situations."""

    def __init__(self, today: date, policy: CompliancePolicy) -> None:
        self.today, self.policy = today, policy
        self._results: dict[tuple[Any, ...], RequirementResult] = {}
        self._overall: dict[tuple[tuple[Any, ...], ...], OverallResult] = {}

    def _result(self, key: tuple[Any, ...]) -> RequirementResult:
        found = self._results.get(key)
        if found is None:
            _, status, reasons, until = key
            found = result_from_row(status, json.loads(reasons or "[]") or [], until, self.policy)
            self._results[key] = found
        return found

    def __call__(
        self, rows: list[Any]
    ) -> tuple[OverallStatus, list[Reason], date | None, date | None, int]:
        """(status, reasons, non-compliant on, next check, requirements not valid)."""
        present = [row for row in rows if row[_ACTIVE] is not None]  # None: no row at all
        live = [row for row in present if row[_ACTIVE]] or present  # ended: their history
        keys = tuple(
            sorted((row[_TYPE], row[_STATUS], _text(row[_REASONS]), row[_UNTIL]) for row in live)
        )
        overall = self._overall.get(keys)
        if overall is None:
            ordered = sorted(keys, key=lambda key: _TYPE_ORDER.get(key[0], 99))
            results = [self._result(key) for key in ordered]
            overall = overall_status(results, today=self.today, policy=self.policy)
            self._overall[keys] = overall
        due = [row[_DUE] for row in live if row[_DUE] is not None and row[_ACTIVE]]
        next_check = today_in_paris(min(due)) if due else None
        gaps = sum(1 for key in keys if key[1] != _VALID)
        return overall.status, overall.reasons, overall.non_compliant_on, next_check, gaps


def _text(reasons: Any) -> str | None:
    """Reasons as JSON text (what SQLite and asyncpg give for the coerced column)."""
    return reasons if reasons is None or isinstance(reasons, str) else json.dumps(reasons)


async def supplier_rows(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: SupplierFilters,
    *,
    policy: CompliancePolicy,
) -> list[SupplierRow]:
    """Every supplier of the buyer that passes the filters, judged and sorted."""
    connection = await session.connection()
    result = await connection.execute(_scoped_rows(buyer_id, filters))
    by_supplier: dict[Any, list[Any]] = defaultdict(list)
    for row in result.all():
        by_supplier[row[_ID]].append(row)
    judge = _Judge(today_in_paris(utcnow()), policy)
    search = filters.search.strip() if filters.search else ""
    wanted = fold(search) if search and _digits(search) is None else None
    out = []
    for raw_id, rows in by_supplier.items():
        first = rows[0]
        siren, country, foreign_id, name = first[_SIREN:_TYPE]
        if wanted is not None:
            haystack = fold(f"{name or ''} {path_key(siren, country, foreign_id)}")
            if wanted not in haystack:
                continue
        status, reasons, deadline, next_check, gaps = judge(rows)
        if filters.statuses and status not in filters.statuses:
            continue
        supplier_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
        out.append(
            SupplierRow(
                supplier_id,
                siren,
                country,
                foreign_id,
                name,
                status,
                reasons,
                deadline,
                next_check,
                gaps,
                _status_of(rows, filters.requirement),
            )
        )
    out.sort(key=_sort_key(filters.sort))
    return out


def _status_of(rows: list[Any], requirement: RequirementType | None) -> str | None:
    """The status of `requirement` among one supplier's rows (its active row first)."""
    if requirement is None:
        return None
    mine = [row for row in rows if row[_TYPE] == requirement.value]
    mine.sort(key=lambda row: not row[_ACTIVE])
    return str(mine[0][_STATUS] or RequirementStatus.MISSING.value) if mine else None


def _sort_key(sort: SupplierSort) -> Any:
    def by_name(row: SupplierRow) -> tuple[str, str]:
        return fold(row.name or ""), row.key

    if sort is SupplierSort.STATUS:
        return lambda row: (_RANK[row.status], by_name(row))
    if sort is SupplierSort.NEXT_CHECK:
        return lambda row: (row.next_check_on is None, row.next_check_on or date.max, by_name(row))
    return by_name


async def supplier_page(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: SupplierFilters,
    *,
    page: int,
    policy: CompliancePolicy,
    size: int | None = None,
) -> SupplierPage:
    """One page (1-based; past the last one: the last one) of the filtered, sorted list."""
    size = size or PAGE_SIZE
    rows = await supplier_rows(session, buyer_id, filters, policy=policy)
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(page, 1), pages)
    counts = {status: 0 for status in SEVERITY}
    for row in rows:
        counts[row.status] += 1
    return SupplierPage(rows[(page - 1) * size : page * size], len(rows), page, pages, counts)


# --- the CSV of the current view --------------------------------------------------------------

CSV_COLUMNS = [
    "SIREN ou identifiant",
    "Fournisseur",
    "Statut",
    "Exigences à régulariser",
    "Non conforme à partir du",
    "Prochaine vérification",
    "Marchés",
    "Motifs",
]


def _fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


async def _references(session: AsyncSession, buyer_id: uuid.UUID) -> dict[uuid.UUID, list[str]]:
    query = (
        select(ContractHolder.supplier_id, Contract.reference)
        .join(Contract, col(Contract.id) == ContractHolder.contract_id)
        .where(Contract.buyer_id == buyer_id)
        .order_by(col(Contract.reference))
    )
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    for supplier_id, reference in (await session.exec(query)).all():
        if reference not in out[supplier_id]:
            out[supplier_id].append(reference)
    return out


async def suppliers_csv(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: SupplierFilters,
    *,
    policy: CompliancePolicy,
) -> str:
    """The whole filtered list (every page) for a French spreadsheet: `;`, UTF-8 with BOM,
    French labels and dates, cells that look like formulas neutralised (`exports._line`)."""
    rows = await supplier_rows(session, buyer_id, filters, policy=policy)
    references = await _references(session, buyer_id)
    lines = [BOM + _line(CSV_COLUMNS)]
    for row in rows:
        messages = list(dict.fromkeys(r.message for r in row.reasons))
        lines.append(
            _line(
                [
                    row.identifier,
                    row.name or "",
                    status_label_fr(row.status),
                    str(row.gaps),
                    _fr(row.non_compliant_on),
                    _fr(row.next_check_on),
                    ", ".join(references.get(row.id, [])),
                    " ; ".join(messages),
                ]
            )
        )
    return "".join(lines)
