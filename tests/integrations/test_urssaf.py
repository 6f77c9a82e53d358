"""The URSSAF security-code client against the in-process sandbox over its transport: one token
reused, each outcome mapped, every failure (timeout, 5xx, unreadable answer) « non vérifié »."""

import httpx
import pytest
from pydantic import SecretStr

from app.config import UrssafSettings
from app.integrations.urssaf import CodeOutcome, UrssafClient, build_urssaf_client
from app.integrations.urssaf.sandbox import (
    OTHER_SIREN,
    SANDBOX_BASE_URL,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    UrssafSandbox,
)

SIREN = "552100554"


def _client(transport: httpx.AsyncBaseTransport, secret: str = SANDBOX_CLIENT_SECRET):
    return UrssafClient(
        base_url=SANDBOX_BASE_URL,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SecretStr(secret),
        scope="avcs",
        timeout_seconds=0.5,
        transport=transport,
    )


async def test_the_token_is_fetched_once_and_reused():
    sandbox = UrssafSandbox()
    client = _client(sandbox.transport())
    try:
        for _ in range(3):
            verdict = await client.verify("A1B2C3D4E5F6G7H", SIREN)
            assert verdict.outcome == CodeOutcome.VALID
    finally:
        await client.aclose()
    assert client.token_requests == 1 and len(sandbox.tokens) == 1
    assert sandbox.verifications == 3


async def test_an_expired_token_is_renewed():
    sandbox = UrssafSandbox(token_seconds=0)  # expires at once (cached for 1 s at least)
    client = _client(sandbox.transport())
    client._expires_at = 0.0
    try:
        await client.verify("A1B2C3D4E5F6G7H", SIREN)
        client._expires_at = 0.0  # as if the token's lifetime were over
        await client.verify("A1B2C3D4E5F6G7H", SIREN)
    finally:
        await client.aclose()
    assert client.token_requests == 2


@pytest.mark.parametrize(
    ("code", "outcome", "siren"),
    [
        ("A1B2C3D4E5F6G7H", CodeOutcome.VALID, SIREN),
        ("A1B2C3D4E5F6G78", CodeOutcome.VALID, OTHER_SIREN),
        ("A1B2C3D4E5F6G79", CodeOutcome.EXPIRED, SIREN),
        ("A1B2C3D4E5F6G70", CodeOutcome.UNKNOWN, None),
        ("A1B2C3D4E5F6G77", CodeOutcome.INCOMPLETE, None),
    ],
)
async def test_each_outcome_is_mapped(code, outcome, siren):
    client = _client(UrssafSandbox().transport())
    try:
        verdict = await client.verify(code, SIREN)
    finally:
        await client.aclose()
    assert verdict.outcome == outcome and verdict.siren == siren
    assert verdict.answer["code"] == code
    assert verdict.answered == (outcome != CodeOutcome.INCOMPLETE)
    if outcome == CodeOutcome.VALID:
        assert verdict.company_name and verdict.valid_until and verdict.sirets


async def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("too slow", request=request)


@pytest.mark.parametrize(
    "handler",
    [
        _timeout,
        lambda request: httpx.Response(503, text="maintenance"),
        lambda request: httpx.Response(200, text="<html>not json</html>"),
        lambda request: httpx.Response(200, json={"access_token": "t", "resultats": []}),
        lambda request: httpx.Response(
            200, json={"access_token": "t", "resultats": [{"code": "X", "statut": "?"}]}
        ),
    ],
    ids=["timeout", "503", "not-json", "no-item", "odd-outcome"],
)
async def test_every_failure_is_an_error_never_a_verdict(handler, caplog):
    client = _client(httpx.MockTransport(handler))
    try:
        verdict = await client.verify("A1B2C3D4E5F6G7H", SIREN)
    finally:
        await client.aclose()
    assert verdict.outcome == CodeOutcome.ERROR and not verdict.answered
    assert SANDBOX_CLIENT_SECRET not in caplog.text


async def test_wrong_credentials_are_an_error_and_the_secret_is_never_logged(caplog):
    client = _client(UrssafSandbox().transport(), secret="wrong-secret-value")
    try:
        verdict = await client.verify("A1B2C3D4E5F6G7H", SIREN)
    finally:
        await client.aclose()
    assert verdict.outcome == CodeOutcome.ERROR
    assert "wrong-secret-value" not in caplog.text
    assert "URSSAF code verification failed" in caplog.text


async def test_no_client_without_configuration_and_the_sandbox_only_when_asked():
    assert build_urssaf_client(UrssafSettings()) is None
    assert build_urssaf_client(UrssafSettings(base_url="https://api.urssaf.fr")) is None
    client = build_urssaf_client(UrssafSettings(sandbox=True))
    assert client is not None
    try:
        assert (await client.verify("A1B2C3D4E5F6G7H", SIREN)).outcome == CodeOutcome.VALID
    finally:
        await client.aclose()
    real = build_urssaf_client(
        UrssafSettings(base_url="https://api.urssaf.fr", client_id="i", client_secret="s")
    )
    assert real is not None
    await real.aclose()
