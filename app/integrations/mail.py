"""Outgoing e-mail over SMTP (sign-in links, reminders). smtplib runs in a thread: a slow mail
server never blocks the event loop. Without `SMTP__HOST` nothing is sent (`Mailer.enabled`)."""

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from app.config import SmtpSettings

log = logging.getLogger("vigie.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None  # an HTML alternative to the text
    headers: dict[str, str] = field(default_factory=dict)  # List-Unsubscribe, …


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return bool(self.settings.host)

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="vigie")
        for name, value in mail.headers.items():
            message[name] = value
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        return message

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        assert s.host is not None
        context = ssl.create_default_context()
        smtp = (
            smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
            if s.tls
            else smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        )
        with smtp:
            if s.starttls:
                smtp.starttls(context=context)
            if s.username and s.password is not None:
                smtp.login(s.username, s.password.get_secret_value())
            smtp.send_message(message)

    async def send(self, mail: Mail) -> bool:
        """Send one message; False (logged, without its body: it may hold a link) when the
        server refuses or cannot be reached, so a page still answers."""
        if not self.enabled:
            return False
        try:
            await asyncio.to_thread(self._send, self._message(mail))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail to %s not sent: %s", mail.to, type(exc).__name__)
            return False
        return True
