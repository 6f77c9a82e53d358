"""The traceability parameters and identifiers, checked before any budget is spent."""

import re
import unicodedata

OBJECT_MAX_CHARS = 50  # spec: "Description courte ( < 50 caractères )"; DINUM doc: at most 50
_DIGITS = {"siren": re.compile(r"[0-9]{9}"), "siret": re.compile(r"[0-9]{14}")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_object(value: str) -> str:
    """The `object` parameter: NFC-normalised, control characters removed, whitespace
    collapsed, cut at 50 characters (never in the middle of a character), never empty."""
    text = unicodedata.normalize("NFC", value)
    text = " ".join(_CONTROL.sub(" ", text).split())
    text = text[:OBJECT_MAX_CHARS].rstrip()
    return text or "Vigilance"


def invalid_identifier(kind: str, identifier: str, recipient: str) -> str | None:
    """A French sentence when the call must not be made (it would come back 422), else None."""
    if not _DIGITS[kind].fullmatch(identifier or ""):
        label = "SIREN (9 chiffres)" if kind == "siren" else "SIRET (14 chiffres)"
        return f"Identifiant invalide : un {label} est attendu"
    if not _DIGITS["siret"].fullmatch(recipient or ""):
        return "Le destinataire (recipient) doit être le SIRET de l'acheteur (14 chiffres)"
    if recipient == identifier or recipient[:9] == identifier[:9]:
        # The API rejects a recipient equal to the queried entity: it must be the buyer.
        return "Le destinataire (recipient) doit être l'acheteur, pas l'entreprise interrogée"
    return None
