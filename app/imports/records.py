"""What every importer yields: one `Record` per contract, with raw values normalised only as far
as the file's format requires (identifiers by their declared type, dates with a time zone, the
DECP's last modification folded in). The service turns a record into a contract through the
contracts service, so the rules (threshold, holders, dates) stay one implementation."""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic_core import PydanticCustomError

from app.identifiers import parse_siren, parse_siret

# Stable codes of the report (the API's `skipped` keys and each line's `code`).
BELOW_THRESHOLD = "below_vigilance_threshold"
INVALID_IDENTIFIER = "invalid_identifier"
MISSING_NOTIFICATION_DATE = "missing_notification_date"
MISSING_REFERENCE = "missing_reference"
INVALID_AMOUNT = "invalid_amount"
OTHER_BUYER = "other_buyer"
DUPLICATE_IN_FILE = "duplicate_in_file"
UNKNOWN_BUYER = "unknown_buyer"
INVALID_DATES = "invalid_dates"
INVALID_RECORD = "invalid_record"
INCONSISTENT_LINES = "inconsistent_lines"


@dataclass
class Problem:
    code: str
    message: str


@dataclass
class Record:
    """One contract as read from the file; `problem` set when the file alone says it is skipped,
    `notes` what was dropped from a record that is kept (a bad holder beside valid ones)."""

    label: str
    buyer_siret: str | None = None
    buyer_name: str | None = None
    reference: str | None = None
    object: str | None = None
    amount: Any = None
    notified_on: Any = None
    duration_months: Any = None
    ends_on: Any = None
    cpv_code: Any = None
    holders: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    problem: Problem | None = None


_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T[0-9:.]+)?(?:Z|[+-]\d{2}:?\d{2})?$")
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_VAT = re.compile(r"^([A-Z]{2})[A-Z0-9+*]{2,13}$")
# Types of identifier that name a French company by its SIRET or SIREN (blank or missing:
# inferred from the digits, as real feeds leave it out or write `Siret`).
_FRENCH_TYPES = {"", "SIRET", "SIREN"}
_VAT_TYPES = {"TVA", "TVA-INTRACOMMUNAUTAIRE", "UE"}


def parse_day(value: Any) -> date:
    """`2019-03-04`, `2019-03-04+01:00`, `2018-11-29-04:00`, `2019-03-04T00:00:00Z` or
    `04/03/2019`: the calendar date as written (never shifted to UTC: that can change the day)."""
    text = str(value).strip()
    match = _DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        french = _FRENCH_DATE.match(text)
        if not french:
            raise ValueError(text)
        day, month, year = (int(g) for g in french.groups())
    return date(year, month, day)


def parse_months(value: Any) -> int:
    """`dureeMois` as an integer or a string of digits (`"36"`)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    text = _SPACES.sub("", str(value))
    if not text.isascii() or not text.isdigit():
        raise ValueError(value)
    return int(text)


def holder_from(identifier: Any, kind: Any, name: Any = None) -> dict[str, Any] | Problem:
    """A holder (`HolderIn` fields) from an identifier and its declared type, or why not.

    SIRET or SIREN (type SIRET in any case, blank or missing); a French VAT number gives the
    SIREN it contains; another EU VAT number with a name is a foreign company. Overseas and
    non-EU registries (TAHITI, RIDET, FRWF, IREP, HORS-UE) cannot be checked: reported."""
    kind_text = str(kind or "").strip().upper().replace("_", "-")
    text = _SPACES.sub("", str(identifier or "")).upper()
    shown = str(identifier or "").strip()[:40] or "(vide)"
    label = name.strip() if isinstance(name, str) and name.strip() else None
    try:
        if kind_text in _FRENCH_TYPES:
            if len(text) == 9:
                return {"siren": parse_siren(text), "name": label}
            return {"siret": parse_siret(text), "name": label}
        if kind_text in _VAT_TYPES:
            vat = _VAT.match(text)
            if vat and vat.group(1) == "FR" and len(text) == 13:
                return {"siren": parse_siren(text[4:]), "name": label}
            if vat and vat.group(1) != "FR" and label:
                country = "GR" if vat.group(1) == "EL" else vat.group(1)
                return {"foreign_id": text, "country": country, "name": label[:200]}
            return Problem(
                INVALID_IDENTIFIER,
                f"Titulaire « {shown} » écarté : numéro de TVA illisible ou sans raison sociale.",
            )
    except PydanticCustomError as exc:
        return Problem(INVALID_IDENTIFIER, f"Titulaire écarté : {exc.message()}")
    return Problem(
        INVALID_IDENTIFIER,
        f"Titulaire « {shown} » écarté : un identifiant de type « {kind_text} » ne peut pas être "
        "vérifié (SIRET, SIREN ou TVA intracommunautaire attendus).",
    )


def add_holders(record: Record, candidates: list[dict[str, Any] | Problem]) -> None:
    """Keep the valid holders (one per SIREN), note the others; every holder bad: skipped."""
    seen: set[tuple[str, ...]] = set()
    for candidate in candidates:
        if isinstance(candidate, Problem):
            record.notes.append(candidate)
            continue
        key = (
            ("siren", (candidate.get("siren") or candidate.get("siret") or "")[:9])
            if candidate.get("siren") or candidate.get("siret")
            else ("foreign", candidate["country"], candidate["foreign_id"])
        )
        if key in seen:
            continue  # the same company twice (two establishments, a repeated line): once
        seen.add(key)
        record.holders.append(candidate)
    if not record.holders and record.problem is None:
        detail = " ".join(n.message for n in record.notes) or "Aucun titulaire."
        record.problem = Problem(INVALID_IDENTIFIER, f"Aucun titulaire vérifiable. {detail}")
        record.notes = []
