"""The contractors' daily digests, against a real SMTP server (aiosmtpd): what became due is
announced once, expiries 30 days ahead (opt-out respected, List-Unsubscribe one click), each
sending recorded and the request journaled; nothing at all without SMTP."""

from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy

from sqlmodel import select

from app.compliance.evaluation import evidence_to_json
from app.compliance.models import ComplianceRequest, RequirementState
from app.compliance.planner import sync_pairs
from app.compliance.rules import Evidence, EvidenceKind, RequirementType
from app.config import SmtpSettings
from app.db import unit_of_work
from app.integrations.mail import Mailer
from app.uploads.models import ReminderSending
from app.uploads.reminders import send_digests, unsubscribe_token, user_of_token
from app.users.contractors import invite_contractor
from tests.factories import random_siren
from tests.uploads.conftest import TODAY, seed_supplier
from tests.web.conftest import smtp_server  # noqa: F401  (the fixture)

SECRET = "s" * 40
PUBLIC = "http://vigie.test"


async def _send(sessionmaker, mailer, **kwargs):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        return await send_digests(
            session, mailer=mailer, public_url=PUBLIC, secret=SECRET, **kwargs
        )


async def test_a_daily_digest_announces_each_gap_once_and_records_it(
    sessionmaker,
    make_buyer,
    app,
    smtp_server,  # noqa: F811
):
    policy = app.state.compliance.policy
    buyer = await make_buyer("Commune Rappel")
    siren = random_siren()
    supplier = await seed_supplier(sessionmaker, buyer, siren, policy)
    async with unit_of_work(sessionmaker) as session:
        user, _ = await invite_contractor(
            session, email="gerant@rappel.fr", supplier=supplier, buyer=buyer, invited_by="t"
        )
    assert await _send(sessionmaker, Mailer(SmtpSettings())) == 0  # no SMTP: nothing at all
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=smtp_server.port))
    assert await _send(sessionmaker, mailer) == 1
    message = message_from_bytes(smtp_server.messages[0], policy=email_policy.default)
    assert message["To"] == "gerant@rappel.fr" and message["List-Unsubscribe"] is None
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Commune Rappel" in text and f"{PUBLIC}/portail/connexion" in text
    assert "Attestation de vigilance URSSAF de moins de 6 mois" in text and "<ul>" in html
    # Once a day, and a gap once.
    assert await _send(sessionmaker, mailer) == 0
    tomorrow = TODAY + timedelta(days=1)
    from app.compliance.evaluation import start_of

    assert await _send(sessionmaker, mailer, now=start_of(tomorrow) + timedelta(hours=9)) == 0
    async with unit_of_work(sessionmaker) as session:
        sendings = (await session.exec(select(ReminderSending))).all()
        assert len(sendings) == 1 and sendings[0].legal and sendings[0].user_id == user.id
        requests = (
            await session.exec(
                select(ComplianceRequest).where(ComplianceRequest.supplier_id == supplier.id)
            )
        ).all()
        assert sorted(r.by or "" for r in requests) == ["t", "vigie:rappel"]


async def test_an_expiry_notice_carries_one_click_unsubscribe_and_respects_the_opt_out(
    sessionmaker,
    make_buyer,
    app,
    client,
    smtp_server,  # noqa: F811
):
    policy = app.state.compliance.policy
    buyer = await make_buyer("Commune Échéance")
    siren = random_siren()
    supplier = await seed_supplier(
        sessionmaker,
        buyer,
        siren,
        policy,
        unavailable=(),
        delivered=(RequirementType.URSSAF_VIGILANCE,),
    )
    async with unit_of_work(sessionmaker) as session:
        rows = (
            await session.exec(
                select(RequirementState).where(RequirementState.supplier_id == supplier.id)
            )
        ).all()
        for row in rows:  # everything in order; the URSSAF attestation ends in 20 days
            row.evidence = evidence_to_json(
                Evidence(
                    kind=EvidenceKind.DELIVERED,
                    obtained_on=TODAY,
                    issued_on=TODAY - timedelta(days=3),
                    valid_until=TODAY
                    + timedelta(days=20 if row.requirement == "urssaf_vigilance" else 300),
                )
            )
            row.served_due_on = row.due_on
            session.add(row)
        await sync_pairs(session, [(buyer.id, supplier.id)], policy=policy)
        user, _ = await invite_contractor(
            session, email="gerant@echeance.fr", supplier=supplier, buyer=buyer, invited_by="t"
        )
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=smtp_server.port))
    assert await _send(sessionmaker, mailer) == 1
    message = message_from_bytes(smtp_server.messages[0], policy=email_policy.default)
    link = unsubscribe_token(SECRET, user.id)
    assert message["List-Unsubscribe"] == f"<{PUBLIC}/portail/desabonnement/{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert user_of_token(SECRET, link) == user.id and user_of_token(SECRET, link + "x") is None

    # The app's own secret signs its links: one click (no cookie, no CSRF) turns them off.
    secret = app.state.settings.secret_key.get_secret_value()
    token = unsubscribe_token(secret, user.id)
    page = await client.get(f"/portail/desabonnement/{token}")
    assert page.status_code == 200 and "Ne plus recevoir" in page.text
    r = await client.post(
        f"/portail/desabonnement/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "C'est noté" in r.text
    assert (await client.get(f"/portail/desabonnement/{user.id}.forged")).status_code == 404
    async with unit_of_work(sessionmaker) as session:
        for sending in (await session.exec(select(ReminderSending))).all():
            await session.delete(sending)  # as if it had never been sent
    assert await _send(sessionmaker, mailer) == 0  # opted out: no courtesy notice
    assert len(smtp_server.messages) == 1
