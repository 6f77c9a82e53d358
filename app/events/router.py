"""The event feed (`GET /v1/events`) and the buyer's webhooks (`/v1/webhooks`)."""

import uuid
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.common import utcnow
from app.deps import BuyerCaller, KnownQueryOnly, SessionDep
from app.documents.crypto import Keyring
from app.events import service, webhooks
from app.events.models import WebhookEndpoint
from app.events.schemas import (
    DeliveryPage,
    DeliveryPublic,
    EventPage,
    EventPublic,
    ReplayQueued,
    ReplayRequest,
    SecretRotated,
    TestDelivery,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookPublic,
)
from app.integrations.webhooks import WebhookSender
from app.pagination import Cursor, Limit, next_cursor

router = APIRouter(tags=["events"])


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.archive.keyring
    return keyring


def _sender(request: Request) -> WebhookSender:
    sender: WebhookSender = request.app.state.runtime.webhooks
    return sender


def _public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        failing_since=endpoint.failing_since,
        previous_secret_valid_until=endpoint.previous_until
        if endpoint.previous_until and endpoint.previous_until > utcnow()
        else None,
        created_at=endpoint.created_at,
    )


@router.get("/v1/events", response_model=EventPage, operation_id="list_events")
async def list_events(
    caller: BuyerCaller,
    session: SessionDep,
    _known: KnownQueryOnly,
    after: Annotated[
        str | None, Query(max_length=20, description="`next_cursor` of the previous call")
    ] = None,
    types: Annotated[
        list[str] | None,
        Query(description="Event types (repeatable, or comma-separated)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per call")] = 100,
) -> EventPage:
    """The buyer's events after `after`, oldest first: for ERPs behind a firewall (pull).

    Ordered and gap-free: each buyer's events are numbered in commit order, so a cursor never
    skips an event committed late. Keep `next_cursor` and give it as `after` next time (it moves
    even when `types` filtered everything out). Events are kept 30 days: an older cursor is a
    410 `cursor_expired`. Each event's `data` names the supplier (SIREN, or foreign id and
    country), the buyer's SIRET, the old and new status and the reasons."""
    assert caller.buyer_id is not None
    events, cursor = await service.list_events(
        session,
        caller.buyer_id,
        after=service.parse_cursor(after),
        types=service.parse_types(types),
        limit=limit,
    )
    items = [EventPublic.model_validate(service.event_public(e)) for e in events]
    return EventPage(items=items, next_cursor=str(cursor))


@router.post(
    "/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    operation_id="create_webhook",
)
async def create_webhook(
    data: WebhookCreate, caller: BuyerCaller, session: SessionDep, request: Request
) -> WebhookCreated:
    """Register an endpoint for the buyer's events (Standard Webhooks). The signing `secret`
    (`whsec_…`) is in this answer only: Vigie keeps it sealed and never shows it again.

    Each delivery is a POST of the event's JSON (as in the feed) with `webhook-id` (the event's
    id: deduplicate on it, delivery is at-least-once), `webhook-timestamp` and
    `webhook-signature`; verify it with `standardwebhooks.Webhook(secret).verify(body,
    headers)`. Any 2xx is a success; otherwise retries follow after about 30 s, 5 min, 30 min,
    2 h, 5 h, 10 h and 10 h, and an endpoint failing for five days is disabled (a
    `webhook.disabled` event). In production the URL must be https and resolve to a public
    address (checked again at every delivery)."""
    assert caller.buyer_id is not None
    registered = await webhooks.create_endpoint(
        session,
        _keyring(request),
        _sender(request),
        caller.buyer_id,
        url=data.url,
        events=data.events,
        description=data.description,
        by=caller.prefix,
    )
    public = _public(registered.endpoint)
    return WebhookCreated(**public.model_dump(), secret=registered.secret)


@router.get("/v1/webhooks", response_model=WebhookPage, operation_id="list_webhooks")
async def list_webhooks(caller: BuyerCaller, session: SessionDep) -> WebhookPage:
    """The buyer's endpoints (never their secrets)."""
    assert caller.buyer_id is not None
    endpoints = await webhooks.list_endpoints(session, caller.buyer_id)
    return WebhookPage(items=[_public(e) for e in endpoints])


