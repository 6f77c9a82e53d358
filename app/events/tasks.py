"""The webhook jobs: every few seconds the due deliveries are claimed and each one is sent by a
job of its own (the database remembers what is due: a lost queue loses no delivery); each hour
the events older than 30 days are purged. The arq worker (`workers/main.py`) and the in-process
runner (`app/runtime.py`) run these same functions; `ctx["compliance"]` gives the transactions
and the archive's keyring, `ctx["webhooks"]` the process's `WebhookSender`."""

import uuid
from typing import Any

from app.common import utcnow
from app.compliance.context import ComplianceContext
from app.events import webhooks
from app.events.service import purge_events
from app.idempotency import purge_idempotency_keys
from app.integrations.webhooks import WebhookSender
from app.jobs import enqueue_after_commit

DISPATCH_SECONDS = 5.0
DELIVER_JOB = "deliver_webhook"


async def dispatch_webhooks_job(ctx: dict[str, Any]) -> int:
    """Claim the due deliveries and send each by a job of its own (after the commit)."""
    compliance: ComplianceContext = ctx["compliance"]
    async with compliance.transaction() as session:
        ids = await webhooks.claim_due(session, now=utcnow())
        for delivery_id in ids:
            enqueue_after_commit(
                session, DELIVER_JOB, str(delivery_id), job_id=f"webhook:{delivery_id}"
            )
    return len(ids)


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> str | None:
    """One attempt of one delivery: sign, POST, record (retry later, or disable the endpoint)."""
    compliance: ComplianceContext = ctx["compliance"]
    sender: WebhookSender = ctx["webhooks"]
    did = uuid.UUID(delivery_id)
    now = utcnow()
    async with compliance.transaction() as session:
        message = await webhooks.message_for(session, compliance.archive.keyring, did, now)
    if message is None:
        return None
    result = await sender.send(
        message.url,
        msg_id=message.msg_id,
        timestamp=message.timestamp,
        body=message.body,
        secrets=message.secrets,
    )
    async with compliance.transaction() as session:
        state = await webhooks.record_attempt(session, did, result, utcnow())
    return state.value if state is not None else None


async def purge_events_job(ctx: dict[str, Any]) -> int:
    """Hourly: the events past their 30 days go, and the Idempotency-Key records past 72 h."""
    compliance: ComplianceContext = ctx["compliance"]
    async with compliance.transaction() as session:
        await purge_idempotency_keys(session)
        return await purge_events(session)


JOBS = (dispatch_webhooks_job, deliver_webhook, purge_events_job)
FUNCTIONS = {f.__name__: f for f in JOBS}
