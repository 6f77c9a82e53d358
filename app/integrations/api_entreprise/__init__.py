"""API Entreprise (DINUM) integration: typed client, outcomes, shared rate limits.

Build one client per process with `build_client(settings, redis=...)`."""

from app.integrations.api_entreprise.client import ApiEntrepriseClient, token_id_for
from app.integrations.api_entreprise.factory import build_client, build_limiter
from app.integrations.api_entreprise.outcomes import (
    CallRecord,
    FetchedDocument,
    Outcome,
    OutcomeKind,
)
from app.integrations.api_entreprise.ratelimit import (
    Family,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)

__all__ = [
    "ApiEntrepriseClient",
    "CallRecord",
    "Family",
    "FetchedDocument",
    "MemoryRateLimiter",
    "Outcome",
    "OutcomeKind",
    "RateLimiter",
    "RedisRateLimiter",
    "build_client",
    "build_limiter",
    "token_id_for",
]
