"""What a register's observations say about collective proceedings (Code de commerce, livre VI).

The RCS extract (`observations[].libelle`) and the RNE extract (`observations[].texte`) carry the
registrars' notes as free text, with a date; neither API has a structured field for proceedings.
Greffes write the judgments in a stable vocabulary ("Jugement d'ouverture d'une procédure de
redressement judiciaire", "Jugement prononçant la liquidation judiciaire", "Jugement de clôture
pour insuffisance d'actif", …), read here in date order:

- the latest judgment decides which proceedings are in course (a sauvegarde converted into a
  redressement, a redressement into a liquidation), dated by the judgment that opened them or
  converted them into these; a later judgment of the same proceedings (a plan adopted, a sale)
  keeps that date;
- one note naming several (a plan's resolution *and* the liquidation) counts as the gravest;
- a closure, or an appeal reversing the judgment, ends a sauvegarde or a redressement; a closed
  liquidation stays a liquidation (the company's assets were realised; striking off follows),
  unless the judgment that opened it is reversed;
- a *liquidation amiable* (voluntary winding-up after a dissolution) is no collective proceedings,
  nor is the *sauvegarde de justice* of an individual trader (a protection of adults).

Only a liquidation judiciaire excludes from public contracts (L2141-3 CCP); sauvegarde and
redressement are shown with the judgment's date for the buyer to assess.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum

__all__ = ["Proceedings", "ProceedingsKind", "read_proceedings"]


class ProceedingsKind(IntEnum):
    """Ordered by gravity: one note naming several counts as the gravest."""

    OTHER = 1  # "procédure collective" without its kind
    SAUVEGARDE = 2
    REDRESSEMENT = 3
    LIQUIDATION = 4


@dataclass(frozen=True)
class Proceedings:
    kind: ProceedingsKind | None = None  # None: no proceedings in course
    judged_on: date | None = None  # the judgment that opened them (or converted them into these)
    note: str | None = None  # the registrar's note it was read from

    @property
    def collective(self) -> bool:
        return self.kind is not None

    @property
    def liquidation(self) -> bool:
        return self.kind is ProceedingsKind.LIQUIDATION


_KINDS = (
    (ProceedingsKind.LIQUIDATION, re.compile(r"liquidation judiciaire")),
    (ProceedingsKind.REDRESSEMENT, re.compile(r"redressement judiciaire|plan de redressement")),
    # Not the "sauvegarde de justice" of an adult under protection (an individual trader's note).
    (ProceedingsKind.SAUVEGARDE, re.compile(r"\bsauvegarde\b(?! de justice)")),
    (
        ProceedingsKind.OTHER,
        re.compile(
            r"procedures? collectives?|retablissement professionnel"
            r"|plan de (?:continuation|cession)|commissaire a l'execution du plan"
        ),
    ),
)
_JUDGMENT = re.compile(r"\bjugement|\barret\b")
_CLOSED = re.compile(r"\bcloture\b|\bfin de (?:la )?procedure\b")
_REVERSED = re.compile(r"\binfirm|\bretractation\b|\bretracte\b|\bannul")
_FR_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")


def _plain(text: str) -> str:
    """Lower case, no accents, single spaces: greffes write with or without accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().replace("\u2019", "'").split())


def _day(value: str | None) -> date | None:
    """An ISO date (the spec's format), else a French day/month/year."""
    if not value:
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    found = _FR_DATE.search(text)
    if found:
        day, month, year = (int(g) for g in found.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _kind(text: str) -> ProceedingsKind | None:
    found = [kind for kind, pattern in _KINDS if pattern.search(text)]
    return max(found) if found else None


def read_proceedings(observations: Iterable[tuple[str | None, str | None]]) -> Proceedings:
    """The collective proceedings in course, from `(text, date)` notes in any order.

    A note without a date is taken as older than every dated one; its judgment date is then
    looked for in its text ("jugement du 12/03/2024")."""
    notes = [(text, _day(when)) for text, when in observations if text]
    notes.sort(key=lambda note: note[1] or date.min)  # stable: undated notes keep their order
    state = Proceedings()
    for text, when in notes:
        plain = _plain(text)
        kind = _kind(plain)
        if kind is None:
            # "Jugement de clôture" naming no proceedings closes the one in course.
            if _JUDGMENT.search(plain) and _CLOSED.search(plain) and not state.liquidation:
                state = Proceedings()
            continue
        judged_on = when or _day(text)
        if _REVERSED.search(plain) or (
            _CLOSED.search(plain) and kind is not ProceedingsKind.LIQUIDATION
        ):
            state = Proceedings()
            continue
        if state.kind is not None and kind in (state.kind, ProceedingsKind.OTHER):
            # A later judgment of the proceedings in course (a plan adopted, a sale): the same
            # proceedings, still dated by the judgment that opened them.
            continue
        state = Proceedings(kind, judged_on or state.judged_on, text)
    return state
