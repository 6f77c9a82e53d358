"""Observability (issue 14): `/metrics` in Prometheus' format (requests by route template and
status, checks, upstream calls, reconciler…), protected by a token or absent in production; one
structured log line per request (JSON in production) with its id, route, status and duration."""

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.config import MetricsSettings, Settings
from app.keys.models import Role
from app.main import install_metrics
from app.observability import JsonFormatter


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_requests_are_counted_by_route_template(client, make_buyer, make_key):  # type: ignore[no-untyped-def]
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    before = (await client.get("/metrics")).text
    r = await client.get("/v1/suppliers/552100554", headers=headers)
    status = str(r.status_code)
    await client.get("/no/such/page/123456")
    after = await client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    key = {"method": "GET", "route": "/v1/suppliers/{siren}", "status": status}
    assert _sample(text, "vigie_http_requests_total", **key) == (
        _sample(before, "vigie_http_requests_total", **key) + 1
    )
    assert "552100554" not in text and "/no/such/page" not in text  # templates, never raw paths
    assert 'route="<unmatched>"' in text
    assert "vigie_http_request_duration_seconds_bucket" in text
    for name in (
        "vigie_checks_total",
        "vigie_upstream_calls_total",
        "vigie_limiter_wait_seconds",
        "vigie_queue_depth",
        "vigie_checks_in_flight",
        "vigie_reconciler_recoveries_total",
        "vigie_archive_writes_total",
        "vigie_archive_verify_runs_total",
        "vigie_webhook_deliveries_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


async def test_a_token_protects_the_metrics(make_app, settings):  # type: ignore[no-untyped-def]
    secret = "scrape-me-" + "x" * 30
    guarded = settings.model_copy(update={"metrics": MetricsSettings(token=SecretStr(secret))})
    async with make_app(guarded) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as c:
            refused = await c.get("/metrics")
            assert refused.status_code == 401
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "invalid_metrics_token"
            wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            ok = await c.get("/metrics", headers={"Authorization": f"Bearer {secret}"})
            assert ok.status_code == 200 and "vigie_http_requests_total" in ok.text
            assert secret not in ok.text


@pytest.mark.parametrize(
    ("environment", "token", "enabled", "served"),
    [
        ("production", None, True, False),  # no token in production: no /metrics at all
        ("production", "t" * 40, True, True),
        ("development", None, True, True),
        ("development", None, False, False),
    ],
)
def test_when_metrics_are_served(environment, token, enabled, served) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.model_construct(
        environment=environment,
        metrics=MetricsSettings(enabled=enabled, token=SecretStr(token) if token else None),
    )
    app = FastAPI()
    install_metrics(app, settings)
    assert any(getattr(r, "path", None) == "/metrics" for r in app.routes) is served


async def test_one_log_line_per_request_with_its_id(client, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="vigie.request")
    r = await client.get(
        "/v1/contracts?token=secret-in-query", headers={"X-Request-ID": "trace-42"}
    )
    assert r.headers["x-request-id"] == "trace-42"
    lines = [rec for rec in caplog.records if rec.name == "vigie.request"]
    assert len(lines) == 1
    record = lines[0]
    assert (record.request_id, record.route, record.status) == (
        "trace-42",
        "/v1/contracts",
        r.status_code,
    )
    assert record.duration_ms >= 0
    formatted = JsonFormatter().format(record)
    entry = json.loads(formatted)
    assert entry["request_id"] == "trace-42" and entry["route"] == "/v1/contracts"
    assert entry["status"] == r.status_code and entry["level"] == (
        "error" if r.status_code >= 500 else "info"
    )
    assert "secret-in-query" not in formatted  # the query string is never logged


async def test_the_caller_is_in_the_log_but_never_its_key(client, make_buyer, make_key, caplog):  # type: ignore[no-untyped-def]
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    caplog.set_level(logging.INFO, logger="vigie.request")
    await client.get("/v1/contracts", headers=headers)
    record = next(rec for rec in caplog.records if rec.name == "vigie.request")
    formatted = JsonFormatter().format(record)
    entry = json.loads(formatted)
    assert entry["buyer_id"] == str(buyer.id) and entry["key_prefix"].startswith("vg_")
    secret = headers["Authorization"].removeprefix("Bearer ")
    assert secret not in formatted and secret.split("_", 2)[2] not in formatted
