"""Two buyers, two habilitations (issue 9): each buyer's checks reach the upstream with its own
bearer and its own SIRET as `recipient`; neither token is in any log, response or column in
clear."""

import logging

import httpx
from sqlalchemy import text

from app.buyers.tokens import clear_token, set_token
from app.integrations.sandbox import SANDBOX_TOKEN
from app.keys.models import Role
from tests.compliance.conftest import contract_for, settle

TOKEN_A = "buyer-a-habilitation-0123456789abcdef"
TOKEN_B = "buyer-b-habilitation-fedcba9876543210"


async def test_each_buyer_calls_with_its_own_token(
    client, make_buyer, make_key, runtime, profile, sessionmaker, engine, caplog
):
    caplog.set_level(logging.DEBUG)
    runtime.sandbox.config.tokens = (SANDBOX_TOKEN, TOKEN_A, TOKEN_B)
    seen: list[tuple[str, str]] = []

    async def capture(request: httpx.Request) -> None:
        if "recipient" in request.url.params:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            seen.append((bearer, request.url.params["recipient"]))

    runtime.client.http.event_hooks["request"].append(capture)
    buyer_a, buyer_b = await make_buyer("Commune A"), await make_buyer("Commune B")
    keyring = runtime.compliance.archive.keyring
    async with sessionmaker() as session:
        await set_token(session, keyring, buyer_a.id, TOKEN_A)
        await set_token(session, keyring, buyer_b.id, TOKEN_B)
        await session.commit()
    bodies = []
    for buyer, name in ((buyer_a, "compliant"), (buyer_b, "urssaf_refused")):
        headers = await make_key(Role.OFFICER, buyer=buyer)
        r = await client.post("/v1/contracts", json=contract_for(profile(name)), headers=headers)
        assert r.status_code == 201, r.text
        bodies.append(r.text)
    await settle(runtime)
    assert seen
    by_recipient: dict[str, set[str]] = {}
    for bearer, recipient in seen:
        by_recipient.setdefault(recipient, set()).add(bearer)
    assert by_recipient[buyer_a.siret] == {TOKEN_A}
    assert by_recipient[buyer_b.siret] == {TOKEN_B}
    # Cleared: the platform's token from the next call on.
    async with sessionmaker() as session:
        assert await clear_token(session, buyer_a.id)
        await session.commit()
    seen.clear()
    headers = await make_key(Role.OFFICER, buyer=buyer_a)
    r = await client.post(f"/v1/suppliers/{profile('compliant')}/checks", headers=headers)
    assert r.status_code == 202
    await settle(runtime)
    assert {b for b, rcpt in seen if rcpt == buyer_a.siret} == {SANDBOX_TOKEN}
    # Never in clear: not in the logs, not in a response, not in any column.
    for token in (TOKEN_A, TOKEN_B):
        assert token not in caplog.text
        assert all(token not in body for body in bodies)
    async with engine.connect() as conn:
        for table in ("buyer_tokens", "api_calls", "compliance_checks", "requirement_states"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            dump = repr(rows)
            assert TOKEN_A not in dump and TOKEN_B not in dump, table
