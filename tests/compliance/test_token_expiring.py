"""A platform token that expires within 30 days: one `token_expiring` event a day in the journal
(by its hash, never the token), recorded by the hourly planning pass; nothing refused."""

import base64
import dataclasses
import json
import time

from app.compliance import scheduling
from app.documents.journal import entries_for


def _jwt(days: float) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": "platform", "exp": int(time.time() + days * 86400)}
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


async def _events(sessionmaker):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return await entries_for(session, [scheduling.TOKEN_SUBJECT])


async def test_an_expiring_platform_token_is_an_event_once_a_day(runtime, sessionmaker):
    before = len(await _events(sessionmaker))
    far = dataclasses.replace(
        runtime.compliance,
        upstream=runtime.compliance.upstream.model_copy(update={"token": _jwt(200)}),
    )
    await scheduling.plan_all(far)
    assert len(await _events(sessionmaker)) == before  # far from its end: nothing
    token = _jwt(10)
    soon = dataclasses.replace(
        runtime.compliance,
        upstream=runtime.compliance.upstream.model_copy(update={"token": token}),
    )
    await scheduling.plan_all(soon)
    await scheduling.plan_all(soon)  # the next hour: still one event today
    events = await _events(sessionmaker)
    assert len(events) == before + 1
    event = events[-1]
    assert event.kind == "token_expiring" and event.data["days_left"] in (9, 10)
    assert token not in json.dumps(event.data)
