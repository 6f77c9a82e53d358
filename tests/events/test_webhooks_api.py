"""Webhooks: registration (the secret shown once, sealed at rest), listing, another buyer's
404, deletion, rotation (both secrets sign), the test message, replay, the SSRF guard, the
retry schedule and the endpoint disabled after five days of failure."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select
from standardwebhooks import Webhook

from app.common import utcnow
from app.db import unit_of_work
from app.events import webhooks
from app.events.models import DeliveryState, Event, WebhookDelivery, WebhookEndpoint
from app.events.service import record_event
from app.integrations.webhooks import SendResult, UnsafeUrl, WebhookSender, check_url, sign
from app.keys.models import Role
from tests.api.conftest import assert_problem


async def _register(client, headers, url="http://127.0.0.1:9/hook", events=("*",)):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/webhooks", json={"url": url, "events": list(events)}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_register_list_get_delete(client, make_buyer, make_key, sessionmaker):
    buyer, other = await make_buyer(), await make_buyer()
    headers = await make_key(Role.ERP, buyer=buyer)
    created = await _register(client, headers, events=["supplier.status_changed"])
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    async with unit_of_work(sessionmaker) as session:
        row = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
        assert row is not None
        secret = created["secret"].encode()
        for column in (row.sealed, row.wrapped_key):  # never stored in clear
            assert secret not in column and secret[6:] not in column
    listed = (await client.get("/v1/webhooks", headers=headers)).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    r = await client.get(f"/v1/webhooks/{created['id']}", headers=headers)
    assert r.status_code == 200 and "secret" not in r.json()
    stranger = await make_key(Role.OFFICER, buyer=other)
    for method, path in (
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/test"),
        ("GET", "/deliveries"),
    ):
        r = await client.request(method, f"/v1/webhooks/{created['id']}{path}", headers=stranger)
        assert_problem(r, 404, "webhook_not_found")
    assert (
        await client.delete(f"/v1/webhooks/{created['id']}", headers=headers)
    ).status_code == 204
    assert_problem(await client.get(f"/v1/webhooks/{created['id']}", headers=headers), 404)


async def test_bad_registrations_are_422(client, make_buyer, make_key):
    headers = await make_key(Role.OFFICER, buyer=await make_buyer())
    r = await client.post(
        "/v1/webhooks", json={"url": "ftp://erp.example/x", "events": ["*"]}, headers=headers
    )
    assert_problem(r, 422, "invalid_webhook_url")
    r = await client.post(
        "/v1/webhooks",
        json={"url": "https://erp.example/x", "events": ["supplier.renamed"]},
        headers=headers,
    )
    assert_problem(r, 422, "unknown_event_type")
    r = await client.post(
        "/v1/webhooks",
        json={"url": "https://user:pw@erp.example/x", "events": ["*"]},
        headers=headers,
    )
    assert_problem(r, 422, "invalid_webhook_url")


async def test_rotation_signs_with_both_secrets(client, make_buyer, make_key, app, sessionmaker):
    headers = await make_key(Role.ERP, buyer=await make_buyer())
    created = await _register(client, headers)
    r = await client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=headers)
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != created["secret"] and r.json()["previous_secret_valid_until"]
    keyring = app.state.archive.keyring
    now = utcnow()
    async with unit_of_work(sessionmaker) as session:
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
        assert endpoint is not None
        secrets = webhooks.signing_secrets(keyring, endpoint, now)
        later = webhooks.signing_secrets(keyring, endpoint, now + timedelta(hours=25))
    assert secrets == [new, created["secret"]] and later == [new]
    body = '{"type":"x"}'
    headers_sent = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secrets, "msg_1", now, body),
    }
    for secret in (created["secret"], new):  # a receiver on either secret verifies it
        assert Webhook(secret).verify(body, headers_sent) == {"type": "x"}


async def test_the_test_message_reaches_the_receiver(client, make_buyer, make_key, receiver):
    headers = await make_key(Role.ERP, buyer=await make_buyer())
    created = await _register(client, headers, url=receiver.url)
    r = await client.post(f"/v1/webhooks/{created['id']}/test", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["delivered"] is True and r.json()["status_code"] == 204
    [got] = receiver.received
    payload = Webhook(created["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "webhook.test" and got.headers["webhook-id"] == r.json()["webhook_id"]
    receiver.status = 500
    r = await client.post(f"/v1/webhooks/{created['id']}/test", headers=headers)
    assert r.json()["delivered"] is False and r.json()["error"] == "http_500"


async def test_replay_queues_the_events_since(client, make_buyer, make_key, sessionmaker):
    buyer = await make_buyer()
    headers = await make_key(Role.ERP, buyer=buyer)
    async with unit_of_work(sessionmaker) as session:
        await record_event(session, buyer.id, "token.expiring", {})  # before the webhook
    created = await _register(client, headers, events=["token.expiring"])
    async with unit_of_work(sessionmaker) as session:
        await record_event(session, buyer.id, "token.expiring", {})
        await record_event(session, buyer.id, "document.archived", {})  # not subscribed
    since = (utcnow() - timedelta(hours=1)).isoformat()
    r = await client.post(
        f"/v1/webhooks/{created['id']}/replay", json={"since": since}, headers=headers
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"queued": 2}
    log = (await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=headers)).json()
    assert [d["state"] for d in log["items"]] == ["pending", "pending"]


async def test_five_days_of_failure_disable_the_endpoint(make_buyer, sessionmaker, app):
    buyer = await make_buyer()
    keyring = app.state.archive.keyring
    sender = WebhookSender(production=False)
    async with unit_of_work(sessionmaker) as session:
        registered = await webhooks.create_endpoint(
            session, keyring, sender, buyer.id, url="http://127.0.0.1:9/h", events=["*"]
        )
        endpoint = registered.endpoint
        event = await record_event(session, buyer.id, "token.expiring", {})
        delivery = (
            await session.exec(select(WebhookDelivery).where(WebhookDelivery.event_id == event.id))
        ).one()
        now = utcnow()
        # One failure: retried within 30 s, the endpoint failing since now.
        assert await webhooks.claim_due(session, now=now) == [delivery.id]
        failure = SendResult(False, 503, "http_503", 12)
        assert (
            await webhooks.record_attempt(session, delivery.id, failure, now)
            is DeliveryState.PENDING
        )
        assert delivery.next_attempt_at is not None
        assert timedelta(seconds=5) <= delivery.next_attempt_at - now <= timedelta(seconds=30)
        assert endpoint.failing_since == now
        # Five days later, still failing: disabled, and the officer is told by an event.
        later = now + timedelta(days=5, minutes=1)
        assert await webhooks.claim_due(session, now=later) == [delivery.id]
        assert (
            await webhooks.record_attempt(session, delivery.id, failure, later)
            is DeliveryState.FAILED
        )
        assert endpoint.enabled is False and "cinq jours" in (endpoint.disabled_reason or "")
        told = (
            await session.exec(
                select(Event).where(Event.buyer_id == buyer.id, Event.type == "webhook.disabled")
            )
        ).one()
        assert told.data["webhook_id"] == str(endpoint.id)
    await sender.aclose()


def test_the_retry_schedule():
    firsts = [webhooks.retry_delay(1) for _ in range(50)]
    assert all(d is not None and timedelta(seconds=5) <= d <= timedelta(seconds=25) for d in firsts)
    later = [webhooks.retry_delay(n) for n in range(2, 8)]
    bases = [300, 1800, 7200, 18000, 36000, 36000]
    for delay, base in zip(later, bases, strict=True):
        assert delay is not None and base * 0.9 <= delay.total_seconds() <= base * 1.1
    assert webhooks.retry_delay(8) is None  # eight attempts: given up


@pytest.mark.parametrize(
    ("url", "addresses", "production", "refused"),
    [
        ("https://erp.example/h", ["93.184.216.34"], True, False),
        ("http://erp.example/h", ["93.184.216.34"], True, True),  # https only in production
        ("https://erp.example/h", ["10.0.0.7"], True, True),
        ("https://erp.example/h", ["93.184.216.34", "127.0.0.1"], True, True),
        ("https://erp.example/h", ["169.254.169.254"], True, True),  # cloud metadata
        ("https://erp.example/h", ["::ffff:192.168.1.1"], True, True),
        ("https://erp.example/h", ["fd00::1"], True, True),
        ("http://127.0.0.1:8080/h", ["127.0.0.1"], False, False),  # development: loopback ok
    ],
)
async def test_the_ssrf_guard(url, addresses, production, refused):
    async def resolver(host: str, port: int) -> list[str]:
        return addresses

    if refused:
        with pytest.raises(UnsafeUrl):
            await check_url(url, production=production, resolver=resolver)
    else:
        await check_url(url, production=production, resolver=resolver)


async def test_the_guard_runs_at_delivery_time():
    calls: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(204)

    async def rebinding(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]  # the name was public at registration, private now

    sender = WebhookSender(
        production=True, transport=httpx.MockTransport(transport), resolver=rebinding
    )
    result = await sender.send(
        "https://erp.example/h",
        msg_id="m",
        timestamp=utcnow(),
        body="{}",
        secrets=["whsec_" + "A" * 32],
    )
    await sender.aclose()
    assert not result.ok and (result.error or "").startswith("unsafe_url") and calls == []


async def test_rotating_the_master_key_keeps_the_webhook_secrets(
    client, make_buyer, make_key, app, sessionmaker
):
    from app.documents.archive import Archive, rotate_keys
    from app.documents.crypto import Keyring, new_master_key

    headers = await make_key(Role.ERP, buyer=await make_buyer())
    created = await _register(client, headers)
    rotated_secret = (
        await client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=headers)
    ).json()["secret"]
    archive = app.state.archive
    rotated = Archive(archive.storage, Keyring([new_master_key("k2"), *archive.keyring.keys]))
    async with unit_of_work(sessionmaker) as session:
        await rotate_keys(session, rotated)
    only_new = Keyring([rotated.keyring.current])  # the old master key retired
    async with unit_of_work(sessionmaker) as session:
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
        assert endpoint is not None and endpoint.key_id == "k2" == endpoint.previous_key_id
        secrets = webhooks.signing_secrets(only_new, endpoint, utcnow())
    assert secrets == [rotated_secret, created["secret"]]
