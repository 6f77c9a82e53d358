"""The official staging test cases (payloads/), keyed by operation and Luhn-valid identifier."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from app.integrations.sandbox.endpoints import ENDPOINTS
from app.integrations.sandbox.identifiers import remap_staging_text

PAYLOADS_DIR = Path(__file__).parent / "payloads"


@dataclass(frozen=True)
class StagingCase:
    endpoint: str
    identifier: str  # Luhn-valid (remapped) SIREN or SIRET
    status: int
    description: str
    file: str
    body_text: str  # JSON text, identifiers already remapped

    def body(self) -> dict[str, Any]:
        return json.loads(self.body_text)  # a fresh copy each time: callers may mutate it


@lru_cache(maxsize=1)
def staging_cases() -> dict[tuple[str, str], StagingCase]:
    cases: dict[tuple[str, str], StagingCase] = {}
    for endpoint in ENDPOINTS:
        folder = PAYLOADS_DIR / endpoint.staging_dir
        for path in sorted(folder.glob("*.y*ml")):
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            identifier = remap_staging_text(str(raw["params"][endpoint.id_kind]))
            case = StagingCase(
                endpoint=endpoint.name,
                identifier=identifier,
                status=int(raw["status"]),
                description=str(raw.get("description", "")),
                file=f"{endpoint.staging_dir}/{path.name}",
                body_text=remap_staging_text(raw["payload"]),
            )
            cases[(endpoint.name, identifier)] = case
    return cases


def find_case(endpoint: str, identifier: str) -> StagingCase | None:
    return staging_cases().get((endpoint, identifier))


@lru_cache(maxsize=1)
def staging_sirens() -> frozenset[str]:
    """Every SIREN that appears in a staging case (directly or as a SIRET's first 9 digits)."""
    return frozenset(identifier[:9] for _, identifier in staging_cases())
