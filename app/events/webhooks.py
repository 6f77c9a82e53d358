"""Webhook endpoints and their deliveries: register (the secret shown once, stored sealed),
list, delete, rotate the secret, replay, the delivery log; the due deliveries claimed for the
queue and one delivery's attempt recorded (retries on a Svix-like schedule with jitter, the
endpoint disabled after five days of failure, which an event tells the officer).

Every function takes a session and only flushes; `deliver` and `send_test` take the process's
sender and keyring. The HTTP and the signing live in `app.integrations.webhooks`.
"""

import base64
import json
import random
import secrets as random_secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow, uuid7
from app.documents.crypto import Keyring, seal, unseal
from app.errors import NotFound, ValidationFailed, field_error
from app.events.models import DeliveryState, Event, EventType, WebhookDelivery, WebhookEndpoint
from app.events.service import (
    RETENTION,
    event_public,
    forget_endpoints,
    record_event,
    subscribed,
)
from app.integrations.webhooks import SendResult, UnsafeUrl, WebhookSender

# After the first attempt: within 30 s, then 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix's).
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DISABLE_AFTER = timedelta(days=5)
ROTATION_OVERLAP = timedelta(hours=24)
LEASE = timedelta(minutes=2)
MAX_ENDPOINTS_PER_BUYER = 20
LOG_ATTEMPTS = 10


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt (with jitter), None once all are used.
    The first retry lands between 5 and 25 s, the later ones within ±10 % of the schedule."""
    if attempts > len(RETRY_SCHEDULE):
        return None
    if attempts == 1:
        return timedelta(seconds=random.uniform(5, 25))
    base = RETRY_SCHEDULE[attempts - 1]
    return base * random.uniform(0.9, 1.1)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(24)).decode()


def _aad(endpoint_id: uuid.UUID) -> bytes:
    return f"vigie-webhook-secret|{endpoint_id}".encode()


def _seal_secret(keyring: Keyring, endpoint: WebhookEndpoint, secret: str) -> None:
    sealed = seal(keyring, secret.encode(), _aad(endpoint.id))
    endpoint.sealed, endpoint.key_id, endpoint.wrapped_key = (
        sealed.blob,
        sealed.key_id,
        sealed.wrapped_key,
    )


def signing_secrets(keyring: Keyring, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one during a rotation's overlap."""
    aad = _aad(endpoint.id)
    out = [unseal(keyring, endpoint.sealed, endpoint.wrapped_key, endpoint.key_id, aad).decode()]
    if (
        endpoint.previous_sealed is not None
        and endpoint.previous_wrapped_key is not None
        and endpoint.previous_key_id is not None
        and endpoint.previous_until is not None
        and endpoint.previous_until > now
    ):
        previous = unseal(
            keyring,
            endpoint.previous_sealed,
            endpoint.previous_wrapped_key,
            endpoint.previous_key_id,
            aad,
        )
        out.append(previous.decode())
    return out


def _invalid_url(message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code="invalid_webhook_url",
        title="Adresse de webhook refusée",
        errors=[field_error("/url", message, "invalid_webhook_url")],
    )


def check_event_types(names: list[str]) -> list[str]:
    known = {t.value for t in EventType}
    unknown = sorted({n for n in names if n != "*" and n not in known})
    if unknown or not names:
        raise ValidationFailed(
            f"Types d'événements inconnus : {', '.join(unknown) or 'aucun type donné'}. Types "
            f"possibles : {', '.join(sorted(known))} (ou « * » pour tous).",
            code="unknown_event_type",
            errors=[field_error("/events", "Type inconnu.", "unknown_event_type")],
        )
    return sorted(set(names))


