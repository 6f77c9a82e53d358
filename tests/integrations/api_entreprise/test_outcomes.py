"""Outcome mapping for each status code and each kind of upstream trouble: never an exception."""

import dataclasses
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise.breaker import CircuitBreaker
from app.integrations.api_entreprise.interpret import maintenance_end
from app.integrations.api_entreprise.operations import OPERATIONS
from app.integrations.api_entreprise.params import clean_object
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON

URSSAF = "/v4/urssaf/unites_legales/000000001/attestation_vigilance"
INSEE = "/v4/insee/sirene/unites_legales/552049447"


def error(status: int, code: str, **meta: object) -> httpx.Response:
    body = {"errors": [{"code": code, "title": "Titre", "detail": "Détail", "meta": meta}]}
    return httpx.Response(status, json=body, headers={"X-Request-ID": "rid-1"})


CASES = [
    (401, "00101", {}, OutcomeKind.CONFIG_ERROR, None),
    (401, "00103", {}, OutcomeKind.CONFIG_ERROR, None),
    (403, "00100", {}, OutcomeKind.CONFIG_ERROR, None),
    (404, "04003", {}, OutcomeKind.UNAVAILABLE, None),
    (409, "00015", {}, OutcomeKind.PENDING, timedelta(seconds=10)),
    (422, "00203", {}, OutcomeKind.BUG, None),
    (400, "00000", {}, OutcomeKind.BUG, None),
    (500, "00999", {}, OutcomeKind.PENDING, timedelta(minutes=15)),
    (502, "04501", {"retry_in": 172800}, OutcomeKind.PENDING, timedelta(hours=48)),
    (502, "04502", {}, OutcomeKind.PENDING, timedelta(minutes=15)),
    (502, "04999", {"retry_in": 600}, OutcomeKind.PENDING, timedelta(minutes=10)),
    (502, "04503", {}, OutcomeKind.UNAVAILABLE, None),  # no finding of arrears
    (503, "00503", {}, OutcomeKind.PENDING, timedelta(minutes=15)),
    (504, "00501", {"retry_in": 10}, OutcomeKind.PENDING, timedelta(seconds=10)),
    (418, "00000", {}, OutcomeKind.BUG, None),
]


@pytest.mark.parametrize(("status", "code", "meta", "kind", "delay"), CASES)
async def test_status_maps_to_outcome(make_client, staging, status, code, meta, kind, delay):
    staging.overrides[URSSAF] = lambda _: error(status, code, **meta)
    outcome = await make_client().urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M1"
    )
    assert outcome.kind is kind
    assert (outcome.http_status, outcome.error_code, outcome.request_id) == (status, code, "rid-1")
    assert outcome.message == "Détail"
    assert outcome.retry_at == (NOON + delay if delay else None)


async def test_dgfip_03501_is_unavailable_not_pending(make_client, staging) -> None:
    staging.overrides["/v4/dgfip/unites_legales/000000001/attestation_fiscale"] = lambda _: error(
        502, "03501"
    )
    outcome = await make_client().dgfip_attestation_fiscale(
        "000000001", recipient=BUYER_SIRET, object="M1"
    )
    assert outcome.kind is OutcomeKind.UNAVAILABLE


async def test_insee_404_is_unknown_entity_and_451_unavailable(make_client, staging) -> None:
    client = make_client()
    staging.overrides[INSEE] = lambda _: error(404, "01003")
    outcome = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M")
    assert outcome.kind is OutcomeKind.UNKNOWN_ENTITY
    staging.overrides[INSEE] = lambda _: httpx.Response(451)
    outcome = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M")
    assert outcome.kind is OutcomeKind.UNAVAILABLE


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json={"data": {"siren": "552049447"}, "links": {}, "meta": {}}),
        httpx.Response(200, json={"errors": []}),
        httpx.Response(200, json=[1, 2]),
    ],
)
async def test_unparseable_200_is_a_bug(make_client, staging, response) -> None:
    staging.overrides[INSEE] = lambda _: response
    outcome = await make_client().insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M")
    assert outcome.kind is OutcomeKind.BUG
    assert outcome.message


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("banned IP hangs"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("reset"),
    ],
)
async def test_transport_trouble_is_pending(make_client, staging, exc) -> None:
    def raise_(request: httpx.Request) -> httpx.Response:
        raise exc

    staging.overrides[URSSAF] = raise_
    outcome = await make_client().urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M1"
    )
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at is not None and outcome.retry_at > NOON
    assert outcome.error_code in {"timeout", "connection"}


async def test_429_blocks_the_family_until_retry_after(make_client, staging) -> None:
    staging.overrides[URSSAF] = lambda _: httpx.Response(
        429,
        json={"errors": [{"code": "00429", "title": "T", "detail": "D"}]},
        headers={"Retry-After": "42"},
    )
    client = make_client()
    first = await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert first.kind is OutcomeKind.PENDING and first.retry_at == NOON + timedelta(seconds=42)
    # Another document call: no request leaves before Retry-After (max wait 0.5 s < 42 s).
    again = await client.dgfip_attestation_fiscale("000000001", recipient=BUYER_SIRET, object="M")
    assert again.kind is OutcomeKind.PENDING
    assert len(staging.api_requests) == 1
    # JSON family is not blocked.
    json_call = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M")
    assert json_call.kind is OutcomeKind.DELIVERED


