"""SIREN/SIRET helpers and the mapping of the Luhn-invalid staging identifiers."""

from __future__ import annotations

import re

from stdnum.fr import siren as siren_mod
from stdnum.fr import siret as siret_mod

# Some official staging identifiers (etalab/siade_staging_data) fail the Luhn check that Vigie
# applies before calling upstream. Each one is mapped onto a Luhn-valid identifier, and every
# occurrence inside the payloads is rewritten, so a staging case keeps its meaning.
STAGING_SIREN_MAP: dict[str, str] = {
    "000000001": "000000018",  # URSSAF v4 ok, DGFIP v4 delivered
    "000000002": "000000026",  # URSSAF v4 refus_de_delivrance, DGFIP v4 404
    "204594462": "204594469",  # CNETP 504
    "844451564": "844451567",  # FNTP, CNETP, OPQIBI 404
}
STAGING_SIRET_MAP: dict[str, str] = {
    "20459446201414": "20459446901419",  # CIBTP 504
    "84445156452589": "84445156752582",  # ADEME RGE, CIBTP 404
    "55203253400001": "55203253400018",  # Qualibat v4, PRO BTP attestation 404
}


def is_valid_siren(value: str) -> bool:
    return len(value) == 9 and value.isdigit() and siren_mod.is_valid(value)


def is_valid_siret(value: str) -> bool:
    return len(value) == 14 and value.isdigit() and siret_mod.is_valid(value)


def complete_siret(siren: str, nic_prefix: str = "0001") -> str:
    """The Luhn-valid SIRET made of `siren`, `nic_prefix` and one check digit."""
    for digit in "0123456789":
        candidate = f"{siren}{nic_prefix}{digit}"
        if siret_mod.is_valid(candidate):
            return candidate
    raise ValueError(f"no valid SIRET for {siren}{nic_prefix}")


def head_office_siret(siren: str) -> str:
    return complete_siret(siren, "0001")


def _sub(pattern_map: dict[str, str], text: str) -> str:
    for old, new in pattern_map.items():
        text = re.sub(rf"(?<!\d){old}(?!\d)", new, text)
    return text


def remap_staging_text(text: str) -> str:
    """Rewrite the Luhn-invalid staging identifiers inside a payload or a params value."""
    return _sub(STAGING_SIREN_MAP, _sub(STAGING_SIRET_MAP, text))
