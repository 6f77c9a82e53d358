"""The request log and the process's log format.

`RequestLog` is the outermost ASGI middleware: it gives each request its id (the client's
`X-Request-ID` when printable and short, else a UUID), echoes it in the answer, and when the
answer is sent counts it (`app.metrics`: route template, status, latency) and writes one line to
the `vigie.request` logger: request id, method, route, status, duration, and the caller's key
prefix and buyer once authenticated (never a key, a token or a query string).

`configure_logging`: JSON lines in production (one object per record, with those fields), readable
text in development. Uvicorn's own access log is off by default in production (`LOG_ACCESS`):
the request log replaces it.
"""

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.config import Settings

log = logging.getLogger("vigie.request")
# Fields a record may carry (`extra=`) that the JSON format writes out.
FIELDS = ("request_id", "method", "route", "status", "duration_ms", "buyer_id", "key_prefix")
UNMATCHED = "<unmatched>"  # a path no route serves: one label, not one per path tried


def _request_id(scope: Scope) -> str:
    incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
    return incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else str(uuid.uuid4())


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", None) or UNMATCHED)


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, state, rid, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, state: dict[str, Any], rid: str, status: int, seconds: float) -> None:
        method, route = str(scope.get("method", "")), route_of(scope)
        metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
        metrics.HTTP_DURATION.labels(method, route).observe(seconds)
        extra = {
            "request_id": rid,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "buyer_id": str(state["buyer_id"]) if state.get("buyer_id") else None,
            "key_prefix": state.get("key_prefix"),
        }
        level = logging.ERROR if status >= 500 else logging.INFO
        log.log(level, "%s %s %d %.1fms", method, route, status, seconds * 1000, extra=extra)


# --- the log format ------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request fields, the error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: Settings) -> None:
    """JSON lines in production, text elsewhere; on the root logger, once per process."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "vigie", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.vigie = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if settings.is_production:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.setLevel(settings.log_level.upper())


def access_log_enabled(settings: Settings) -> bool:
    """Uvicorn's access log: off in production unless asked (the request log says more)."""
    return settings.log_access if settings.log_access is not None else not settings.is_production