@router.get("/v1/webhooks/{webhook_id}", response_model=WebhookPublic, operation_id="get_webhook")
async def get_webhook(
    webhook_id: uuid.UUID, caller: BuyerCaller, session: SessionDep
) -> WebhookPublic:
    """One endpoint of the buyer."""
    assert caller.buyer_id is not None
    return _public(await webhooks.get_endpoint(session, caller.buyer_id, webhook_id))


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_webhook",
)
async def delete_webhook(
    webhook_id: uuid.UUID, caller: BuyerCaller, session: SessionDep
) -> Response:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    assert caller.buyer_id is not None
    await webhooks.delete_endpoint(session, caller.buyer_id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/webhooks/{webhook_id}/rotate-secret",
    response_model=SecretRotated,
    operation_id="rotate_webhook_secret",
)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, caller: BuyerCaller, session: SessionDep, request: Request
) -> SecretRotated:
    """A new signing secret (shown once). For 24 hours both the old and the new one sign every
    message (`webhook-signature` carries both): switch the receiver over meanwhile."""
    assert caller.buyer_id is not None
    rotated = await webhooks.rotate_secret(session, _keyring(request), caller.buyer_id, webhook_id)
    assert rotated.endpoint.previous_until is not None
    return SecretRotated(
        secret=rotated.secret, previous_secret_valid_until=rotated.endpoint.previous_until
    )


@router.post(
    "/v1/webhooks/{webhook_id}/enable", response_model=WebhookPublic, operation_id="enable_webhook"
)
async def enable_webhook(
    webhook_id: uuid.UUID, caller: BuyerCaller, session: SessionDep
) -> WebhookPublic:
    """Enable again an endpoint disabled after five days of failures (replay what it missed
    with `/replay`)."""
    assert caller.buyer_id is not None
    endpoint = await webhooks.get_endpoint(session, caller.buyer_id, webhook_id)
    await webhooks.enable_endpoint(session, endpoint)
    return _public(endpoint)


@router.post(
    "/v1/webhooks/{webhook_id}/test", response_model=TestDelivery, operation_id="test_webhook"
)
async def test_webhook(
    webhook_id: uuid.UUID, caller: BuyerCaller, session: SessionDep, request: Request
) -> TestDelivery:
    """Send a signed `webhook.test` message now and tell how the endpoint answered (not an
    event of the feed, not retried)."""
    assert caller.buyer_id is not None
    endpoint = await webhooks.get_endpoint(session, caller.buyer_id, webhook_id)
    message = webhooks.sample_message(endpoint, _keyring(request), utcnow())
    result = await _sender(request).send(
        message.url,
        msg_id=message.msg_id,
        timestamp=message.timestamp,
        body=message.body,
        secrets=message.secrets,
    )
    return TestDelivery(
        delivered=result.ok,
        webhook_id=message.msg_id,
        status_code=result.status,
        error=result.error,
        duration_ms=result.duration_ms,
    )


@router.post(
    "/v1/webhooks/{webhook_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayQueued,
    operation_id="replay_webhook",
)
async def replay_webhook(
    webhook_id: uuid.UUID, data: ReplayRequest, caller: BuyerCaller, session: SessionDep
) -> ReplayQueued:
    """Send again every event since `since` the endpoint subscribes to (kept 30 days), with
    their original ids as `webhook-id`."""
    assert caller.buyer_id is not None
    since = data.since if data.since.tzinfo else data.since.replace(tzinfo=UTC)
    queued = await webhooks.replay(session, caller.buyer_id, webhook_id, since)
    return ReplayQueued(queued=queued)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    operation_id="list_webhook_deliveries",
)
async def list_webhook_deliveries(
    webhook_id: uuid.UUID,
    caller: BuyerCaller,
    session: SessionDep,
    _known: KnownQueryOnly,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeliveryPage:
    """The endpoint's delivery log, newest first: state, attempts (the last ten with their
    status, error and duration), next attempt."""
    assert caller.buyer_id is not None
    rows = await webhooks.list_deliveries(
        session, caller.buyer_id, webhook_id, before=cursor, limit=limit + 1
    )
    items = [
        DeliveryPublic(
            id=d.id,
            event_id=d.event_id,
            event_type=t,
            state=d.state.value,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status=d.last_status,
            last_error=d.last_error,
            log=d.log,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
        )
        for d, t in rows
    ]
    return DeliveryPage(items=items[:limit], next_cursor=next_cursor(items, limit))