async def test_circuit_opens_after_consecutive_failures(make_client, staging) -> None:
    staging.overrides[URSSAF] = lambda _: error(504, "04002")
    client = make_client(breaker=CircuitBreaker(threshold=3, cooldown_seconds=60))
    for _ in range(3):
        await client.urssaf_attestation_vigilance("000000001", recipient=BUYER_SIRET, object="M")
    assert len(staging.api_requests) == 3
    outcome = await client.urssaf_attestation_vigilance(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.PENDING and outcome.http_status is None
    assert "disjoncteur" in (outcome.message or "")
    assert len(staging.api_requests) == 3  # the open circuit spent no budget
    # Another provider is unaffected.
    other = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M")
    assert other.kind is OutcomeKind.DELIVERED


def test_breaker_half_opens_after_cooldown() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=2, cooldown_seconds=30, clock=lambda: now[0])
    breaker.record_failure("urssaf")
    breaker.record_failure("urssaf")
    assert breaker.before_call("urssaf") == 1030.0
    now[0] = 1031.0
    assert breaker.before_call("urssaf") is None  # the trial call
    assert breaker.before_call("urssaf") is not None  # only one trial at a time
    breaker.record_failure("urssaf")
    assert breaker.state("urssaf") == "open"
    now[0] = 1062.0
    assert breaker.before_call("urssaf") is None
    breaker.record_success("urssaf")
    assert breaker.state("urssaf") == "closed"


async def test_maintenance_window_is_pending_until_its_end(make_client, staging) -> None:
    at_0115_paris = datetime(2026, 11, 27, 0, 15, tzinfo=UTC)
    outcome = await make_client(clock=lambda: at_0115_paris).dgfip_attestation_fiscale(
        "000000001", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.PENDING
    assert outcome.retry_at == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 02:00 Paris
    assert staging.api_requests == []


def test_maintenance_windows_match_the_spec() -> None:
    from tests.integrations.api_entreprise.test_spec_conformance import spec

    for op in OPERATIONS.values():
        declared = spec()["paths"][op.path]["get"].get("x-maintenances")
        expected = (
            (time.fromisoformat(declared["from_hour"]), time.fromisoformat(declared["to_hour"]))
            if declared
            else None
        )
        assert op.maintenance == expected, op.name
    summer = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 01:30 in Paris (UTC+2)
    assert maintenance_end((time(1), time(2)), summer) == datetime(2026, 7, 2, 0, 0, tzinfo=UTC)
    assert maintenance_end((time(1), time(2)), datetime(2026, 7, 2, 0, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("identifier", "recipient"),
    [
        ("55204944", BUYER_SIRET),
        ("55204944A", BUYER_SIRET),
        ("000000001", "123"),
        ("000000001", "00000000100017"),
        ("100000017", BUYER_SIRET),
    ],
)
async def test_bad_identifiers_are_refused_before_any_call(
    make_client, staging, identifier, recipient
) -> None:
    outcome = await make_client().urssaf_attestation_vigilance(
        identifier, recipient=recipient, object="M"
    )
    assert outcome.kind is OutcomeKind.BUG and outcome.message
    assert staging.api_requests == []


async def test_no_token_is_a_config_error(make_client, ae_settings, staging) -> None:
    settings = ae_settings.model_copy(update={"token": None})
    outcome = await make_client(settings=settings).insee_unite_legale(
        "552049447", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.CONFIG_ERROR
    assert staging.requests == []


async def test_msa_statuses(make_client, staging) -> None:
    path = "/v3/msa/etablissements/20005379100014/conformite_cotisations"
    client = make_client()
    for status, kind in [
        ("up_to_date", OutcomeKind.DELIVERED),
        ("outdated", OutcomeKind.REFUSED),
        ("under_investigation", OutcomeKind.PENDING),
    ]:
        body = {"data": {"status": status}, "links": {}, "meta": {}}
        staging.overrides[path] = lambda _, body=body: httpx.Response(200, json=body)
        outcome = await client.msa_conformite_cotisations(
            "20005379100014", recipient=BUYER_SIRET, object="M"
        )
        assert outcome.kind is kind


def test_object_is_cleaned_and_truncated() -> None:
    assert clean_object("  Marché\n\t42  ") == "Marché 42"
    assert len(clean_object("é" * 80)) == 50
    decomposed = "e\u0301" * 60  # NFD: normalised first, never cut between letter and accent
    assert clean_object(decomposed) == "é" * 50
    assert clean_object("\x00\x01") == "Vigilance"


async def test_privileges(make_client) -> None:
    outcome = await make_client().privileges()
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.data.privileges == ["attestations_sociales"]  # type: ignore[union-attr]


def test_operations_are_frozen() -> None:
    op = OPERATIONS["urssaf_attestation_vigilance"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.name = "x"  # type: ignore[misc]


async def test_limiter_store_down_is_pending_and_nothing_is_sent(make_client, staging) -> None:
    from app.integrations.api_entreprise.ratelimit import MemoryRateLimiter

    class Down(MemoryRateLimiter):
        async def _try_acquire(self, token_id, family):  # type: ignore[no-untyped-def]
            raise ConnectionError("redis down")

    client = make_client(limiter=Down({}))
    outcome = await client.insee_unite_legale("552049447", recipient=BUYER_SIRET, object="M")
    assert outcome.kind is OutcomeKind.PENDING and outcome.retry_at == NOON + timedelta(minutes=1)
    assert staging.requests == []
