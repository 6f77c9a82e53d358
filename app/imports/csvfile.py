"""The ERP's CSV: `;`-separated, one line per (contract, holder), with a header line.

UTF-8 with or without a byte-order mark; a file that is not valid UTF-8 is read as
Windows-1252 (what a French spreadsheet saves), decided on the whole file before any record is
read. Consecutive lines of the same contract (same buyer and reference) are one record; its
columns (amount, dates, …) must agree across them. Columns are listed in `COLUMNS` and in the
README; names are case-insensitive, unknown columns are ignored.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from app.imports.records import (
    INCONSISTENT_LINES,
    MISSING_REFERENCE,
    Problem,
    Record,
    add_holders,
    holder_from,
)

# column → what it holds (the README's table is checked against this).
COLUMNS = {
    "buyer_siret": "SIRET of the buyer (optional: else `--buyer`, or the API key's buyer)",
    "reference": "the buyer's reference of the contract (required)",
    "object": "what the contract is for",
    "amount_ht": "amount excluding VAT in euros: `48000.00` or `48 000,00`",
    "notified_on": "notification date: `2026-03-02` or `02/03/2026`",
    "duration_months": "duration in months (or `ends_on`)",
    "ends_on": "end of execution (or `duration_months`)",
    "cpv_code": "CPV code (optional)",
    "holder_siret": "SIRET of the holder (or `holder_siren`)",
    "holder_siren": "SIREN of the holder",
    "holder_vat": "EU VAT number of a foreign holder (with `holder_name`)",
    "holder_name": "the holder's name",
    "code_tiers": "the supplier's code in the buyer's ERP (kept, searchable)",
}
CONTRACT_COLUMNS = (
    "object",
    "amount_ht",
    "notified_on",
    "duration_months",
    "ends_on",
    "cpv_code",
)
HOLDER_COLUMNS = ("holder_siret", "holder_siren", "holder_vat")


class NotCsv(ValueError):
    """No header with `reference` and a holder column: not an import CSV."""


def text_stream(stream: IO[bytes]) -> io.TextIOWrapper:
    """The file as text: UTF-8 (BOM dropped) when the whole file decodes, else Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8-sig"
    try:
        while chunk := stream.read(1 << 16):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        encoding = "cp1252"
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")


def _normalise(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def _holder(row: dict[str, str]) -> dict[str, Any] | Problem:
    name = row.get("holder_name")
    if row.get("holder_vat"):
        found = holder_from(row["holder_vat"], "TVA", name)
    else:
        found = holder_from(row.get("holder_siret") or row.get("holder_siren"), "", name)
    if isinstance(found, dict) and row.get("code_tiers"):
        found["code_tiers"] = row["code_tiers"][:64]
    return found


def read_csv(stream: IO[bytes]) -> Iterator[Record]:
    text = text_stream(stream)
    try:
        yield from _records(text)
    finally:
        text.detach()  # the caller's stream stays open (its position shows the progress)


def _records(text: IO[str]) -> Iterator[Record]:
    reader = csv.reader(text, delimiter=";")
    header = next(reader, None)
    columns = [_normalise(c) for c in header or []]
    if "reference" not in columns or not set(HOLDER_COLUMNS) & set(columns):
        raise NotCsv(
            "En-tête CSV non reconnu : il faut au moins les colonnes « reference » et "
            "« holder_siret » (séparateur « ; »)."
        )
    record: Record | None = None
    key: tuple[str, str] | None = None
    first: dict[str, str] = {}
    holders: list[Any] = []
    for row_values in reader:
        if not any(v.strip() for v in row_values):
            continue
        line = reader.line_num
        row = {c: v.strip() for c, v in zip(columns, row_values, strict=False) if c}
        row_key = (row.get("buyer_siret", ""), row.get("reference", ""))
        if record is not None and row_key == key and row_key[1]:
            holders.append(_holder(row))
            for column in CONTRACT_COLUMNS:
                if row.get(column) and row.get(column) != first.get(column):
                    record.problem = record.problem or Problem(
                        INCONSISTENT_LINES,
                        f"Ligne {line} : « {column} » diffère de la première ligne de ce contrat.",
                    )
            continue
        if record is not None:
            yield _finish(record, holders)
        record, key, first, holders = _start(row, line), row_key, row, [_holder(row)]
    if record is not None:
        yield _finish(record, holders)


def _start(row: dict[str, str], line: int) -> Record:
    reference = row.get("reference") or None
    record = Record(
        label=f"line {line}",
        buyer_siret=row.get("buyer_siret") or None,
        reference=reference,
        object=row.get("object") or None,
        amount=row.get("amount_ht") or None,
        notified_on=row.get("notified_on") or None,
        duration_months=row.get("duration_months") or None,
        ends_on=row.get("ends_on") or None,
        cpv_code=row.get("cpv_code") or None,
    )
    if reference is None:
        record.problem = Problem(MISSING_REFERENCE, f"Ligne {line} sans référence de contrat.")
    return record


def _finish(record: Record, holders: list[Any]) -> Record:
    add_holders(record, holders)
    return record
