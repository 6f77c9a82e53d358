"""Done-when of issue 13: an ERP registers a webhook, a supplier's status changes, the signed
delivery arrives at a real HTTP receiver and verifies with `standardwebhooks`; with the receiver
down the delivery is retried and arrives once it is back; the pull feed shows the same event."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from standardwebhooks import Webhook

from app.common import utcnow
from app.config import Settings
from app.db import unit_of_work
from app.events.models import DeliveryState, WebhookDelivery
from app.integrations.sandbox import DEMO_SIRENS
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle

pytestmark = [pytest.mark.real_commits, pytest.mark.sandbox]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The in-process runner drives the jobs (the arq wiring has its own test)."""
    return settings.model_copy(update={"redis_url": None})


@pytest.fixture
def runtime(app):  # type: ignore[no-untyped-def]
    rt = app.state.runtime
    rt.runner.start(periodic=False)
    return rt


async def dispatch(rt) -> None:  # type: ignore[no-untyped-def]
    """What the 5-second clock does: claim the due deliveries, send each by its job."""
    await rt.runner.run_periodic("dispatch_webhooks_job")
    await settle(rt)


async def make_due_now(sessionmaker, webhook_id: str) -> None:  # type: ignore[no-untyped-def]
    """Time passes: the retry planned in 5–25 s is due."""
    async with unit_of_work(sessionmaker) as session:
        await session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.endpoint_id) == uuid.UUID(webhook_id),
                col(WebhookDelivery.state) == DeliveryState.PENDING,
            )
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


async def test_signed_delivery_arrives_and_matches_the_feed(
    client, make_buyer, make_key, runtime, receiver
):
    buyer = await make_buyer()
    erp = await make_key(Role.ERP, buyer=buyer)
    r = await client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["supplier.status_changed"]},
        headers=erp,
    )
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert secret.startswith("whsec_")

    siren = DEMO_SIRENS["urssaf_refused"]
    r = await client.post("/v1/contracts", json=contract_for(siren), headers=erp)
    assert r.status_code == 201, r.text
    await settle(runtime)
    await dispatch(runtime)

    assert len(receiver.received) == 1
    got = receiver.received[0]
    payload = Webhook(secret).verify(got.body, got.headers)  # raises on a bad signature
    assert payload["type"] == "supplier.status_changed"
    assert got.headers["webhook-id"] == payload["id"]
    data = payload["data"]
    assert data["supplier"]["siren"] == siren
    assert data["buyer_siret"] == buyer.siret
    assert data["new_status"] == "non_compliant"
    assert "urssaf_refused" in {reason["code"] for reason in data["reasons"]}

    feed = await client.get("/v1/events", params={"types": "supplier.status_changed"}, headers=erp)
    assert feed.status_code == 200, feed.text
    items = feed.json()["items"]
    assert [e["id"] for e in items] == [payload["id"]]
    assert items[0] == json.loads(got.body)  # the same event, pulled or pushed

    # Delivered once: another dispatch sends nothing again.
    await dispatch(runtime)
    assert len(receiver.received) == 1


async def test_receiver_down_is_retried_until_it_is_back(
    client, make_buyer, make_key, runtime, receiver, sessionmaker
):
    buyer = await make_buyer()
    officer = await make_key(Role.OFFICER, buyer=buyer)
    r = await client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["contract.created"]}, headers=officer
    )
    assert r.status_code == 201, r.text
    webhook_id, secret = r.json()["id"], r.json()["secret"]
    receiver.stop()  # the ERP is down

    r = await client.post(
        "/v1/contracts", json=contract_for(DEMO_SIRENS["compliant"]), headers=officer
    )
    assert r.status_code == 201, r.text
    contract_id = r.json()["id"]
    await settle(runtime)
    await dispatch(runtime)
    log = (await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=officer)).json()
    [delivery] = log["items"]
    assert delivery["state"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_error"].startswith("connection")
    retry_in = ((await _next_attempt(sessionmaker, delivery["id"])) - utcnow()).total_seconds()
    assert 0 < retry_in <= 30  # the first retry within 30 seconds

    await dispatch(runtime)  # not due yet: nothing sent
    receiver.start()  # back, on the same port
    await dispatch(runtime)
    assert receiver.received == []
    await make_due_now(sessionmaker, webhook_id)
    await dispatch(runtime)

    [got] = receiver.received
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "contract.created"
    assert payload["data"]["contract_id"] == contract_id
    log = (await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=officer)).json()
    [delivery] = log["items"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 2
    assert [a["status"] for a in delivery["log"]] == [None, 204]


async def _next_attempt(sessionmaker, delivery_id: str):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        query = select(WebhookDelivery.next_attempt_at).where(
            col(WebhookDelivery.id) == uuid.UUID(delivery_id)
        )
        return (await session.exec(query)).one()
