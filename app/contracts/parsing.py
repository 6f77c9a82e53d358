"""Parsers for what ERPs and open-data feeds send: amounts and CPV codes.

Each raises a `PydanticCustomError` whose type is the stable API code and whose message is French.
SIREN and SIRET are parsed in one place, `app.identifiers`.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic_core import PydanticCustomError

# Sector certificates a contract may require explicitly (names of app.compliance.rules.RequirementType).
SECTOR_REQUIREMENTS = frozenset(
    {"fntp_card", "qualibat", "rge", "cnetp", "cibtp", "opqibi", "probtp"}
)
# The MSA attestation instead of URSSAF's for every French holder of the contract (agricultural
# regime: L243-15 CSS); a single holder is flagged with `social_regime: "msa"` instead.
MSA_REQUIREMENT = "msa_vigilance"
# What `extra_requirements` accepts.
CONTRACT_REQUIREMENTS = SECTOR_REQUIREMENTS | {MSA_REQUIREMENT}

MAX_AMOUNT = Decimal("999999999999.99")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_CPV = re.compile(r"^\d{8}(-\d)?$")


def parse_amount(value: Any) -> Decimal:
    """Euros HT as a Decimal, never a float: accepts 12345.67, "12345.67" and "12 345,67"."""
    if isinstance(value, bool) or value is None:
        raise PydanticCustomError("invalid_amount", "Le montant HT doit être un nombre.")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float):
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        text = _SPACES.sub("", value).removesuffix("€").removesuffix("EUR")
        if "," in text and "." in text:
            raise PydanticCustomError(
                "invalid_amount",
                "Montant « {value} » ambigu : utilisez la virgule ou le point comme séparateur "
                "décimal, pas les deux.",
                {"value": value},
            )
        text = text.replace(",", ".")
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            raise PydanticCustomError(
                "invalid_amount",
                "Montant « {value} » illisible : attendu un nombre en euros, par ex. 12345.67 "
                "ou « 12 345,67 ».",
                {"value": value},
            )
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex already filtered
            raise PydanticCustomError("invalid_amount", "Montant illisible.") from None
    else:
        raise PydanticCustomError("invalid_amount", "Le montant HT doit être un nombre.")
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise PydanticCustomError(
            "invalid_amount", "Le montant HT doit être positif et inférieur à mille milliards."
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise PydanticCustomError(
            "invalid_amount", "Le montant HT a au plus deux décimales (des centimes)."
        )
    return amount.quantize(Decimal("0.01"))


def parse_cpv(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = _SPACES.sub("", str(value))
    if not _CPV.match(text):
        raise PydanticCustomError(
            "invalid_cpv",
            "Le code CPV « {value} » doit avoir la forme 45210000 ou 45210000-2.",
            {"value": value},
        )
    return text
