"""SIREN and SIRET: one parser, one annotated type each, for paths, bodies, queries and the CLI.

Only ASCII digits count (`str.isdigit` would take a full-width ９ or Arabic-Indic digits and make
phantom suppliers); spaces that people type (`552 100 554`, NBSP) are dropped. The check digit is
Luhn's, through python-stdnum, which knows La Poste's exception (SIREN 356000000). Every failure
is a `PydanticCustomError` of type `invalid_identifier` with a French sentence: the API answers
422 `invalid_identifier` wherever the identifier came from, never a 404.
"""

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

_SPACES = re.compile(r"[ \t\u00a0\u202f]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _digits(value: Any, what: str, length: int) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PydanticCustomError(
            "invalid_identifier", f"Le {what} doit être une chaîne de chiffres."
        )
    text = _SPACES.sub("", str(value))
    if not _ASCII_DIGITS.fullmatch(text) or len(text) != length:
        shown = str(value)[:40]
        raise PydanticCustomError(
            "invalid_identifier", f"Le {what} « {shown} » doit compter {length} chiffres."
        )
    return text


def _not_all_zeros(text: str, what: str) -> str:
    # Luhn accepts 000000000: no company has it, and it would make one phantom supplier.
    if not text.strip("0"):
        raise PydanticCustomError(
            "invalid_identifier", f"Le {what} « {text} » n'existe pas (que des zéros)."
        )
    return text


def parse_siren(value: Any) -> str:
    """A valid SIREN (9 digits, Luhn), or `PydanticCustomError("invalid_identifier")`."""
    text = _not_all_zeros(_digits(value, "SIREN", 9), "SIREN")
    if not stdnum_siren.is_valid(text):
        raise PydanticCustomError(
            "invalid_identifier",
            f"Le SIREN « {text} » n'est pas valide (clé de contrôle de Luhn incorrecte).",
        )
    return text


def parse_siret(value: Any) -> str:
    """A valid SIRET (14 digits, Luhn; La Poste's establishments included)."""
    text = _not_all_zeros(_digits(value, "SIRET", 14), "SIRET")
    if not stdnum_siret.is_valid(text):
        raise PydanticCustomError(
            "invalid_identifier",
            f"Le SIRET « {text} » n'est pas valide (clé de contrôle de Luhn incorrecte).",
        )
    return text


def parse_optional_siren(value: Any) -> str | None:
    return None if value is None else parse_siren(value)


def parse_optional_siret(value: Any) -> str | None:
    return None if value is None else parse_siret(value)


Siren = Annotated[
    str,
    BeforeValidator(parse_siren),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{9}$", "description": "SIREN (9 chiffres, clé de Luhn)"}
    ),
]
Siret = Annotated[
    str,
    BeforeValidator(parse_siret),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{14}$",
            "description": "SIRET (14 chiffres, clé de Luhn)",
        }
    ),
]
OptionalSiren = Annotated[str | None, BeforeValidator(parse_optional_siren)]
OptionalSiret = Annotated[str | None, BeforeValidator(parse_optional_siret)]


# --- a supplier, French or foreign ------------------------------------------------------------

_FOREIGN = re.compile(r"[A-Z]{2}[A-Z0-9]{2,62}")


@dataclass(frozen=True, slots=True)
class SupplierKey:
    """How a supplier is named in a path or a lookup: a SIREN (a SIRET names its company), or a
    foreign identifier that starts with its ISO country code, as VAT numbers do (`DE811907980`)."""

    text: str  # as normalised: the SIREN, the SIRET, or the foreign identifier
    siren: str | None = None
    country: str | None = None

    @property
    def is_foreign(self) -> bool:
        return self.siren is None

    @property
    def national_id(self) -> str | None:
        """A foreign identifier without its country prefix (`811907980` for `DE811907980`)."""
        return self.text[2:] if self.is_foreign else None


def parse_supplier_key(value: Any) -> SupplierKey:
    """All digits: a SIREN (9) or a SIRET (14), validated as such (`12345678` is refused, never
    taken for a foreign id). Otherwise a country code (not FR) then 2 to 62 letters or digits."""
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_identifier", "L'identifiant doit être une chaîne.")
    text = _SPACES.sub("", value).upper()
    if _ASCII_DIGITS.fullmatch(text):
        if len(text) == 14:
            siret = parse_siret(text)
            return SupplierKey(siret, siren=siret[:9])
        return SupplierKey(parse_siren(text), siren=text)
    if _FOREIGN.fullmatch(text) and not text.startswith("FR"):
        return SupplierKey(text, country=text[:2])
    raise PydanticCustomError(
        "invalid_identifier",
        f"« {str(value)[:40]} » n'est ni un SIREN (9 chiffres), ni un SIRET (14 chiffres), ni un "
        "identifiant étranger commençant par son code pays (par exemple DE811907980).",
    )


def _supplier_text(value: Any) -> str:
    return parse_supplier_key(value).text


# A path or query parameter naming a supplier (validated, normalised text; FastAPI wants scalars).
SupplierId = Annotated[
    str,
    BeforeValidator(_supplier_text),
    WithJsonSchema(
        {
            "type": "string",
            "description": "SIREN, SIRET, or a foreign identifier starting with its ISO country "
            "code (DE811907980)",
        }
    ),
]


# --- free text that names or identifies something -------------------------------------------

# Invisible characters: bidirectional overrides and isolates make a name read backwards (Trojan
# Source, CVE-2021-42574), zero-width ones make two references look the same.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean_text(value: Any) -> Any:
    """A reference or a name: stripped (so blank is empty, and refused by `min_length`), and
    refused with `invalid_text` when it holds an invisible character."""
    if not isinstance(value, str):
        return value
    if _INVISIBLE.search(value):
        raise PydanticCustomError(
            "invalid_text",
            "Caractère invisible interdit (contrôle bidirectionnel ou de largeur nulle) : "
            "retirez-le.",
        )
    return value.strip()
