"""From an HTTP answer to an `Outcome` (DINUM doc "Codes HTTP et erreurs"; research §5).
Branch on the HTTP status first; the error `code` only for the documented special cases."""

from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import ValidationError

from app.integrations.api_entreprise.operations import Operation
from app.integrations.api_entreprise.outcomes import Outcome, OutcomeKind

PARIS = ZoneInfo("Europe/Paris")
CONFLICT_RETRY = timedelta(seconds=10)  # 409: the same call is in progress upstream
PROVIDER_RETRY = timedelta(minutes=15)  # 5xx without meta.retry_in
MANUAL_REVIEW_RETRY = timedelta(hours=48)  # URSSAF 04501 default (meta.retry_in: 172800)


def maintenance_end(window: tuple[time, time], now: datetime) -> datetime | None:
    """The end of the provider's maintenance window (Europe/Paris) if `now` is inside it."""
    local = now.astimezone(PARIS)
    start, end = window
    if start <= local.time() < end:
        return datetime.combine(local.date(), end, PARIS).astimezone(UTC)
    return None


def retry_after_seconds(headers: httpx.Headers, default: float = 60.0) -> float:
    value = headers.get("retry-after")
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return default


def rate_limit_headers(headers: httpx.Headers) -> tuple[int | None, float | None]:
    """(`RateLimit-Remaining`, `RateLimit-Reset` as UNIX time). The doc gives Reset as a UNIX
    timestamp; a small number is read as seconds from now (the IETF draft's form)."""
    try:
        remaining = int(headers["ratelimit-remaining"])
        reset = float(headers["ratelimit-reset"])
    except (KeyError, ValueError):
        return None, None
    if reset < 1_000_000_000:
        reset += datetime.now(UTC).timestamp()
    return remaining, reset


def _first_error(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            return first
    return {}


def interpret(op: Operation, response: httpx.Response, now: datetime) -> Outcome:
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None

    def make(kind: OutcomeKind, **kw: Any) -> Outcome:
        return Outcome(kind, op.name, status, request_id=request_id, **kw)

    if status == 200:
        return _delivered(op, body, now, make)
    error = _first_error(body)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("detail") or error.get("title")
    meta: dict[str, Any] = error["meta"] if isinstance(error.get("meta"), dict) else {}
    retry_in = meta.get("retry_in") if isinstance(meta.get("retry_in"), int | float) else None

    def pending(default: timedelta) -> Outcome:
        delay = timedelta(seconds=retry_in) if retry_in else default
        return make(OutcomeKind.PENDING, error_code=code, message=message, retry_at=now + delay)

    if status in (401, 403):
        return make(OutcomeKind.CONFIG_ERROR, error_code=code, message=message)
    if status == 404:
        return make(op.not_found, error_code=code, message=message)
    if status == 451:  # INSEE: an entity that is never published
        return make(OutcomeKind.UNAVAILABLE, error_code=code, message=message)
    if status == 409:
        return pending(CONFLICT_RETRY)
    if status == 429:
        delay = timedelta(seconds=retry_after_seconds(response.headers))
        return make(OutcomeKind.PENDING, error_code=code, message=message, retry_at=now + delay)
    if status == 502 and code == "04501":  # URSSAF manual review of the account
        return pending(MANUAL_REVIEW_RETRY)
    if status == 502 and code == "04503":
        # URSSAF (v3 only): "the account's situation does not allow the attestation", which the
        # spec says may come from an establishment that did not report. That is no finding that
        # the company is behind with its contributions (only `refus_de_delivrance` is): the
        # contractor can obtain its attestation itself, so it is to be uploaded.
        return make(OutcomeKind.UNAVAILABLE, error_code=code, message=message)
    if status == 502 and code == "03501":  # DGFIP "potentielle ressource non trouvée"
        return make(OutcomeKind.UNAVAILABLE, error_code=code, message=message)
    if status >= 500:
        return pending(PROVIDER_RETRY)
    # 400, 422 and anything undocumented: our request is wrong — fail loudly.
    return make(OutcomeKind.BUG, error_code=code, message=message or f"HTTP {status} inattendu")


def _delivered(op: Operation, body: Any, now: datetime, make: Any) -> Outcome:
    if not isinstance(body, dict):
        return make(OutcomeKind.BUG, message="Réponse illisible (JSON attendu)")
    data = body.get("data")
    if op is not None and op.name == "privileges" and data is None:
        data = body  # the doc shows `{"privileges": [...]}` without the envelope
    if data is None:
        return make(OutcomeKind.BUG, message="Réponse sans champ data", raw=body)
    try:
        model = op.model.model_validate({"certificates": data} if op.list_data else data)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
        return make(OutcomeKind.BUG, message=f"Réponse non conforme ({fields})", raw=body)
    reading = op.read(model)
    retry_at = now + timedelta(seconds=reading.retry_in) if reading.retry_in else None
    valid_from: date | None = reading.valid_from
    return make(
        reading.kind,
        message=reading.message,
        retry_at=retry_at,
        data=model,
        raw=body,
        valid_from=valid_from,
        valid_until=reading.valid_until,
        security_code=reading.security_code,
    )
