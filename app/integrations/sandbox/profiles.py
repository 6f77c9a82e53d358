"""Deterministic behaviour profiles: which story the sandbox tells for a given SIREN.

Any valid SIREN gets a profile from a hash of its digits, so the same company always looks the
same. `DEMO_SIRENS` lists one SIREN per profile (each one also hashes to its profile), and the
official staging identifiers are pinned to the profile their payloads describe.

`SCENARIO_SIRENS` pins a few rarer situations on fixed SIRENs only (the registration registers
and the kinds of collective proceedings); the hash never draws them, so adding one changes no
other company's story.
"""

from __future__ import annotations

import hashlib

from app.integrations.sandbox.identifiers import STAGING_SIREN_MAP
from app.integrations.sandbox.staging import staging_sirens

COMPLIANT = "compliant"
URSSAF_REFUSED = "urssaf_refused"
CEASED = "ceased"
OUT_OF_PERIMETER = "out_of_perimeter"
MANUAL_REVIEW = "manual_review"
STRUCK_OFF = "struck_off"
COLLECTIVE_PROCEEDINGS = "collective_proceedings"
UNKNOWN = "unknown"
# Pinned scenarios (never drawn by the hash).
ARTISAN = "artisan"
RNE_ONLY = "rne_only"
UNREGISTERED = "unregistered"
NON_DIFFUSIBLE = "non_diffusible"
LIQUIDATION = "liquidation"
SAUVEGARDE = "sauvegarde"

# Upper bound (exclusive) of each profile's bucket in hash % 100: most companies are compliant.
_BUCKETS: tuple[tuple[int, str], ...] = (
    (72, COMPLIANT),
    (78, URSSAF_REFUSED),
    (82, CEASED),
    (86, OUT_OF_PERIMETER),
    (90, MANUAL_REVIEW),
    (93, STRUCK_OFF),
    (96, COLLECTIVE_PROCEEDINGS),
    (100, UNKNOWN),
)
PROFILES: tuple[str, ...] = tuple(name for _, name in _BUCKETS)

DEMO_SIRENS: dict[str, str] = {
    COMPLIANT: "100000009",
    URSSAF_REFUSED: "100000066",
    CEASED: "100000116",
    OUT_OF_PERIMETER: "100000025",
    MANUAL_REVIEW: "100000314",
    STRUCK_OFF: "100000462",
    COLLECTIVE_PROCEEDINGS: "100000322",
    UNKNOWN: "100000389",
}

SCENARIO_SIRENS: dict[str, str] = {
    ARTISAN: "100001007",
    RNE_ONLY: "100001015",
    UNREGISTERED: "100001023",
    NON_DIFFUSIBLE: "100001056",
    LIQUIDATION: "100001064",
    SAUVEGARDE: "100001080",
}
SCENARIOS: tuple[str, ...] = tuple(SCENARIO_SIRENS)

# Staging SIRENs whose official payloads describe a particular situation; every other staging
# SIREN is compliant on the endpoints that have no staging case.
STAGING_PROFILES: dict[str, str] = {
    "000000000": UNKNOWN,  # 404 on Infogreffe and DGFIP
    STAGING_SIREN_MAP["000000002"]: URSSAF_REFUSED,
    "440752244": OUT_OF_PERIMETER,  # URSSAF 404 "hors périmètre"
    "350051447": CEASED,  # INSEE "personne morale cessée"
}

PROFILES_TABLE: list[tuple[str, str, str]] = [
    (
        COMPLIANT,
        DEMO_SIRENS[COMPLIANT],
        "everything delivered: INSEE active, RCS registered, URSSAF `ok` valid 6 months from a "
        "recent date, DGFIP delivered this month, MSA up to date, every sector certificate valid",
    ),
    (
        URSSAF_REFUSED,
        DEMO_SIRENS[URSSAF_REFUSED],
        "URSSAF 200 with `entity_status.code` = `refus_de_delivrance` and null document fields; "
        "the rest as compliant",
    ),
    (
        CEASED,
        DEMO_SIRENS[CEASED],
        "INSEE `etat_administratif` `C` (établissement `F`) with a `date_cessation`; URSSAF and "
        "DGFIP 404, sector certificates 404",
    ),
    (
        OUT_OF_PERIMETER,
        DEMO_SIRENS[OUT_OF_PERIMETER],
        "URSSAF 404 `04003` (hors périmètre) and DGFIP 404 `03003`; MSA and sector "
        "certificates 404; INSEE and RCS as compliant",
    ),
    (
        MANUAL_REVIEW,
        DEMO_SIRENS[MANUAL_REVIEW],
        "URSSAF 502 `04501` « Analyse manuelle » with `meta.retry_in` 172800; "
        "the rest as compliant",
    ),
    (
        STRUCK_OFF,
        DEMO_SIRENS[STRUCK_OFF],
        "RCS `date_radiation` set (struck off) and URSSAF 404; INSEE still active; "
        "the rest as compliant",
    ),
    (
        COLLECTIVE_PROCEEDINGS,
        DEMO_SIRENS[COLLECTIVE_PROCEEDINGS],
        "RCS `observations` carry an opening judgment of redressement judiciaire; "
        "the rest as compliant",
    ),
    (UNKNOWN, DEMO_SIRENS[UNKNOWN], "INSEE 404 (entity unknown), and 404 everywhere else"),
]

SCENARIOS_TABLE: list[tuple[str, str, str]] = [
    (
        ARTISAN,
        SCENARIO_SIRENS[ARTISAN],
        "an individual craftsman (INSEE `personne_physique`, form 1000): RCS 404, RNM 200, "
        "RNE 200; the rest as compliant",
    ),
    (
        RNE_ONLY,
        SCENARIO_SIRENS[RNE_ONLY],
        "an individual in a liberal profession: RCS 404, RNM 404, RNE 200 with its PDF; "
        "the rest as compliant",
    ),
    (
        UNREGISTERED,
        SCENARIO_SIRENS[UNREGISTERED],
        "an active SAS on no register: RCS, RNM and RNE 404; the rest as compliant",
    ),
    (
        NON_DIFFUSIBLE,
        SCENARIO_SIRENS[NON_DIFFUSIBLE],
        "INSEE 451 (never published) on the unité légale and its établissements; RCS clean; "
        "the rest as compliant",
    ),
    (
        LIQUIDATION,
        SCENARIO_SIRENS[LIQUIDATION],
        "RCS and RNE `observations` carry the judgment opening a liquidation judiciaire; "
        "the rest as compliant",
    ),
    (
        SAUVEGARDE,
        SCENARIO_SIRENS[SAUVEGARDE],
        "RCS and RNE `observations` carry the judgment opening a procédure de sauvegarde; "
        "the rest as compliant",
    ),
]


def hashed_profile(siren: str) -> str:
    bucket = int(hashlib.sha256(siren.encode()).hexdigest()[:8], 16) % 100
    for upper, name in _BUCKETS:
        if bucket < upper:
            return name
    return COMPLIANT  # pragma: no cover - buckets end at 100


def profile_for(siren: str) -> str:
    """The profile of a valid SIREN: demo, scenario and staging pins first, then the hash."""
    for name, pinned in SCENARIO_SIRENS.items():
        if pinned == siren:
            return name
    for name, demo in DEMO_SIRENS.items():
        if demo == siren:
            return name
    if siren in STAGING_PROFILES:
        return STAGING_PROFILES[siren]
    if siren in staging_sirens():
        return COMPLIANT
    return hashed_profile(siren)
