"""Settings of the local API Entreprise sandbox (limits, faults, clock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

SANDBOX_TOKEN = "sandbox-dev-token"

# Privilege names the sandbox grants by default (the real names are listed by GET /privileges
# on a real token; these are the sandbox's own labels, one per served endpoint family).
ALL_PRIVILEGES: tuple[str, ...] = (
    "unites_legales_etablissements_insee",
    "extrait_rcs",
    "entreprises_artisanales",
    "extrait_rne",
    "attestations_sociales",
    "attestations_fiscales",
    "msa_cotisations",
    "fntp_carte_pro",
    "qualibat",
    "certificat_rge_ademe",
    "certificat_cnetp",
    "certificat_cibtp",
    "opqibi",
    "probtp",
)


def _today() -> date:
    return date.today()


@dataclass
class SandboxConfig:
    """Everything that shapes how the sandbox answers.

    Limits mirror the real API (research notes §4): 250 JSON and 50 document calls per minute
    per token, counted in fixed one-minute windows opened by the first call.
    `clock` (UNIX seconds) and `today` are injectable so tests can move time.
    """

    tokens: tuple[str, ...] = (SANDBOX_TOKEN,)
    expired_tokens: tuple[str, ...] = ()
    privileges: tuple[str, ...] = ALL_PRIVILEGES
    json_per_minute: int = 250
    documents_per_minute: int = 50
    window_seconds: float = 60.0
    latency_ms: float = 0.0
    error_rate: float = 0.0  # share of calls answered 502/504 (after counting them)
    timeout_rate: float = 0.0  # share of calls that sleep `timeout_seconds` before answering
    timeout_seconds: float = 30.0  # longer than the client's 5 s / 12 s timeouts
    seed: int = 0
    document_ttl_seconds: int | None = None  # None: each endpoint's realistic lifetime
    # Serve documents under another host name than the API's ("localhost" when the API is on
    # 127.0.0.1; "localhost:8124" also changes the port, e.g. to one where nothing listens), as
    # the real API does with storage.entreprise.api.gouv.fr. None: the request's own host.
    document_host: str | None = None
    conflict_detection: bool = True  # 409 00015 for a duplicate request already in progress
    clock: Callable[[], float] = field(default=time.time)
    today: Callable[[], date] = field(default=_today)
