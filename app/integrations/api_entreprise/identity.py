"""Is a 200 about the company we asked for? An answer naming another SIREN/SIRET (an upstream
mix-up, a cache keyed wrong, a proxy in between) must never be archived as this supplier's
evidence: the client turns it into a BUG, loudly.

Checked on the raw `data`, for every operation at once, wherever the official payloads carry the
identifier: `siren` or `siret` at the top of `data` (INSEE, Infogreffe…) and the RNE's
`identite_entreprise.siren`. Only the identifier of the kind the operation is called with is
compared: the staging payloads themselves pair some SIRETs with another unit's `unite_legale.siren`.
"""

from typing import Any, Literal

# Where each kind of identifier sits in a `data` object (paths of keys).
IDENTITY_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "siren": (("siren",), ("identite_entreprise", "siren")),
    "siret": (("siret",),),
}


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def payload_identifiers(kind: Literal["siren", "siret"], data: Any) -> list[str]:
    """The identifiers of `kind` an answer's `data` names (none for a payload that names none)."""
    items = data if isinstance(data, list) else [data]  # ADEME: `data` is a list
    found = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("data"), dict):
            item = item["data"]
        for path in IDENTITY_PATHS[kind]:
            value = _at(item, path)
            if value is not None and str(value).strip():
                found.append(str(value).replace(" ", "").strip())
    return found


def identity_mismatch(kind: Literal["siren", "siret"], asked: str, data: Any) -> str | None:
    """The foreign identifier an answer names instead of `asked`, or None when it matches."""
    return next((found for found in payload_identifiers(kind, data) if found != asked), None)
