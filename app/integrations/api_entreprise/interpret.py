"""From an HTTP answer to an `Outcome` (DINUM doc "Codes HTTP et erreurs"; research §5).
Branch on the HTTP status first; the error `code` only for the documented special cases."""

import math
from dataclasses import dataclass
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
RATE_LIMIT_RETRY = timedelta(seconds=60)  # 429 without a usable Retry-After
# Bounds of every wait upstream asks for: a hint such as `Retry-After: 99999999999` must not
# put a supplier's next check in the year 5195 (the upper bound is API_ENTREPRISE__MAX_RETRY_SECONDS).
MIN_RETRY_SECONDS = 5.0
DEFAULT_MAX_RETRY_SECONDS = 259200.0  # 3 days


def maintenance_end(window: tuple[time, time], now: datetime) -> datetime | None:
    """The end of the provider's maintenance window (Europe/Paris) if `now` is inside it."""
    local = now.astimezone(PARIS)
    start, end = window
    if start <= local.time() < end:
        return datetime.combine(local.date(), end, PARIS).astimezone(UTC)
    return None


def parse_seconds(value: object) -> float | None:
    """A number of seconds from upstream (a header or `meta.retry_in`), or None when it is not a
    finite, non-negative number: `1e309`, `nan`, `inf`, `-5` and `"soon"` all read as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


@dataclass(frozen=True)
class Delay:
    """A wait asked by upstream, bounded: `clamped` says the hint was out of range."""

    seconds: float
    clamped: bool = False

    def note(self, message: str | None) -> str | None:
        """`message` with, when the hint was clamped, a French sentence saying so."""
        if not self.clamped:
            return message
        note = f"délai demandé par la source ramené à {_human(self.seconds)}"
        return f"{message} ({note})" if message else note.capitalize()


def _human(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{int(seconds // 86400)} jour(s)"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} heure(s)"
    return f"{int(seconds)} s"


def bound_delay(
    hint: float | None, default: float, maximum: float = DEFAULT_MAX_RETRY_SECONDS
) -> Delay:
    """Clamp a parsed hint (None: the default) to [MIN_RETRY_SECONDS, maximum]."""
    maximum = max(maximum, MIN_RETRY_SECONDS)
    seconds = default if hint is None else hint
    bounded = min(max(seconds, MIN_RETRY_SECONDS), maximum)
    clamped = hint is not None and bounded != hint and hint > maximum
    return Delay(bounded, clamped)


def retry_after(
    headers: httpx.Headers,
    default: float = 60.0,
    maximum: float = DEFAULT_MAX_RETRY_SECONDS,
    now: datetime | None = None,
) -> Delay:
    """`Retry-After` (delta-seconds or an HTTP date), parsed defensively and bounded."""
    value = headers.get("retry-after")
    if not value:
        return bound_delay(None, default, maximum)
    hint = parse_seconds(value)
    if hint is None:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            hint = parse_seconds((when - (now or datetime.now(UTC))).total_seconds())
        except (TypeError, ValueError, IndexError, OverflowError):
            hint = None
    return bound_delay(hint, default, maximum)


def retry_after_seconds(
    headers: httpx.Headers, default: float = 60.0, maximum: float = DEFAULT_MAX_RETRY_SECONDS
) -> float:
    return retry_after(headers, default, maximum).seconds


def rate_limit_headers(
    headers: httpx.Headers, maximum: float = DEFAULT_MAX_RETRY_SECONDS
) -> tuple[int | None, float | None]:
    """(`RateLimit-Remaining`, `RateLimit-Reset` as UNIX time). The doc gives Reset as a UNIX
    timestamp; a small number is read as seconds from now (the IETF draft's form). A reset that
    is not a finite number is ignored; one further than `maximum` seconds away is brought back."""
    try:
        remaining = int(headers["ratelimit-remaining"])
    except (KeyError, ValueError):
        return None, None
    reset = parse_seconds(headers.get("ratelimit-reset"))
    if reset is None:
        return None, None
    now = datetime.now(UTC).timestamp()
    if reset < 1_000_000_000:
        reset += now
    return remaining, min(reset, now + max(maximum, MIN_RETRY_SECONDS))


def _first_error(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            return first
    return {}


def interpret(
    op: Operation,
    response: httpx.Response,
    now: datetime,
    *,
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS,
) -> Outcome:
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None

    def make(kind: OutcomeKind, **kw: Any) -> Outcome:
        return Outcome(kind, op.name, status, request_id=request_id, **kw)

    if status == 200:
        return _delivered(op, body, now, make, max_retry_seconds)
    error = _first_error(body)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("detail") or error.get("title")
    meta: dict[str, Any] = error["meta"] if isinstance(error.get("meta"), dict) else {}
    retry_in = parse_seconds(meta.get("retry_in"))

    def pending(default: timedelta, hint: float | None = retry_in) -> Outcome:
        delay = bound_delay(hint or None, default.total_seconds(), max_retry_seconds)
        return make(
            OutcomeKind.PENDING,
            error_code=code,
            message=delay.note(message),
            retry_at=now + timedelta(seconds=delay.seconds),
        )

    if status in (401, 403):
        return make(OutcomeKind.CONFIG_ERROR, error_code=code, message=message)
    if status == 404:
        return make(op.not_found, error_code=code, message=message)
    if status == 451:  # INSEE: an entity that is never published
        return make(OutcomeKind.UNAVAILABLE, error_code=code, message=message)
    if status == 409:
        return pending(CONFLICT_RETRY)
    if status == 429:
        delay = retry_after(
            response.headers, RATE_LIMIT_RETRY.total_seconds(), max_retry_seconds, now
        )
        return make(
            OutcomeKind.PENDING,
            error_code=code,
            message=delay.note(message),
            retry_at=now + timedelta(seconds=delay.seconds),
        )
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


def _delivered(
    op: Operation, body: Any, now: datetime, make: Any, max_retry_seconds: float
) -> Outcome:
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
    retry_at, message = None, reading.message
    if reading.retry_in is not None:
        delay = bound_delay(
            parse_seconds(reading.retry_in), PROVIDER_RETRY.total_seconds(), max_retry_seconds
        )
        retry_at, message = now + timedelta(seconds=delay.seconds), delay.note(reading.message)
    valid_from: date | None = reading.valid_from
    return make(
        reading.kind,
        message=message,
        retry_at=retry_at,
        data=model,
        raw=body,
        valid_from=valid_from,
        valid_until=reading.valid_until,
        security_code=reading.security_code,
    )
