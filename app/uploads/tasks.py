"""The portal's job: the contractors' daily reminder digests. The arq worker
(`workers/main.py`, hourly cron) and the in-process runner (`app/runtime.py`, hourly clock) run
this same function; a contact gets at most one digest a day (`reminder_sendings`), and, with
`UPLOADS__OFFICER_DIGEST=true`, each officer one weekly digest of new gaps."""

from typing import Any

from app.common import utcnow
from app.compliance.context import ComplianceContext
from app.compliance.evaluation import PARIS
from app.config import get_settings
from app.integrations.mail import Mailer
from app.uploads.digests import send_officer_digests
from app.uploads.reminders import send_digests

FIRST_HOUR = 8  # Paris time: no digest at night


async def send_reminders_job(ctx: dict[str, Any]) -> int:
    now = utcnow()
    if now.astimezone(PARIS).hour < FIRST_HOUR:
        return 0
    settings = get_settings()
    mailer = Mailer(settings.smtp)
    if not mailer.enabled:
        return 0
    compliance: ComplianceContext = ctx["compliance"]
    secret = settings.secret_key.get_secret_value()
    async with compliance.transaction() as session:
        sent = await send_digests(
            session, mailer=mailer, public_url=settings.public_url, secret=secret, now=now
        )
    if settings.uploads.officer_digest:  # opt-in: the officers' weekly digest of new gaps
        async with compliance.transaction() as session:
            sent += await send_officer_digests(
                session, mailer=mailer, public_url=settings.public_url, secret=secret, now=now
            )
    return sent


JOBS = (send_reminders_job,)
FUNCTIONS = {f.__name__: f for f in JOBS}
