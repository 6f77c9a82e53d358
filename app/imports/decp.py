"""DECP (données essentielles de la commande publique) in JSON, read as a stream.

Both structures, told apart by the content: 2019 (arrêté du 22 mars 2019, schema v1.5)
`{"marches": [record, …]}` mixing contracts and concessions; 2024 (arrêtés du 22 décembre 2022,
schema v2.0.x) `{"marches": {"marche": [...], "contrat-concession": [...]}}` with wrapped items
(`{"titulaire": {...}}`, `{"modification": {...}}`). Records are built one at a time with ijson:
memory stays flat whatever the file's size. The XML of both versions
(`<marches><marche>…</marche><contrat-concession>…</contrat-concession></marches>`, or a single
`<marche>`) is read the same way, element by element, into the JSON's shape.

What becomes of each field: the buyer is `acheteur.id` (`autoriteConcedante.id` for a
concession); the amount and duration in force are the last modification's that sets them
(modifications carry new values, not deltas; 2024 ones are ordered by `id`), and a non-empty
`titulaires` of a modification replaces the holders; a concession's amount is its
`valeurGlobale` and its start its `dateSignature`.
"""

from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, iterparse

import ijson

from app.imports.records import (
    INVALID_RECORD,
    MISSING_NOTIFICATION_DATE,
    MISSING_REFERENCE,
    Problem,
    Record,
    add_holders,
    holder_from,
)

# ijson prefixes of one record → (format, concession?)
_ITEMS = {
    "marches.item": ("2019", None),
    "marches.marche.item": ("2024", False),
    "marches.contrat-concession.item": ("2024", True),
}


class NotDecp(ValueError):
    """The file is not DECP JSON (or stops being readable JSON): it cannot be imported."""


def read_decp(stream: IO[bytes]) -> Iterator[Record]:
    """The records of a DECP file, JSON or XML (told by its first character)."""
    head = stream.read(64).removeprefix(b"\xef\xbb\xbf").lstrip()
    stream.seek(0)
    return read_decp_xml(stream) if head.startswith(b"<") else read_decp_json(stream)


def read_decp_json(stream: IO[bytes]) -> Iterator[Record]:
    """Yield the file's records in order. Raises `NotDecp` for a file without a `marches` root
    or that is not JSON (at the point where it stops being JSON)."""
    builder: Any = None
    current = ""
    kind: tuple[str, bool | None] = ("2019", None)
    seen_root = False
    try:
        for prefix, event, value in ijson.parse(stream):
            if builder is not None:
                builder.event(event, value)
                if prefix == current and event in ("end_map", "end_array"):
                    yield to_record(builder.value, *kind)
                    builder = None
                continue
            if prefix == "marches" and event in ("start_array", "start_map"):
                seen_root = True
            if prefix in _ITEMS:
                if event in ("start_map", "start_array"):
                    builder, current, kind = ijson.ObjectBuilder(), prefix, _ITEMS[prefix]
                    builder.event(event, value)
                else:  # a scalar where a record should be
                    yield to_record(value, *_ITEMS[prefix])
    except ijson.JSONError as exc:
        raise NotDecp(f"JSON illisible : {exc}") from None
    if not seen_root:
        raise NotDecp("Ce JSON n'a pas de racine « marches » : ce ne sont pas des DECP.")


# XML containers whose children are list items, wrapped like the 2024 JSON (`{"titulaire": …}`).
_XML_LISTS = {"titulaires", "modifications", "concessionnaires"}
_XML_RECORDS = {"marche", "contrat-concession"}


