"""Vigie's Prometheus metrics: one registry per process, served by `GET /metrics` (app/main.py).

Any layer may count here (only prometheus-client is imported): the request log counts requests,
the engine counts checks and reconciler recoveries, the API Entreprise client its calls and its
limiter's waits, the archive its writes and verifications. Queue depth and checks in flight are
read when scraped (`Gauges.refresh`, set by the app).

Several processes: each has its own registry. The API's `/metrics` shows the API process (and, in
embedded mode, every job, since they run there); an arq worker counts its own checks in its own
process (see README, "Metrics").

To count something new (webhook deliveries, say): `WEBHOOK_DELIVERIES.labels(outcome="sent").inc()`
or define a collector here with `registry=REGISTRY`.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "vigie_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "vigie_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
CHECKS = Counter(
    "vigie_checks",
    "Requirement checks finished, by requirement and outcome (delivered, refused, pending…).",
    ["requirement", "outcome"],
    registry=REGISTRY,
)
UPSTREAM_CALLS = Counter(
    "vigie_upstream_calls",
    "API Entreprise calls, by endpoint and HTTP status (0: no answer).",
    ["endpoint", "status"],
    registry=REGISTRY,
)
UPSTREAM_DURATION = Histogram(
    "vigie_upstream_call_duration_seconds",
    "API Entreprise call latency, by endpoint.",
    ["endpoint"],
    registry=REGISTRY,
)
LIMITER_WAITS = Histogram(
    "vigie_limiter_wait_seconds",
    "Time a call waited for a rate-limit slot, by family (json, documents).",
    ["family"],
    buckets=(0.0, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "vigie_queue_depth",
    "Jobs waiting in the queue (arq) or held by the in-process runner.",
    registry=REGISTRY,
)
CHECKS_IN_FLIGHT = Gauge(
    "vigie_checks_in_flight",
    "Requirement rows claimed (queued or running) in the database.",
    registry=REGISTRY,
)
RECONCILER = Counter(
    "vigie_reconciler_recoveries",
    "Rows handed out again by the reconciler: lease over, job lost by the queue, never planned.",
    ["kind"],
    registry=REGISTRY,
)
ARCHIVE_WRITES = Counter(
    "vigie_archive_writes",
    "Documents sealed into the archive (new) or found already there (duplicate).",
    ["result"],
    registry=REGISTRY,
)
ARCHIVE_VERIFY = Counter(
    "vigie_archive_verify_runs",
    "Archive verifications, by result (ok, problems).",
    ["result"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "vigie_webhook_deliveries",
    "Webhook delivery attempts, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)


def render() -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(REGISTRY)
