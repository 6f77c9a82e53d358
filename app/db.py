"""Engine, sessions and the unit of work (one per request or job, owned at the edge)."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, String, TypeDecorator, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.jobs import PENDING_KEY, send_pending, take_pending

if TYPE_CHECKING:
    from app.jobs import JobQueue

SessionMaker = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """Accept plain `sqlite:///…` and `postgresql://…` URLs and pick the async driver."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = async_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # The driver's own implicit BEGIN breaks SAVEPOINTs (a rolled-back nested block would
            # persist): let SQLAlchemy emit BEGIN itself, per the SQLAlchemy aiosqlite docs.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: concurrent writers wait (busy_timeout)
            # instead of failing with SQLITE_BUSY when a read transaction upgrades to a write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # 20 kept, none beyond: the same ceiling as 10 + 10 overflow, but under load an overflow
    # connection was opened and closed for each request past the tenth (connect, TLS probe,
    # auth: a tenth of a status read's CPU).
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


# A connection back in the pool within this many seconds is used without a ping: `pool_pre_ping`
# cost three round trips (BEGIN, ping, ROLLBACK with asyncpg) on every request, more than the
# request's own query. One idle longer (a restarted server may have closed it) is pinged first.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _connected(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(sync, "checkin")
    def _checked_in(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool drops it and checks out another (SQLAlchemy docs)
            raise DisconnectionError() from exc


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: SessionMaker,
    jobs: "JobQueue | None" = None,
    *,
    lock: asyncio.Lock | None = None,
) -> AsyncIterator[AsyncSession]:
    """The one unit of work of a request, a job or a command: commit when the block succeeds,
    roll back when it raises; services only flush.

    Jobs queued with `app.jobs.enqueue_after_commit` leave once the commit has succeeded (a fast
    worker never looks for rows that are not there yet) and are dropped on rollback. `lock`
    serialises the engine's own writers within the process (SQLite has one writer).
    """
    async with contextlib.AsyncExitStack() as stack:
        if lock is not None:
            await stack.enter_async_context(lock)
        session = await stack.enter_async_context(sessionmaker())
        try:
            yield session
            if jobs is None and session.info.get(PENDING_KEY):
                raise RuntimeError("jobs were queued in a unit of work that has no job queue")
            await session.commit()
        except BaseException:
            take_pending(session)
            await session.rollback()
            raise
        pending = take_pending(session)
    if pending and jobs is not None:
        await send_pending(jobs, pending)


class StrEnumType(TypeDecorator[Any]):
    """A `StrEnum` stored as its plain string value (VARCHAR, no database enum type to migrate):
    rows come back as the enum, so models and schemas share one typed vocabulary."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return value.value if isinstance(value, self.enum) else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        # The member by its value, without Enum.__call__ (a tenth of reading 30,000 rows).
        if value is None:
            return None
        member = self.enum._value2member_map_.get(value)
        return member if member is not None else self.enum(value)


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to an aware column")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