@dataclass(frozen=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str  # shown once


async def create_endpoint(
    session: AsyncSession,
    keyring: Keyring,
    sender: WebhookSender,
    buyer_id: uuid.UUID,
    *,
    url: str,
    events: list[str],
    description: str | None = None,
    by: str | None = None,
) -> Registered:
    """Register a buyer's endpoint (its URL checked now, and again at every delivery)."""
    try:
        await sender.check(url)
    except UnsafeUrl as exc:
        raise _invalid_url(str(exc)) from None
    count = len(
        (
            await session.exec(
                select(WebhookEndpoint.id).where(WebhookEndpoint.buyer_id == buyer_id)
            )
        ).all()
    )
    if count >= MAX_ENDPOINTS_PER_BUYER:
        raise ValidationFailed(
            f"Un acheteur peut déclarer au plus {MAX_ENDPOINTS_PER_BUYER} webhooks.",
            code="too_many_webhooks",
        )
    endpoint = WebhookEndpoint(
        id=uuid7(),
        buyer_id=buyer_id,
        url=url,
        events=check_event_types(events),
        description=description,
        created_by=by,
        sealed=b"",
        key_id="",
        wrapped_key=b"",
    )
    secret = new_secret()
    _seal_secret(keyring, endpoint, secret)
    session.add(endpoint)
    await session.flush()
    forget_endpoints(session)
    return Registered(endpoint, secret)


async def get_endpoint(
    session: AsyncSession, buyer_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.buyer_id != buyer_id:  # another tenant's: 404
        raise NotFound("Aucun webhook avec cet identifiant.", code="webhook_not_found")
    return endpoint


async def list_endpoints(session: AsyncSession, buyer_id: uuid.UUID) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.buyer_id == buyer_id)
    return list((await session.exec(query.order_by(col(WebhookEndpoint.id)))).all())


async def delete_endpoint(
    session: AsyncSession, buyer_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    endpoint = await get_endpoint(session, buyer_id, endpoint_id)
    await session.exec(
        delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
    )
    await session.delete(endpoint)
    await session.flush()
    forget_endpoints(session)


async def rotate_secret(
    session: AsyncSession, keyring: Keyring, buyer_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Registered:
    """A new secret; the previous one still signs for 24 hours (both signatures are sent)."""
    endpoint = await get_endpoint(session, buyer_id, endpoint_id)
    endpoint.previous_sealed = endpoint.sealed
    endpoint.previous_key_id = endpoint.key_id
    endpoint.previous_wrapped_key = endpoint.wrapped_key
    endpoint.previous_until = utcnow() + ROTATION_OVERLAP
    secret = new_secret()
    _seal_secret(keyring, endpoint, secret)
    session.add(endpoint)
    await session.flush()
    return Registered(endpoint, secret)


async def enable_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    session.add(endpoint)
    await session.flush()
    forget_endpoints(session)


async def replay(
    session: AsyncSession, buyer_id: uuid.UUID, endpoint_id: uuid.UUID, since: datetime
) -> int:
    """Deliver again every event since `since` the endpoint subscribes to (the events kept:
    30 days), delivered or not; each keeps its id as `webhook-id` (receivers deduplicate)."""
    endpoint = await get_endpoint(session, buyer_id, endpoint_id)
    now = utcnow()
    if since < now - RETENTION:
        since = now - RETENTION
    query = select(Event).where(Event.buyer_id == buyer_id, col(Event.at) >= since)
    existing = {
        d.event_id: d
        for d in (
            await session.exec(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
            )
        ).all()
    }
    count = 0
    for event in (await session.exec(query.order_by(col(Event.seq)))).all():
        if not subscribed(endpoint, event.type):
            continue
        delivery = existing.get(event.id) or WebhookDelivery(
            endpoint_id=endpoint.id, event_id=event.id
        )
        if delivery.state is DeliveryState.SENDING:
            continue  # on its way already
        delivery.state, delivery.attempts = DeliveryState.PENDING, 0
        delivery.next_attempt_at, delivery.lease_until = now, None
        session.add(delivery)
        count += 1
    await session.flush()
    return count


async def list_deliveries(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[tuple[WebhookDelivery, str]]:
    """The endpoint's deliveries, newest first, with their event's type."""
    endpoint = await get_endpoint(session, buyer_id, endpoint_id)
    query = (
        select(WebhookDelivery, Event.type)
        .join(Event, col(Event.id) == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    if before is not None:
        query = query.where(col(WebhookDelivery.id) < before)
    rows = await session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit))
    return [(d, t) for d, t in rows.all()]


# --- the queue's side ---------------------------------------------------------------------------


async def claim_due(session: AsyncSession, *, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Mark due deliveries `sending` with a lease and return their ids (one job each). A lease
    run out (a dead worker) makes a delivery due again: at-least-once."""
    await session.exec(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.state) == DeliveryState.SENDING,
            or_(
                col(WebhookDelivery.lease_until).is_(None),
                col(WebhookDelivery.lease_until) < now,
            ),
        )
        .values(state=DeliveryState.PENDING, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    due = (
        select(WebhookDelivery.id)
        .where(
            col(WebhookDelivery.state) == DeliveryState.PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
    )
    ids = list((await session.exec(due)).all())
    if not ids:
        return []
    claimed = await session.exec(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id).in_(ids), col(WebhookDelivery.state) == DeliveryState.PENDING
        )
        .values(state=DeliveryState.SENDING, lease_until=now + LEASE)
        .returning(col(WebhookDelivery.id))
        .execution_options(synchronize_session=False)
    )
    return list(claimed.scalars().all())


@dataclass(frozen=True)
class Message:
    url: str
    msg_id: str
    timestamp: datetime
    body: str
    secrets: list[str]


async def message_for(
    session: AsyncSession, keyring: Keyring, delivery_id: uuid.UUID, now: datetime
) -> Message | None:
    """What to send for a claimed delivery (None: nothing to do any more)."""
    delivery = await session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.state is not DeliveryState.SENDING:
        return None
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    event = await session.get(Event, delivery.event_id)
    if endpoint is None or event is None or not endpoint.enabled:
        return None
    body = json.dumps(event_public(event), ensure_ascii=False, separators=(",", ":"))
    return Message(endpoint.url, str(event.id), now, body, signing_secrets(keyring, endpoint, now))


async def record_attempt(
    session: AsyncSession, delivery_id: uuid.UUID, result: SendResult, now: datetime
) -> DeliveryState | None:
    """Record one attempt: delivered, or retried later, or failed for good; the endpoint is
    disabled after five days without a success (and an event tells the officer)."""
    delivery = await session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.state is not DeliveryState.SENDING:
        return None
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = result.status, (result.error or None)
    entry: dict[str, Any] = {
        "at": now.isoformat(),
        "status": result.status,
        "error": result.error,
        "duration_ms": result.duration_ms,
    }
    delivery.log = [*delivery.log, entry][-LOG_ATTEMPTS:]
    delivery.lease_until = None
    if result.ok:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryState.DELIVERED,
            now,
            None,
        )
        endpoint.failing_since = None
    else:
        delay = retry_delay(delivery.attempts)
        if delay is None:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            delivery.state, delivery.next_attempt_at = DeliveryState.PENDING, now + delay
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since >= DISABLE_AFTER and endpoint.enabled:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
            session.add(delivery)
            await _disable(session, endpoint, now)
    session.add(delivery)
    session.add(endpoint)
    await session.flush()
    return delivery.state


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"Désactivé le {now:%d/%m/%Y} : aucune livraison réussie depuis le "
        f"{endpoint.failing_since:%d/%m/%Y} (cinq jours d'échecs)."
    )
    await session.exec(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.endpoint_id) == endpoint.id,
            col(WebhookDelivery.state).in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
        .values(state=DeliveryState.FAILED, next_attempt_at=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.add(endpoint)
    await session.flush()
    forget_endpoints(session)
    await record_event(
        session,
        endpoint.buyer_id,
        EventType.WEBHOOK_DISABLED,
        {
            "webhook_id": str(endpoint.id),
            "url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
            "reason": endpoint.disabled_reason,
        },
        at=now,
    )


def sample_message(endpoint: WebhookEndpoint, keyring: Keyring, now: datetime) -> Message:
    """A `webhook.test` message (not an event of the feed), signed like the others."""
    msg_id = f"test_{uuid7()}"
    body = {
        "id": msg_id,
        "type": "webhook.test",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"webhook_id": str(endpoint.id), "message": "Message de test de Vigie."},
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Message(endpoint.url, msg_id, now, text, signing_secrets(keyring, endpoint, now))
