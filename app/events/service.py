"""Events: every status change Vigie stores becomes one event of its buyer, numbered in commit
order, written in the caller's transaction (services flush, the edge commits), fanned out to the
buyer's webhooks in the same transaction and kept 30 days for the pull feed.

`record_event(session, buyer_id, type, data)` is the one entry point of the other packages.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow, uuid7
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


_EVENTS = Event.__table__  # type: ignore[attr-defined]
_DELIVERIES = WebhookDelivery.__table__  # type: ignore[attr-defined]
_SEQUENCES = EventSequence.__table__  # type: ignore[attr-defined]
BUYERS_KEY = "vigie.event_buyers"


def _next_seq_statement(dialect: str, buyer_id: uuid.UUID, count: int = 1) -> Any:
    """The buyer's next event number (the last of the next `count`). The upsert locks the
    buyer's row until commit (PostgreSQL), and SQLite has one writer: numbers are assigned in
    commit order, gap-free."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(_SEQUENCES)
        .values(buyer_id=buyer_id, last_seq=count)
        .on_conflict_do_update(
            index_elements=["buyer_id"], set_={"last_seq": _SEQUENCES.c.last_seq + count}
        )
        .returning(_SEQUENCES.c.last_seq)
    )


async def record_event(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    type: EventType | str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> Event:
    """Record one event of `buyer_id` in the caller's transaction (written, not committed) and
    queue it for the buyer's webhooks subscribed to its type. `data` is the event's content
    (JSON-serialisable); the buyer's SIRET is added as `buyer_siret`.

    Core statements on the session's connection, no ORM object: an import records thousands of
    events in one unit of work (two statements each, three with webhooks)."""
    kind = EventType(type)
    if session.new:  # a buyer or supplier just added: its row first (foreign keys)
        await session.flush()
    siret = await _buyer_siret(session, buyer_id)
    conn = await session.connection()
    seq = (await conn.execute(_next_seq_statement(conn.dialect.name, buyer_id))).scalar_one()
    event = Event(
        id=uuid7(),
        buyer_id=buyer_id,
        seq=int(seq),
        type=kind.value,
        data={"buyer_siret": siret, **data},
        at=at or utcnow(),
    )
    await conn.execute(
        insert(_EVENTS).values(
            id=event.id,
            buyer_id=buyer_id,
            seq=event.seq,
            type=event.type,
            data=event.data,
            at=event.at,
        )
    )
    deliveries = [
        {
            "id": uuid7(),
            "endpoint_id": endpoint_id,
            "event_id": event.id,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "next_attempt_at": event.at,
            "log": [],
            "created_at": event.at,
        }
        for endpoint_id, kinds in await _endpoints(session, buyer_id)
        if not kinds or "*" in kinds or kind.value in kinds
    ]
    if deliveries:
        await conn.execute(insert(_DELIVERIES), deliveries)
    return event


async def record_events(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    type: EventType | str,
    datas: list[dict[str, Any]],
) -> None:
    """`record_event` for many events of one buyer and type at once (an import's batch): the
    numbers taken in one statement, the events and their deliveries inserted in one each; the
    same rows as one call per event, in the list's order."""
    if not datas:
        return
    kind = EventType(type)
    if session.new:
        await session.flush()
    siret = await _buyer_siret(session, buyer_id)
    conn = await session.connection()
    statement = _next_seq_statement(conn.dialect.name, buyer_id, len(datas))
    last = int((await conn.execute(statement)).scalar_one())
    endpoints = [
        endpoint_id
        for endpoint_id, kinds in await _endpoints(session, buyer_id)
        if not kinds or "*" in kinds or kind.value in kinds
    ]
    rows, deliveries = [], []
    for seq, data in enumerate(datas, start=last - len(datas) + 1):
        at = utcnow()
        row = {
            "id": uuid7(),
            "buyer_id": buyer_id,
            "seq": seq,
            "type": kind.value,
            "data": {"buyer_siret": siret, **data},
            "at": at,
        }
        rows.append(row)
        deliveries += [
            {
                "id": uuid7(),
                "endpoint_id": endpoint_id,
                "event_id": row["id"],
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "next_attempt_at": at,
                "log": [],
                "created_at": at,
            }
            for endpoint_id in endpoints
        ]
    await conn.execute(insert(_EVENTS), rows)
    if deliveries:
        await conn.execute(insert(_DELIVERIES), deliveries)


async def _buyer_siret(session: AsyncSession, buyer_id: uuid.UUID) -> str:
    cache: dict[uuid.UUID, str] = session.info.setdefault(BUYERS_KEY, {})
    if buyer_id not in cache:
        siret = (await session.exec(select(Buyer.siret).where(Buyer.id == buyer_id))).first()
        if siret is None:
            raise ValueError(f"no buyer {buyer_id}")
        cache[buyer_id] = siret
    return cache[buyer_id]


ENDPOINTS_KEY = "vigie.webhook_endpoints"


async def _endpoints(
    session: AsyncSession, buyer_id: uuid.UUID
) -> list[tuple[uuid.UUID, list[str]]]:
    """The buyer's enabled endpoints, read once per unit of work (an import records thousands
    of events); registering, deleting or enabling one forgets what was read."""
    cache: dict[uuid.UUID, list[tuple[uuid.UUID, list[str]]]] = session.info.setdefault(
        ENDPOINTS_KEY, {}
    )
    if buyer_id not in cache:
        query = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.buyer_id == buyer_id, col(WebhookEndpoint.enabled)
        )
        cache[buyer_id] = [(i, list(e or [])) for i, e in (await session.exec(query)).all()]
    return cache[buyer_id]


def forget_endpoints(session: AsyncSession) -> None:
    session.info.pop(ENDPOINTS_KEY, None)


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
    "record_events",
    "supplier_identity",
]
