"""Helpers for the import tests: the DECP samples (tests/data/decp, see SOURCE.txt) and records
written inline with valid identifiers."""

import io
import json
from pathlib import Path
from typing import Any

import pytest

from app.imports.ingest import Report

DECP = Path(__file__).resolve().parents[1] / "data" / "decp"
SAMPLE_2019 = DECP / "sample-decp.json"
SAMPLE_2024 = DECP / "sample-decp-2024.json"

# Codes a skipped record may carry (the README lists them).
SKIP_CODES = {
    "below_vigilance_threshold",
    "invalid_identifier",
    "missing_notification_date",
    "missing_reference",
    "invalid_amount",
    "invalid_dates",
    "other_buyer",
    "unknown_buyer",
    "duplicate_in_file",
    "inconsistent_lines",
}


def as_stream(document: Any) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


def marche_2019(buyer: str, reference: str, holder: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "_type": "Marché",
        "id": reference,
        "acheteur": {"id": buyer, "nom": "Commune de Test"},
        "objet": "Travaux de voirie",
        "codeCPV": "45233140",
        "dureeMois": 12,
        "dateNotification": "2019-03-04+01:00",
        "montant": 48000,
        "titulaires": [{"typeIdentifiant": "SIRET", "id": holder, "denominationSociale": "X"}],
        "modifications": [],
    }
    record.update(fields)
    return record


def accounted(report: Report, records: int) -> dict[str, Any]:
    """Every record has one line and one outcome; every skipped one a known code."""
    summary = report.as_dict()
    assert summary["records"] == records == len(summary["lines"])
    kept = summary["created"] + summary["updated"] + summary["unchanged"]
    assert kept + sum(summary["skipped"].values()) == records
    for line in summary["lines"]:
        assert line["outcome"] in {"created", "updated", "unchanged", "skipped"}
        if line["outcome"] == "skipped":
            assert line["code"] in SKIP_CODES, line
            assert line["message"], line
    return summary


@pytest.fixture
def sample_counts() -> dict[str, int]:
    return {
        "2019": len(json.loads(SAMPLE_2019.read_text())["marches"]),
        "2024": len(json.loads(SAMPLE_2024.read_text())["marches"]["marche"]),
    }
