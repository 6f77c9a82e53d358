"""The import itself: records of a DECP or CSV file → contracts, through the contracts service.

One pass over the file (records streamed by `decp` / `csvfile`), by batches of `BATCH` records
per unit of work; each record is created, updated or skipped whole and never half-written. A
record whose contract exists under its buyer's reference is amended as with PATCH, in a
SAVEPOINT of its own (an amendment recorded only when something changed: a re-import is
`unchanged`). New ones are all checked first (a refused one is skipped with its code), then
written together in a few statements (`insert_new_contracts`); if that insert is refused (a
reference taken meanwhile by another writer) they are created one by one, each in its SAVEPOINT.
Both plan their checks by the engine's job after the commit, which spreads them under the
upstream limit. A dry run does the same in a SAVEPOINT rolled back.

The same function runs from the CLI (`vigie import`) and from the job behind `POST /v1/imports`
(`app.imports.service.run_import`), which finds the uploaded file in its `imports` row.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.buyers.service import create_buyer
from app.compliance.rules import CompliancePolicy
from app.compliance.scheduling import plan_contract_later
from app.contracts.models import Contract, ContractCreate, ContractUpdate, HolderIn
from app.contracts.parsing import parse_amount, parse_cpv
from app.contracts.queries import holder_rows
from app.contracts.service import (
    amend_contract,
    content_hash_for,
    create_contract,
    insert_new_contracts,
    new_contract,
)
from app.errors import AppError, ValidationFailed
from app.identifiers import parse_siret
from app.imports import records as codes
from app.imports.csvfile import NotCsv, read_csv
from app.imports.decp import NotDecp, read_decp
from app.imports.models import ImportFormat
from app.imports.records import Problem, Record, parse_day, parse_months
from app.jobs import take_pending

log = logging.getLogger("vigie.imports")

BATCH = 200  # records per unit of work (one commit each)
ANALYZE_AFTER = 1000  # contracts written before the planner's statistics are refreshed

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Progress = Callable[[int], None]


class UnreadableFile(ValidationFailed):
    """The file cannot be read or recognised (the CLI exits 1); `report` holds what was done
    before the point where it stopped being readable."""

    code = "unreadable_file"
    title = "Fichier illisible"

    def __init__(self, detail: str, report: "Report | None" = None) -> None:
        super().__init__(detail)
        self.report = report


# --- the report --------------------------------------------------------------------------------


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def add(self, record: str, outcome: str, problem: Problem | None = None) -> None:
        self.counts[outcome] += 1
        if outcome == "skipped" and problem is not None:
            self.skipped[problem.code] += 1
        self.lines.append(
            {
                "record": record,
                "outcome": outcome,
                "code": problem.code if problem else None,
                "message": problem.message if problem else None,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": len(self.lines),
            "created": self.counts["created"],
            "updated": self.counts["updated"],
            "unchanged": self.counts["unchanged"],
            "skipped": dict(sorted(self.skipped.items())),
            "lines": self.lines,
        }


# --- reading -----------------------------------------------------------------------------------


def detect_format(head: bytes) -> ImportFormat | None:
    """DECP (JSON or XML) or CSV from the first bytes; None for anything else."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if start[:1] in (b"{", b"[", b"<"):
        return ImportFormat.DECP
    first_line = start.split(b"\n", 1)[0].lower()
    if b";" in first_line and b"reference" in first_line:
        return ImportFormat.CSV
    return None


def read_records(stream: IO[bytes], fmt: ImportFormat | None = None) -> Iterator[Record]:
    """The file's records, streamed; `UnreadableFile` when it is neither DECP nor CSV."""
    fmt = fmt or detect_format(stream.read(4096))
    stream.seek(0)
    if fmt is None:
        raise UnreadableFile(
            "Format non reconnu : attendu des DECP en JSON ou XML (formats 2019 ou 2024) ou un CSV "
            "séparé par « ; » avec une ligne d'en-tête (voir docs/import-example.csv)."
        )
    return read_decp(stream) if fmt == ImportFormat.DECP else read_csv(stream)


# --- one record → one contract ------------------------------------------------------------------


@dataclass
class Scope:
    """Whose records this import may write. `only_buyer_siret`: an ERP or officer key's buyer
    (the others are `other_buyer`); `default_buyer_siret`: the buyer of a CSV without a
    `buyer_siret` column; `create_buyers`: unknown buyers are created (admin, CLI flag)."""

    only_buyer_siret: str | None = None
    default_buyer_siret: str | None = None
    create_buyers: bool = False
    by_key_prefix: str | None = None


@dataclass
class _Run:
    scope: Scope
    threshold: Decimal
    policy: CompliancePolicy
    report: Report = field(default_factory=Report)
    buyers: dict[str, uuid.UUID] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)  # (buyer SIRET, reference)
    written: int = 0
    bulk: bool = True  # new contracts of a batch written together (off: one SAVEPOINT each)


async def _buyer(
    session: AsyncSession, run: _Run, record: Record
) -> tuple[str, uuid.UUID] | Problem:
    raw = record.buyer_siret or run.scope.default_buyer_siret
    if not raw:
        return Problem(codes.INVALID_IDENTIFIER, "Acheteur absent (SIRET de l'acheteur).")
    try:
        siret = parse_siret(raw)
    except PydanticCustomError as exc:
        return Problem(codes.INVALID_IDENTIFIER, f"Acheteur : {exc.message()}")
    only = run.scope.only_buyer_siret
    if only is not None and siret != only:
        return Problem(codes.OTHER_BUYER, f"Contrat d'un autre acheteur (SIRET {siret}).")
    if siret in run.buyers:
        return siret, run.buyers[siret]
    buyer = (await session.exec(select(Buyer).where(Buyer.siret == siret))).first()
    if buyer is None:
        if not run.scope.create_buyers:
            return Problem(
                codes.UNKNOWN_BUYER,
                f"Acheteur de SIRET {siret} inconnu de Vigie (un administrateur peut le créer).",
            )
        name = (record.buyer_name or "").strip()[:200] or f"Acheteur {siret}"
        try:
            buyer = await create_buyer(session, siret=siret, name=name)
        except AppError as exc:  # created meanwhile by another import: read it next time
            return Problem(exc.code, exc.detail)
    run.buyers[siret] = buyer.id
    return siret, buyer.id


def _contract_data(record: Record) -> ContractCreate | Problem:
    """The record as the contracts service's input; what was dropped goes to `record.notes`."""
    if record.reference is None:
        return Problem(codes.MISSING_REFERENCE, "Référence du contrat absente.")
    if len(record.reference) > 100:
        return Problem(codes.MISSING_REFERENCE, "Référence de plus de 100 caractères.")
    if record.amount in (None, ""):
        return Problem(codes.INVALID_AMOUNT, "Montant absent.")
    try:
        amount = parse_amount(record.amount)
    except PydanticCustomError as exc:
        return Problem(codes.INVALID_AMOUNT, exc.message())
    if amount == 0:
        return Problem(
            codes.INVALID_AMOUNT,
            "Montant nul : une valeur manquante, pas un contrat sous le seuil.",
        )
    if record.notified_on in (None, ""):
        return Problem(codes.MISSING_NOTIFICATION_DATE, "Date de notification absente.")
    try:
        notified_on = parse_day(record.notified_on)
    except ValueError:
        return Problem(
            codes.INVALID_DATES, f"Date de notification illisible : {record.notified_on}."
        )
    end: dict[str, Any] = {}
    try:
        if record.ends_on not in (None, ""):
            end["ends_on"] = parse_day(record.ends_on)
        elif record.duration_months not in (None, ""):
            end["duration_months"] = parse_months(record.duration_months)
        else:
            return Problem(codes.INVALID_DATES, "Ni durée en mois ni date de fin d'exécution.")
    except ValueError:
        shown = record.ends_on or record.duration_months
        return Problem(codes.INVALID_DATES, f"Durée ou date de fin illisible : {shown}.")
    cpv = None
    if record.cpv_code:
        try:
            cpv = parse_cpv(record.cpv_code)
        except PydanticCustomError as exc:  # the CPV never decides vigilance: dropped, reported
            record.notes.append(Problem("invalid_cpv", exc.message()))
    subject = record.object or "Objet non publié"
    if record.object is None:
        record.notes.append(Problem("missing_object", "Objet absent du fichier."))
    try:
        return ContractCreate(
            reference=record.reference,
            object=subject[:1000],
            amount_ht=amount,
            notified_on=notified_on,
            holders=[HolderIn(**h) for h in record.holders],
            cpv_code=cpv,
            **end,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "contrat"
        code = (
            first["type"] if "_" in first["type"] and first["type"].startswith("invalid") else None
        )
        message = first["msg"] if code else f"Valeur refusée pour « {where} »."
        if where in ("duration_months", "ends_on"):
            code = codes.INVALID_DATES
        return Problem(code or codes.INVALID_RECORD, message)


def _as_recorded(data: ContractCreate, existing: Contract, holders: list[Any]) -> ContractCreate:
    """What the file does not say is kept as recorded: a holder's MSA regime and ERP code, the
    contract's CPV code, extra requirements and foreign-workers flag."""
    known = {(s.siren or f"{s.country}:{s.foreign_id}"): h for h, s in holders}
    carried = []
    for holder in data.holders:
        before = known.get(holder.siren or f"{holder.country}:{holder.foreign_id}")
        if before is not None:
            changes: dict[str, Any] = {}
            if holder.social_regime == "general" and before.social_regime != "general":
                changes["social_regime"] = before.social_regime
            if holder.code_tiers is None and before.code_tiers:
                changes["code_tiers"] = before.code_tiers
            holder = holder.model_copy(update=changes) if changes else holder
        carried.append(holder)
    return data.model_copy(
        update={
            "holders": carried,
            "cpv_code": data.cpv_code or existing.cpv_code,
            "extra_requirements": existing.extra_requirements,
            "foreign_workers": existing.foreign_workers,
        }
    )


async def _create(
    session: AsyncSession, run: _Run, buyer_id: uuid.UUID, data: ContractCreate
) -> str:
    # create_contract writes the contract, its suppliers and holders in one SAVEPOINT of its own.
    saved = await create_contract(
        session, buyer_id, data, threshold=run.threshold, policy=run.policy
    )
    if not saved.created:  # the same contract written meanwhile by another import
        return "unchanged"
    plan_contract_later(session, saved.contract.id)
    return "created"


async def _amend(session: AsyncSession, run: _Run, existing: Contract, data: ContractCreate) -> str:
    """An amendment as with PATCH (each change recorded), in a SAVEPOINT: whole or not at all."""
    before = existing.content_hash
    fields = data.model_dump(include={"object", "amount_ht", "notified_on", "cpv_code"})
    for name in ("ends_on", "duration_months"):
        if getattr(data, name) is not None:
            fields[name] = getattr(data, name)
    async with session.begin_nested():
        await amend_contract(
            session,
            existing.buyer_id,
            existing.id,
            ContractUpdate(**fields, holders=data.holders),
            threshold=run.threshold,
            by_key_prefix=run.scope.by_key_prefix,
            policy=run.policy,
        )
    if existing.content_hash == before:
        return "unchanged"
    plan_contract_later(session, existing.id)
    return "updated"


@dataclass
class _Ready:
    record: Record
    buyer_id: uuid.UUID
    data: ContractCreate


async def _prepare(session: AsyncSession, run: _Run, record: Record) -> _Ready | Problem:
    """The record checked as far as the file and the buyers allow, or why it is skipped."""
    if record.problem is not None:
        return record.problem
    buyer = await _buyer(session, run, record)
    if isinstance(buyer, Problem):
        return buyer
    siret, buyer_id = buyer
    assert record.reference is not None
    key = (siret, record.reference)
    if key in run.seen:
        return Problem(
            codes.DUPLICATE_IN_FILE,
            f"La référence « {record.reference} » de cet acheteur figure déjà plus haut dans le "
            "fichier : seule la première occurrence compte.",
        )
    run.seen.add(key)
    data = _contract_data(record)
    return data if isinstance(data, Problem) else _Ready(record, buyer_id, data)


async def _save(
    session: AsyncSession, run: _Run, item: _Ready, contract: Contract | None, holders: list[Any]
) -> str:
    if contract is None:
        return await _create(session, run, item.buyer_id, item.data)
    data = _as_recorded(item.data, contract, holders)
    if content_hash_for(data) == contract.content_hash:
        return "unchanged"  # nothing to amend: no write, no job
    return await _amend(session, run, contract, data)


async def _existing(
    session: AsyncSession, ready: list[_Ready]
) -> dict[tuple[uuid.UUID, str], Contract]:
    """The contracts the batch's records name, in one query (the batch's buyers are read too:
    they stay in the session, one read, not one a record)."""
    if not ready:
        return {}
    buyer_ids = {r.buyer_id for r in ready}
    session.info.setdefault(_HELD, []).extend(
        (await session.exec(select(Buyer).where(col(Buyer.id).in_(buyer_ids)))).all()
    )
    query = select(Contract).where(
        col(Contract.buyer_id).in_(buyer_ids),
        col(Contract.reference).in_({r.data.reference for r in ready}),
    )
    return {(c.buyer_id, c.reference): c for c in (await session.exec(query)).all()}


_HELD = "vigie.import_buyers"
Outcome = tuple[str, Problem | None]


async def _create_many(
    session: AsyncSession, run: _Run, new: list[tuple[int, _Ready, Contract, list[HolderIn]]]
) -> dict[int, Outcome]:
    """The batch's new contracts, checked already, written together (`insert_new_contracts`);
    if that fails (a reference or a supplier taken meanwhile by another writer) they are
    created one by one instead, each with its own outcome: none is lost."""
    try:
        async with session.begin_nested():
            await insert_new_contracts(session, [(c, h) for _, _, c, h in new])
    except IntegrityError:
        log.info("batch insert refused, %d contracts created one by one", len(new))
        outcomes: dict[int, Outcome] = {}
        for index, item, _, _ in new:
            try:
                outcomes[index] = (await _create(session, run, item.buyer_id, item.data), None)
            except AppError as exc:
                outcomes[index] = ("skipped", Problem(exc.code, exc.detail))
        return outcomes
    for _, _, contract, _ in new:
        plan_contract_later(session, contract.id)
    return {index: ("created", None) for index, _, _, _ in new}


async def _import_batch(session: AsyncSession, run: _Run, chunk: list[Record]) -> None:
    """One batch: the records checked, the contracts they name read in one query (and their
    holders in another); each existing one amended or found unchanged without a write, the new
    ones checked one by one then written together (or each in a SAVEPOINT when `run.bulk` is
    off); the report's lines in the file's order."""
    prepared = [await _prepare(session, run, record) for record in chunk]
    existing = await _existing(session, [p for p in prepared if isinstance(p, _Ready)])
    holders = await holder_rows(session, [c.id for c in existing.values()]) if existing else {}
    outcomes: dict[int, Outcome] = {}
    new: list[tuple[int, _Ready, Contract, list[HolderIn]]] = []
    for index, item in enumerate(prepared):
        if isinstance(item, Problem):
            outcomes[index] = ("skipped", item)
            continue
        contract = existing.get((item.buyer_id, item.data.reference))
        try:
            if contract is None and run.bulk:  # checked now, written with the others below
                row, row_holders = new_contract(item.buyer_id, item.data, threshold=run.threshold)
                new.append((index, item, row, row_holders))
                continue
            outcome = await _save(
                session, run, item, contract, holders.get(contract.id, []) if contract else []
            )
        except AppError as exc:
            outcomes[index] = ("skipped", Problem(exc.code, exc.detail))
            continue
        outcomes[index] = (outcome, None)
    if new:
        outcomes |= await _create_many(session, run, new)
    for index, record in enumerate(chunk):
        outcome, problem = outcomes[index]
        if outcome != "skipped":
            run.written += outcome in ("created", "updated")
            notes = record.notes
            problem = Problem(notes[0].code, " ".join(n.message for n in notes)) if notes else None
        run.report.add(record.label, outcome, problem)


async def import_records(
    transaction: Transaction,
    records: Iterable[Record],
    scope: Scope,
    *,
    threshold: Decimal,
    policy: CompliancePolicy,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    batch: int = BATCH,
    analyze_after: int = ANALYZE_AFTER,
    bulk: bool = True,
) -> Report:
    """Import every record, `batch` per unit of work. Raises `UnreadableFile` (with the report
    so far) when the file stops being readable; records already committed stay, whole."""
    run = _Run(scope=scope, threshold=threshold, policy=policy, bulk=bulk)
    iterator = iter(records)
    while True:
        try:
            chunk = [r for _, r in zip(range(batch), iterator, strict=False)]
        except (NotDecp, NotCsv) as exc:
            raise UnreadableFile(str(exc), run.report) from None
        if not chunk:
            break
        async with transaction() as session:
            dry = await session.begin_nested() if dry_run else None
            try:
                await _import_batch(session, run, chunk)
            finally:
                if dry is not None:  # report the same, write nothing, send no job
                    await dry.rollback()
                    take_pending(session)
                    run.buyers.clear()  # the buyers it created are gone with the rollback
        if on_progress:
            on_progress(len(run.report.lines))
    if not dry_run and run.written >= analyze_after:
        async with transaction() as session:
            await analyze(session)
    return run.report


async def analyze(session: AsyncSession) -> None:
    """Fresh statistics for the tables an import filled: without them PostgreSQL plans the next
    queries as if they were empty (a sort of every row instead of the index)."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(text("ANALYZE buyers, contracts, contract_holders, suppliers"))
    else:
        await conn.execute(text("ANALYZE"))
