"""In-memory store of the PDFs the sandbox serves at its own, expiring URLs."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredDocument:
    content: bytes
    filename: str
    expires_at: float


class DocumentStore:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._docs: dict[str, StoredDocument] = {}
        self._lock = threading.Lock()

    def put(self, content: bytes, filename: str, ttl_seconds: float) -> str:
        """Keep `content` for `ttl_seconds`; return the opaque id used in its URL."""
        doc_id = secrets.token_urlsafe(18)
        now = self._clock()
        with self._lock:
            if len(self._docs) > 5000:  # drop long-expired entries so a benchmark stays bounded
                self._docs = {k: d for k, d in self._docs.items() if d.expires_at > now - 3600}
            self._docs[doc_id] = StoredDocument(content, filename, now + ttl_seconds)
        return doc_id

    def get(self, doc_id: str) -> StoredDocument | None:
        with self._lock:
            return self._docs.get(doc_id)

    def is_expired(self, doc: StoredDocument) -> bool:
        return self._clock() >= doc.expires_at

    def __len__(self) -> int:
        return len(self._docs)
