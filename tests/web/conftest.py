"""Helpers for the page tests: a signed-in officer (through the real link flow), the CSRF
field read from a page, and a buyer of one's own with its users."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from app.buyers.models import Buyer
from app.db import SessionMaker, unit_of_work
from app.users.models import User, UserRole
from app.users.service import invite_user, issue_link

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@dataclass
class Officer:
    user: User
    buyer: Buyer
    client: httpx.AsyncClient


async def link_for(
    sessionmaker: SessionMaker, buyer: Buyer, email: str, role: UserRole = UserRole.OFFICER
) -> tuple[User, str]:
    async with unit_of_work(sessionmaker) as session:
        user, _ = await invite_user(session, email=email, buyer=buyer, role=role)
        token = await issue_link(session, user, minutes=30)
    return user, token


async def sign_in_with(client: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await client.get(f"/connexion/lien/{token}")
    assert page.status_code == 200, page.text
    return await client.post(
        f"/connexion/lien/{token}",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )


SignIn = Callable[..., Awaitable[Officer]]


@pytest.fixture
async def sign_in(app, sessionmaker: SessionMaker, make_buyer):  # type: ignore[no-untyped-def]
    """`await sign_in(role=…, buyer=…)`: a new browser-like client signed in by link."""
    opened: list[httpx.AsyncClient] = []

    async def make(
        *, role: UserRole = UserRole.OFFICER, buyer: Buyer | None = None, email: str | None = None
    ) -> Officer:
        buyer = buyer or await make_buyer("Commune de Saint-Test")
        user, token = await link_for(
            sessionmaker, buyer, email or f"agent{len(opened)}@saint-test.fr", role
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        opened.append(client)
        answer = await sign_in_with(client, token)
        assert answer.status_code == 303, answer.text
        return Officer(user, buyer, client)

    yield make
    for client in opened:
        await client.aclose()


@dataclass
class SmtpServer:
    port: int
    messages: list[bytes]


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    """A real SMTP server (aiosmtpd) on a free port, keeping what it receives."""
    import socket

    from aiosmtpd.controller import Controller

    messages: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            messages.append(envelope.original_content or envelope.content)
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, messages)
    finally:
        controller.stop()
