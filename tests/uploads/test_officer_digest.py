# ruff: noqa: F811 (smtp_server is the fixture imported below)
"""The officers' weekly digest of new gaps, against a real SMTP server (aiosmtpd): each new gap
announced once, at most one digest every 7 days, List-Unsubscribe one click and the opt-out
respected, each sending recorded; nothing without SMTP."""

from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy

from sqlmodel import select

from app.common import utcnow
from app.config import SmtpSettings
from app.db import unit_of_work
from app.integrations.mail import Mailer
from app.uploads.digests import send_officer_digests
from app.uploads.models import ReminderSending
from app.uploads.reminders import opt_out
from app.users.models import UserRole
from tests.factories import random_siren
from tests.uploads.conftest import seed_supplier
from tests.web.conftest import link_for, smtp_server  # noqa: F401  (the fixture)

SECRET = "s" * 40
PUBLIC = "http://vigie.test"


async def _send(sessionmaker, mailer, now):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        return await send_officer_digests(
            session, mailer=mailer, public_url=PUBLIC, secret=SECRET, now=now
        )


async def test_a_weekly_digest_announces_each_new_gap_once(
    sessionmaker, make_buyer, app, smtp_server
):
    policy = app.state.compliance.policy
    buyer = await make_buyer("Commune Hebdo")
    other = await make_buyer("Commune Voisine")
    first = random_siren()
    await seed_supplier(sessionmaker, buyer, first, policy)
    foreign = random_siren()
    await seed_supplier(sessionmaker, other, foreign, policy)  # another buyer's gaps
    officer, _ = await link_for(sessionmaker, buyer, "agent@hebdo.fr", UserRole.OFFICER)
    now = utcnow()

    assert await _send(sessionmaker, Mailer(SmtpSettings()), now) == 0  # no SMTP: nothing
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=smtp_server.port))
    sent = await _send(sessionmaker, mailer, now)
    mine = [message_from_bytes(m, policy=email_policy.default) for m in smtp_server.messages]
    mine = [m for m in mine if m["To"] == "agent@hebdo.fr"]
    assert sent >= 1 and len(mine) == 1
    message = mine[0]
    assert message["List-Unsubscribe"].startswith(f"<{PUBLIC}/portail/desabonnement/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines and all(f"({first})" in line for line in lines)
    assert f"{len(lines)} nouvel(s) écart(s)" in text and "à déposer par le titulaire" in text
    assert foreign not in text
    assert f"{PUBLIC}/ecarts" in text and "<ul>" in html

    # Once a week; then only what is new.
    assert await _send(sessionmaker, mailer, now + timedelta(days=3)) == 0
    assert await _send(sessionmaker, mailer, now + timedelta(days=8)) == 0
    second = random_siren()
    await seed_supplier(sessionmaker, buyer, second, policy)
    assert await _send(sessionmaker, mailer, now + timedelta(days=8)) == 1
    last = message_from_bytes(smtp_server.messages[-1], policy=email_policy.default)
    assert last["To"] == "agent@hebdo.fr"
    news = [x for x in last.get_body(("plain",)).get_content().splitlines() if x.startswith("- ")]
    assert news and all(f"({second})" in line for line in news)  # the first gaps: once
    async with unit_of_work(sessionmaker) as session:
        sendings = (
            await session.exec(select(ReminderSending).where(ReminderSending.user_id == officer.id))
        ).all()
        assert len(sendings) == 2 and not any(s.legal for s in sendings)
        ordered = sorted(sendings, key=lambda s: s.at)
        assert [len(s.items) for s in ordered] == [len(lines), len(news)]

    # The opt-out (the List-Unsubscribe link) is respected.
    await seed_supplier(sessionmaker, buyer, random_siren(), policy)
    async with unit_of_work(sessionmaker) as session:
        await opt_out(session, officer.id)
    assert await _send(sessionmaker, mailer, now + timedelta(days=20)) == 0


async def test_the_hourly_job_sends_the_officers_digest_only_when_opted_in(
    sessionmaker, make_buyer, app, smtp_server, monkeypatch
):
    from app.compliance.evaluation import PARIS
    from app.uploads import tasks

    policy = app.state.compliance.policy
    buyer = await make_buyer("Commune Option")
    await seed_supplier(sessionmaker, buyer, random_siren(), policy)
    await link_for(sessionmaker, buyer, "agent@option.fr", UserRole.ADMIN)
    noon = utcnow().astimezone(PARIS).replace(hour=12)
    monkeypatch.setattr(tasks, "utcnow", lambda: noon)
    monkeypatch.setenv("SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP__PORT", str(smtp_server.port))
    ctx = {"compliance": app.state.compliance}

    try:
        monkeypatch.setenv("UPLOADS__OFFICER_DIGEST", "false")
        tasks.get_settings.cache_clear()
        await tasks.send_reminders_job(ctx)
        assert not [m for m in smtp_server.messages if b"agent@option.fr" in m]
        monkeypatch.setenv("UPLOADS__OFFICER_DIGEST", "true")
        tasks.get_settings.cache_clear()  # the settings are read once per process
        await tasks.send_reminders_job(ctx)
        assert len([m for m in smtp_server.messages if b"agent@option.fr" in m]) == 1
    finally:
        tasks.get_settings.cache_clear()  # no later test sees this environment
