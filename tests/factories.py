"""Test data builders: valid identifiers and payloads."""

import random
from typing import Any


def luhn_complete(prefix: str) -> str:
    """Append the digit that makes `prefix` pass the Luhn check."""
    for digit in "0123456789":
        candidate = prefix + digit
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            n = int(ch)
            if i % 2 == 1:
                n *= 2
                if n > 9:
                    n -= 9
            total += n
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def random_siren(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    while True:
        siren = luhn_complete(f"{rng.randrange(1, 10)}{rng.randrange(10**7):07d}")
        if siren != "356000000":
            return siren


def random_siret(siren: str | None = None, rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    return luhn_complete((siren or random_siren(rng)) + f"{rng.randrange(10**4):04d}")


def contract_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "reference": f"MARCHE-{random.randrange(10**9)}",
        "object": "Entretien des espaces verts",
        "amount_ht": "48000.00",
        "notified_on": "2026-03-02",
        "duration_months": 24,
        "holders": [{"siret": random_siret()}],
    }
    payload.update(overrides)
    return payload


def prefix_of(key: str) -> str:
    """The visible prefix of a key `vg_<hex>_<secret>` (the secret may itself contain `_`)."""
    return "_".join(key.removeprefix("Bearer ").split("_")[:2])
