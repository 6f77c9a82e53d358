"""Gap-free under concurrent writers: an event committed late is never skipped by a cursor that
moved on meanwhile (each buyer's numbers are taken under a row lock, in commit order)."""

import asyncio

import pytest

from app.db import is_sqlite, unit_of_work
from app.events.service import list_events, record_event

pytestmark = pytest.mark.real_commits


async def test_a_late_commit_is_never_skipped(sessionmaker, make_buyer, settings):
    buyer = await make_buyer()
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with unit_of_work(sessionmaker) as session:
            await record_event(session, buyer.id, "token.expiring", {"who": "slow"})
            first_in.set()
            await release.wait()  # commits late

    async def fast_writer() -> None:
        async with unit_of_work(sessionmaker) as session:
            await record_event(session, buyer.id, "token.expiring", {"who": "fast"})

    slow = asyncio.create_task(slow_writer())
    await first_in.wait()
    fast = asyncio.create_task(fast_writer())  # waits for the slow one's number lock
    if not is_sqlite(settings.database_url):  # SQLite's readers wait for its one writer
        async with sessionmaker() as reader:
            seen, cursor = await list_events(reader, buyer.id, after=0, types=[], limit=10)
        assert (seen, cursor) == ([], 0)  # nothing committed yet: the cursor stays put
        await asyncio.sleep(0.2)
        assert not fast.done()  # behind the slow writer's lock, not numbered past it
    release.set()
    await asyncio.gather(slow, fast)
    async with sessionmaker() as reader:
        seen, cursor = await list_events(reader, buyer.id, after=0, types=[], limit=10)
    assert [(e.seq, e.data["who"]) for e in seen] == [(1, "slow"), (2, "fast")]
    assert cursor == 2
