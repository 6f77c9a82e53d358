"""The pool pings only connections that sat idle (no three-round-trip pre-ping per request), and
a connection the server closed meanwhile is replaced, not handed to a request."""

from sqlalchemy import text

from app import db


async def test_a_connection_closed_by_the_server_is_replaced(postgres_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    admin = db.make_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle "long"
        async with engine.connect() as conn:
            again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_a_recently_used_connection_is_not_pinged(postgres_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        pings: list[int] = []
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
        async with engine.connect() as conn:
            dbapi = (await conn.get_raw_connection()).dbapi_connection
            monkeypatch.setattr(type(dbapi), "ping", lambda self: pings.append(1))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert pings == []
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert pings == [1]
    finally:
        await engine.dispose()
