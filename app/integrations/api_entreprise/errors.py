"""Exceptions used inside the integration only; the client turns each into an `Outcome`."""

from datetime import datetime


class ApiEntrepriseError(Exception):
    """Base class: never raised out of `ApiEntrepriseClient` operations."""


class UpstreamRateLimited(ApiEntrepriseError):
    """No slot in the family's budget before the caller's max wait (or a 429 block is active)."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"rate limited until {retry_at.isoformat()}")
        self.retry_at = retry_at


class DocumentRefused(ApiEntrepriseError):
    """A `document_url` we will not follow or keep (SSRF guard, size cap, not a PDF)."""


class DocumentHostRefused(DocumentRefused):
    """A `document_url` on a host outside the allowed list (an operator's setting may be due)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"host {host!r} is not an allowed document host")
        self.host = host


class DocumentUnavailable(ApiEntrepriseError):
    """A transient failure while downloading a document (timeout, 5xx, connection)."""

    reason = "Document momentanément indisponible"  # French, shown to officers


class DocumentUnreadable(DocumentUnavailable):
    """A downloaded PDF that does not open (truncated, malformed, too many pages, too slow): the
    source sent a broken file, so we try again later; it is never archived as evidence."""

    reason = "Document PDF illisible ou tronqué reçu de la source"
