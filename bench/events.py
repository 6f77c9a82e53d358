"""What recording events costs, beside its anchor (the same rows inserted without an event).

    .venv/bin/python bench/events.py [--events 10000] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

On a fresh database (SQLite in a temporary directory by default): one buyer with two webhooks,
then `--events` events recorded in one unit of work (as an import's batch does: each takes the
buyer's next number, inserts the event and its two deliveries: three statements), and the same
number of bare `events` rows inserted one statement each (the anchor). Prints events per second of both and
their ratio, then `GET /v1/events` pages of 1,000 read back (ms per page). The machine is
shared: the load (`uptime`) is printed with the figures.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from app.buyers.models import Buyer
from app.common import utcnow, uuid7
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.documents.crypto import Keyring, new_master_key
from app.events import webhooks
from app.events.models import Event
from app.events.service import list_events, record_event
from app.integrations.webhooks import WebhookSender
from app.migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import create_pg_database, drop_pg_database


async def main(url: str, count: int) -> None:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    keyring = Keyring([new_master_key()])
    sender = WebhookSender(production=False)
    async with unit_of_work(sessionmaker) as session:
        buyer = Buyer(siret="21750001600019", name="Bench")
        anchor = Buyer(siret="21130055300016", name="Anchor")
        session.add_all([buyer, anchor])
        await session.flush()
        for path in ("a", "b"):
            await webhooks.create_endpoint(
                session, keyring, sender, buyer.id, url=f"http://127.0.0.1:9/{path}", events=["*"]
            )
    started = time.perf_counter()
    async with unit_of_work(sessionmaker) as session:
        for i in range(count):
            await record_event(session, buyer.id, "contract.created", {"n": i})
    recorded = time.perf_counter() - started
    rows = [
        {"id": uuid7(), "buyer_id": anchor.id, "seq": i + 1, "type": "contract.created",
         "data": {"n": i}, "at": utcnow()}
        for i in range(count)
    ]  # fmt: skip
    started = time.perf_counter()
    async with unit_of_work(sessionmaker) as session:
        for row in rows:  # one statement per event, as the services' own inserts are
            await session.execute(insert(Event).values(**row))
    bare = time.perf_counter() - started
    pages, after, started = 0, 0, time.perf_counter()
    async with sessionmaker() as session:
        while True:
            events, after = await list_events(session, buyer.id, after=after, types=[], limit=1000)
            if not events:
                break
            pages += 1
    read = time.perf_counter() - started
    await sender.aclose()
    await engine.dispose()
    print(f"database: {url.split('://')[0]}   load: {os.getloadavg()[0]:.2f}")
    print(
        f"record_event (2 webhooks): {count / recorded:,.0f} events/s ({recorded:.2f} s for {count})"
    )
    print(f"anchor, one bare insert each: {count / bare:,.0f} rows/s ({bare:.2f} s)")
    print(f"ratio: {bare / recorded:.2f}")
    print(
        f"feed read back: {pages} pages of 1,000 in {read * 1000:.0f} ms ({read * 1000 / max(pages, 1):.1f} ms/page)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        else:  # a fresh database on that server
            server, url = url, create_pg_database(url)
        upgrade(url)
        try:
            asyncio.run(main(url, args.events))
        finally:
            if args.database_url:
                drop_pg_database(server, url)