def _tag(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # without a namespace


def _from_xml(element: Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip() or None
    if _tag(element) in _XML_LISTS:
        return [{_tag(child): _from_xml(child)} for child in children]
    return {_tag(child): _from_xml(child) for child in children}


def read_decp_xml(stream: IO[bytes]) -> Iterator[Record]:
    """`<marches>` of `<marche>` and `<contrat-concession>` (or just one of them), streamed: each
    record is converted and dropped from the tree once read."""
    depth, root, seen_root = 0, None, False
    try:
        for event, element in iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                if depth == 1:
                    root, seen_root = element, _tag(element) in {"marches", *_XML_RECORDS}
                    if not seen_root:
                        raise NotDecp(
                            "Ce XML n'a pas de racine « marches » : ce ne sont pas des DECP."
                        )
                continue
            depth -= 1
            tag = _tag(element)
            if tag in _XML_RECORDS and depth <= 1:
                yield to_record(_from_xml(element), "xml", tag == "contrat-concession")
                if root is not None and depth == 1:
                    root.remove(element)
    except ParseError as exc:
        raise NotDecp(f"XML illisible : {exc}") from None
    if not seen_root:
        raise NotDecp("Fichier XML vide.")


def _unwrap(item: Any, key: str) -> Any:
    """2024 wraps list items (`{"titulaire": {...}}`); 2019 does not."""
    if isinstance(item, dict) and isinstance(item.get(key), dict):
        return item[key]
    return item


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _holders(items: Any, wrapper: str) -> list[Any]:
    out = []
    for raw in items if isinstance(items, list) else []:
        item = _unwrap(raw, wrapper)
        if isinstance(item, dict):
            out.append(
                holder_from(
                    item.get("id"), item.get("typeIdentifiant"), item.get("denominationSociale")
                )
            )
        else:
            out.append(Problem("invalid_identifier", f"Titulaire illisible : {str(raw)[:60]}."))
    return out


def to_record(raw: Any, version: str, concession: bool | None) -> Record:
    if not isinstance(raw, dict):
        return Record(label="?", problem=Problem(INVALID_RECORD, "Enregistrement illisible."))
    if concession is None:  # 2019: one list for both kinds
        concession = "autoriteConcedante" in raw or str(raw.get("_type", "")).startswith("Contrat")
    buyer = raw.get("autoriteConcedante" if concession else "acheteur")
    buyer = buyer if isinstance(buyer, dict) else {}
    reference = _text(raw.get("id"))
    buyer_siret = _text(buyer.get("id"))
    record = Record(
        label=f"{buyer_siret or '?'}/{reference or '?'}",
        buyer_siret=buyer_siret,
        buyer_name=_text(buyer.get("nom")),
        reference=reference,
        object=_text(raw.get("objet")),
        amount=raw.get("valeurGlobale" if concession else "montant"),
        notified_on=raw.get("dateSignature" if concession else "dateNotification"),
        duration_months=raw.get("dureeMois"),
        cpv_code=_text(raw.get("codeCPV")),
    )
    wrapper = "concessionnaire" if concession else "titulaire"
    holders = raw.get("concessionnaires" if concession else "titulaires")
    modifications = [
        m
        for m in (_unwrap(m, "modification") for m in raw.get("modifications") or [])
        if isinstance(m, dict)
    ]
    if version != "2019" and all(str(m.get("id", "")).isdigit() for m in modifications):
        modifications.sort(key=lambda m: int(m["id"]))  # 2024: in the order of their ids
    for modification in modifications:  # new values, not deltas: the last one set wins
        amount = modification.get("valeurGlobale" if concession else "montant")
        if amount not in (None, ""):
            record.amount = amount
        if modification.get("dureeMois") not in (None, ""):
            record.duration_months = modification["dureeMois"]
        new_holders = modification.get("concessionnaires" if concession else "titulaires")
        if isinstance(new_holders, list) and new_holders:
            holders = new_holders
    if reference is None:
        record.problem = Problem(MISSING_REFERENCE, "Enregistrement sans identifiant (« id »).")
    elif record.notified_on in (None, ""):
        what = "de signature" if concession else "de notification"
        record.problem = Problem(
            MISSING_NOTIFICATION_DATE,
            f"Date {what} absente : elle n'est pas déduite de la date de publication.",
        )
    add_holders(record, _holders(holders, wrapper))
    return record
