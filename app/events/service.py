"""Events: every status change Vigie stores becomes one event of its buyer, numbered in commit
order, written in the caller's transaction (services flush, the edge commits), fanned out to the
buyer's webhooks in the same transaction and kept 30 days for the pull feed.

`record_event(session, buyer_id, type, data)` is the one entry point of the other packages.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow
from app.errors import AppError, ValidationFailed, field_error
from app.events.models import (
    DeliveryState,
    Event,
    EventSequence,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.suppliers.models import Supplier

RETENTION = timedelta(days=30)


class CursorExpired(AppError):
    status_code = 410
    code = "cursor_expired"
    title = "Curseur expiré"


def supplier_identity(supplier: Supplier | None) -> dict[str, Any]:
    """How an event names a supplier: its SIREN, or its foreign identifier and country."""
    if supplier is None:
        return {}
    return {
        "siren": supplier.siren,
        "foreign_id": supplier.foreign_id,
        "country": supplier.country,
        "name": supplier.name,
    }


async def _next_seq(session: AsyncSession, buyer_id: uuid.UUID) -> int:
    """The buyer's next event number. The upsert locks the buyer's row until commit
    (PostgreSQL), and SQLite has one writer: numbers are assigned in commit order, gap-free."""
    table = EventSequence.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(buyer_id=buyer_id, last_seq=1)
        .on_conflict_do_update(index_elements=["buyer_id"], set_={"last_seq": table.c.last_seq + 1})
        .returning(table.c.last_seq)
    )
    return int((await session.exec(statement)).scalar_one())


async def record_event(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    type: EventType | str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> Event:
    """Record one event of `buyer_id` in the caller's transaction (flushed, not committed) and
    queue it for the buyer's webhooks subscribed to its type. `data` is the event's content
    (JSON-serialisable); the buyer's SIRET is added as `buyer_siret`."""
    kind = EventType(type)
    buyer = await session.get(Buyer, buyer_id)
    if buyer is None:
        raise ValueError(f"no buyer {buyer_id}")
    event = Event(
        buyer_id=buyer_id,
        seq=await _next_seq(session, buyer_id),
        type=kind.value,
        data={"buyer_siret": buyer.siret, **data},
        at=at or utcnow(),
    )
    session.add(event)
    endpoints = select(WebhookEndpoint).where(
        WebhookEndpoint.buyer_id == buyer_id, col(WebhookEndpoint.enabled)
    )
    await session.flush()  # the event's row before its deliveries' (foreign key)
    for endpoint in (await session.exec(endpoints)).all():
        if subscribed(endpoint, kind.value):
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id, event_id=event.id, next_attempt_at=event.at
                )
            )
    await session.flush()
    return event


def subscribed(endpoint: WebhookEndpoint, kind: str) -> bool:
    return not endpoint.events or "*" in endpoint.events or kind in endpoint.events


def event_public(event: Event) -> dict[str, Any]:
    """An event as the feed serves it and a webhook's body carries it (the same JSON)."""
    return {
        "id": str(event.id),
        "cursor": str(event.seq),
        "type": event.type,
        "timestamp": event.at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }


def parse_cursor(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not after.isdigit() or len(after) > 18:
        raise ValidationFailed(
            "Curseur illisible : donnez la valeur `next_cursor` d'une réponse précédente.",
            code="invalid_cursor",
            errors=[field_error("#/query/after", "Curseur illisible.", "invalid_cursor")],
        )
    return int(after)


def parse_types(types: list[str] | None) -> list[str]:
    """`types=a&types=b` or `types=a,b`; every name must be a known event type."""
    names = [t.strip() for item in types or [] for t in item.split(",") if t.strip()]
    known = {t.value for t in EventType}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValidationFailed(
            f"Type d'événement inconnu : {', '.join(unknown)}. Types possibles : "
            f"{', '.join(sorted(known))}.",
            code="unknown_event_type",
            errors=[
                field_error("#/query/types", f"Type « {u} » inconnu.", "unknown_event_type")
                for u in unknown
            ],
        )
    return names


async def list_events(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    *,
    after: int,
    types: list[str],
    limit: int,
) -> tuple[list[Event], int]:
    """The buyer's events after the cursor, in order, and the cursor to ask from next time.

    A cursor older than the 30 days kept is a 410 `cursor_expired` (events were purged since:
    start again from the current position, `after` omitted, after a full resync)."""
    last = (
        await session.exec(select(EventSequence.last_seq).where(EventSequence.buyer_id == buyer_id))
    ).first() or 0
    if after > last:
        raise ValidationFailed(
            "Curseur inconnu : il est au-delà du dernier événement de cet acheteur.",
            code="invalid_cursor",
            errors=[field_error("#/query/after", "Curseur inconnu.", "invalid_cursor")],
        )
    oldest = (
        await session.exec(select(func.min(Event.seq)).where(Event.buyer_id == buyer_id))
    ).first()
    first_kept = oldest if oldest is not None else last + 1
    if after and after < first_kept - 1:
        raise CursorExpired(
            "Ce curseur désigne des événements purgés (ils sont gardés 30 jours) : reprenez sans "
            "`after` après une resynchronisation complète.",
        )
    query = select(Event).where(Event.buyer_id == buyer_id, col(Event.seq) > after)
    if types:
        query = query.where(col(Event.type).in_(types))
    events = list((await session.exec(query.order_by(col(Event.seq)).limit(limit))).all())
    # Fewer than asked: everything committed up to `last` was seen (numbers commit in order).
    cursor = events[-1].seq if len(events) == limit else max(after, last, *(e.seq for e in events))
    return events, cursor


async def purge_events(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Events older than 30 days go, with their deliveries (the numbering stays)."""
    cutoff = (now or utcnow()) - RETENTION
    old = select(Event.id).where(col(Event.at) < cutoff)
    await session.exec(delete(WebhookDelivery).where(col(WebhookDelivery.event_id).in_(old)))
    result = await session.exec(delete(Event).where(col(Event.at) < cutoff))
    return int(result.rowcount or 0)


__all__ = [
    "DeliveryState",
    "EventType",
    "event_public",
    "list_events",
    "purge_events",
    "record_event",
    "supplier_identity",
]
