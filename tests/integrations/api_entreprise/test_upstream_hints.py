"""Upstream hints are bounded: a Retry-After, a `meta.retry_in` or a RateLimit-Reset that is
not a finite number never crashes a check (the default delay applies), and one that is too far
away is clamped to API_ENTREPRISE__MAX_RETRY_SECONDS, the reason saying so (issue 9)."""

import time
from datetime import timedelta

import httpx
import pytest

from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise.interpret import (
    MIN_RETRY_SECONDS,
    bound_delay,
    parse_seconds,
    rate_limit_headers,
    retry_after,
)
from app.integrations.api_entreprise.ratelimit import Family
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON

URSSAF = "/v4/urssaf/unites_legales/000000001/attestation_vigilance"
THREE_DAYS = timedelta(seconds=259200)
CLAMPED = "délai demandé par la source ramené à 3 jour(s)"


async def urssaf(client):
    return await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M1"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e309", None),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        (10**400, None),
        ("99999999999", 99999999999.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        (1e20, 1e20),
        (0, 0.0),
    ],
)
def test_parse_seconds_reads_only_finite_non_negative_numbers(value, expected) -> None:
    assert parse_seconds(value) == expected


def test_bound_delay() -> None:
    assert bound_delay(None, 60, 259200).seconds == 60
    assert bound_delay(0, 60, 259200).seconds == MIN_RETRY_SECONDS
    clamped = bound_delay(1e20, 60, 259200)
    assert (clamped.seconds, clamped.clamped) == (259200, True)
    assert clamped.note("Détail") == f"Détail ({CLAMPED})"
    assert bound_delay(100, 60, 259200).note("Détail") == "Détail"


@pytest.mark.parametrize("value", ["1e309", "nan", "inf", "-5", "demain", ""])
async def test_unusable_retry_after_gives_the_default_delay(make_client, staging, value) -> None:
    staging.overrides[URSSAF] = lambda _: httpx.Response(429, headers={"Retry-After": value})
    client = make_client()
    outcome = await urssaf(client)
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at == NOON + timedelta(seconds=60)
    assert CLAMPED not in (outcome.message or "")
    # The limiter was blocked for about a minute, not forever nor not at all.
    wait = await client.limiter._try_acquire(client.token_id, Family.DOCUMENTS)
    assert 0 < wait <= 62


@pytest.mark.parametrize(
    "value", ["99999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 01 Jan 3000 00:00:00 -0000"]
)
async def test_a_retry_after_too_far_away_is_clamped(make_client, staging, value) -> None:
    staging.overrides[URSSAF] = lambda _: httpx.Response(429, headers={"Retry-After": value})
    client = make_client()
    outcome = await urssaf(client)
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at == NOON + THREE_DAYS  # not the year 5195
    assert outcome.message and CLAMPED in outcome.message.lower()
    wait = await client.limiter._try_acquire(client.token_id, Family.DOCUMENTS)
    assert 259200 - 5 < wait <= 259200 + 2
    second = await urssaf(client)  # blocked by the limiter: pending, no crash, no call
    assert second.kind is OutcomeKind.PENDING
    assert second.retry_at is not None and second.retry_at.year < 2100


def test_an_http_date_retry_after_is_read(monkeypatch) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    headers = httpx.Headers({"Retry-After": "Fri, 27 Nov 2026 11:02:00 GMT"})
    assert retry_after(headers, now=now).seconds == 120
    past = httpx.Headers({"Retry-After": "Fri, 27 Nov 2026 10:00:00 GMT"})
    assert retry_after(past, now=now).seconds == 60  # a date already gone: unusable, default


async def test_max_retry_seconds_is_a_setting(make_client, staging, ae_settings) -> None:
    settings = ae_settings.model_copy(update={"max_retry_seconds": 3600})
    staging.overrides[URSSAF] = lambda _: httpx.Response(429, headers={"Retry-After": "86400"})
    outcome = await urssaf(make_client(settings=settings))
    assert outcome.retry_at == NOON + timedelta(hours=1)
    assert outcome.message and "ramené à 1 heure(s)" in outcome.message


def manual_review(retry_in: str) -> httpx.Response:
    body = '{"errors": [{"code": "04501", "title": "T", "detail": "Analyse manuelle", "meta": '
    body += '{"retry_in": ' + retry_in + "}}]}"
    return httpx.Response(502, content=body.encode(), headers={"Content-Type": "application/json"})


async def test_retry_in_1e20_is_clamped(make_client, staging) -> None:
    staging.overrides[URSSAF] = lambda _: manual_review("1e20")
    outcome = await urssaf(make_client())
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at == NOON + THREE_DAYS
    assert outcome.message == f"Analyse manuelle ({CLAMPED})"


@pytest.mark.parametrize("retry_in", ["NaN", "Infinity", "1e309", "-5", '"bientôt"', "null"])
async def test_unusable_retry_in_gives_the_default_delay(make_client, staging, retry_in) -> None:
    staging.overrides[URSSAF] = lambda _: manual_review(retry_in)
    outcome = await urssaf(make_client())
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at == NOON + timedelta(hours=48)  # URSSAF 04501's documented default
    assert outcome.message == "Analyse manuelle"


@pytest.mark.parametrize("reset", ["inf", "nan", "1e309", "-5", "x"])
def test_unusable_ratelimit_reset_is_ignored(reset) -> None:
    headers = httpx.Headers({"RateLimit-Remaining": "0", "RateLimit-Reset": reset})
    assert rate_limit_headers(headers) == (None, None)


def test_a_ratelimit_reset_too_far_away_is_clamped() -> None:
    headers = httpx.Headers({"RateLimit-Remaining": "0", "RateLimit-Reset": "99999999999"})
    remaining, reset = rate_limit_headers(headers, 3600)
    assert remaining == 0 and reset is not None and reset <= time.time() + 3600 + 1


@pytest.mark.parametrize("reset", ["inf", "nan", "1e309", "99999999999"])
async def test_a_call_with_a_wild_ratelimit_reset_is_delivered(make_client, staging, reset):
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": reset}
        return httpx.Response(200, json=staging_body(), headers=headers)

    staging.overrides["/v4/insee/sirene/unites_legales/552049447"] = answer
    client = make_client()
    first = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M1")
    assert first.kind is OutcomeKind.DELIVERED
    second = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M1")
    if second.kind is OutcomeKind.PENDING:  # blocked until a bounded reset, never forever
        assert second.retry_at is not None and second.retry_at.year < 2100
    else:
        assert second.kind is OutcomeKind.DELIVERED


def staging_body() -> dict:
    from tests.integrations.api_entreprise.conftest import CASES

    return next(
        c.body for c in CASES if c.operation == "insee_unite_legale" and c.identifier == "552049447"
    )
