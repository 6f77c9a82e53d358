"""SIREN and SIRET: one parser, one annotated type each, for paths, bodies, queries and the CLI.

Only ASCII digits count (`str.isdigit` would take a full-width ９ or Arabic-Indic digits and make
phantom suppliers); spaces that people type (`552 100 554`, NBSP) are dropped. The check digit is
Luhn's, through python-stdnum, which knows La Poste's exception (SIREN 356000000). Every failure
is a `PydanticCustomError` of type `invalid_identifier` with a French sentence: the API answers
422 `invalid_identifier` wherever the identifier came from, never a 404.
"""

import re
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


def parse_siren(value: Any) -> str:
    """A valid SIREN (9 digits, Luhn), or `PydanticCustomError("invalid_identifier")`."""
    text = _digits(value, "SIREN", 9)
    if not stdnum_siren.is_valid(text):
        raise PydanticCustomError(
            "invalid_identifier",
            f"Le SIREN « {text} » n'est pas valide (clé de contrôle de Luhn incorrecte).",
        )
    return text


def parse_siret(value: Any) -> str:
    """A valid SIRET (14 digits, Luhn; La Poste's establishments included)."""
    text = _digits(value, "SIRET", 14)
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
