"""What URSSAF answered about one security code, in Vigie's words (no httpx here: the domain
imports this module to read a verdict)."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CodeOutcome(StrEnum):
    VALID = "valide"  # the attestation exists and is within its validity
    EXPIRED = "perimee"  # it exists but its validity is over
    UNKNOWN = "inconnue"  # URSSAF does not know this code
    INCOMPLETE = "incomplete"  # the request lacked something URSSAF needs
    ERROR = "erreur"  # no answer that Vigie could read (network, timeout, 5xx, schema)


@dataclass(frozen=True)
class CodeVerdict:
    outcome: CodeOutcome
    siren: str | None = None
    company_name: str | None = None
    sirets: list[str] = field(default_factory=list)
    nature: str | None = None
    last_period: str | None = None
    valid_until: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)  # URSSAF's own item, kept as evidence

    @property
    def answered(self) -> bool:
        """URSSAF itself said something about the code (not a failure of the call)."""
        return self.outcome in (CodeOutcome.VALID, CodeOutcome.EXPIRED, CodeOutcome.UNKNOWN)
