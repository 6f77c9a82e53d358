"""Mutable state of one sandbox app: limiter, documents, fault dice, counters."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.integrations.sandbox.config import SandboxConfig
from app.integrations.sandbox.documents import DocumentStore
from app.integrations.sandbox.pdf import make_pdf
from app.integrations.sandbox.ratelimit import FixedWindowLimiter

# Fields of SandboxConfig that POST /__sandbox/config may change while the sandbox runs.
TUNABLE = {
    "json_per_minute": int,
    "documents_per_minute": int,
    "latency_ms": float,
    "error_rate": float,
    "timeout_rate": float,
    "timeout_seconds": float,
    "seed": int,
    "document_ttl_seconds": int,
    "document_host": str,
    "conflict_detection": bool,
}


@dataclass
class SandboxState:
    config: SandboxConfig
    limiter: FixedWindowLimiter = field(init=False)
    documents: DocumentStore = field(init=False)
    rng: random.Random = field(init=False)
    requests: Counter[str] = field(default_factory=Counter)  # per operation
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0  # 429s served
    in_flight: set[tuple[str, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.limiter = FixedWindowLimiter(
            clock=self.config.clock,
            limits=self._limits(),
            window_seconds=self.config.window_seconds,
        )
        self.documents = DocumentStore(self.config.clock)
        self.rng = random.Random(self.config.seed)

    def _limits(self) -> dict[str, int]:
        return {"json": self.config.json_per_minute, "documents": self.config.documents_per_minute}

    def update(self, changes: dict[str, Any]) -> None:
        unknown = set(changes) - set(TUNABLE)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        for key, value in changes.items():
            cast = TUNABLE[key]
            setattr(self.config, key, None if value is None else cast(value))
        self.limiter.limits.update(self._limits())
        if "seed" in changes:
            self.rng = random.Random(self.config.seed)

    def reset(self) -> None:
        self.limiter.reset()
        self.requests.clear()
        self.statuses.clear()
        self.faults.clear()
        self.rate_limited = 0
        self.rng = random.Random(self.config.seed)

    def store_pdf(
        self,
        title: str,
        company: str,
        identifier: str,
        valid_from: date | None,
        valid_until: date | None,
        ttl: int,
    ) -> str:
        lines = [title, company, f"SIREN/SIRET : {identifier}"]
        if valid_from:
            lines.append(f"Date de début de validité : {valid_from.isoformat()}")
        if valid_until:
            lines.append(f"Date de fin de validité : {valid_until.isoformat()}")
        lines += ["", "Document fictif produit par le bac à sable Vigie."]
        ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "_", ascii_title.lower()).strip("_")[:40] or "document"
        return self.documents.put(make_pdf(lines, title), f"{slug}.pdf", ttl)

    def stats(self) -> dict[str, Any]:
        limiter = self.limiter.stats()
        return {
            "total_requests": sum(self.requests.values()),
            "rate_limited": self.rate_limited,
            "limits": self._limits(),
            "window_seconds": self.config.window_seconds,
            "requests": dict(self.requests),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults": dict(self.faults),
            "documents": len(self.documents),
            **limiter,
        }
