"""Shared fixtures.

The database is SQLite (a temp file) by default and PostgreSQL when DATABASE_URL is a postgres
URL: a fresh database is created for the test session, migrated with alembic, dropped at the end.
Tests that need a real PostgreSQL or Redis use `postgres_url` / `redis_url`: they skip with a
reason on a bare machine and fail instead when CI is set.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.buyers.models import Buyer
from app.config import Settings
from app.db import SessionMaker, async_url, make_engine, make_sessionmaker, unit_of_work
from app.keys.models import Role
from app.keys.service import create_key
from app.main import create_app
from app.migrate import upgrade
from tests.factories import random_siret

IN_CI = bool(os.environ.get("CI"))
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: this test must not be skipped)")
    pytest.skip(reason)


# --- PostgreSQL -------------------------------------------------------------------------------


async def _pg_admin(server_url: str, sql: str) -> None:
    engine = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def create_pg_database(server_url: str) -> str:
    """Create an empty database named vigie_test_<random> on the server; return its URL."""
    name = f"vigie_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(server_url, f'CREATE DATABASE "{name}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    asyncio.run(_pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    server = pg_server_url()
    try:
        url = create_pg_database(server)
    except Exception as exc:
        unavailable(f"PostgreSQL unreachable at {make_url(server).host}: {type(exc).__name__}")
    yield url
    drop_pg_database(server, url)


@contextmanager
def migrated_database(directory: Path) -> Iterator[str]:
    """An empty database migrated to heads: PostgreSQL when DATABASE_URL says so, else SQLite."""
    env = os.environ.get("DATABASE_URL", "")
    if env.startswith("postgres"):
        url = create_pg_database(env)
        upgrade(url)
        yield url
        drop_pg_database(env, url)
    else:
        url = f"sqlite:///{directory / 'vigie.db'}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The migrated database of this test session."""
    with migrated_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the test's own: for tests that look at everything due, where other tests'
    rows on the shared session database would interfere."""
    with migrated_database(tmp_path) as url:
        yield url


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis (REDIS_URL or the local one)."""
    import redis

    url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        unavailable(f"Redis unreachable at {url}: {type(exc).__name__}")
    return url


# --- Application ------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=os.environ.get("REDIS_URL") or None,
        demo=False,
        # A queue of its own: other test sessions (or agents) on the same Redis never take our jobs.
        jobs={"queue_name": f"vigie:test:{uuid.uuid4().hex[:8]}"},
        archive={"dir": tmp_path / "archive", "key_file": tmp_path / "archive-keys.json"},
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: SessionMaker):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        yield session


@pytest.fixture
async def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigie.test") as client:
        yield client


@pytest.fixture
def make_buyer(sessionmaker: SessionMaker):  # type: ignore[no-untyped-def]
    async def make(name: str = "Commune de Test") -> Buyer:
        async with unit_of_work(sessionmaker) as session:
            buyer = Buyer(siret=random_siret(), name=name)
            session.add(buyer)
        return buyer

    return make


@pytest.fixture
def make_key(sessionmaker: SessionMaker):  # type: ignore[no-untyped-def]
    """`await make_key(Role.OFFICER, buyer=b)` → headers dict with a fresh bearer key."""

    async def make(
        role: Role | str, *, buyer: Buyer | None = None, supplier_id: uuid.UUID | None = None
    ) -> dict[str, str]:
        async with unit_of_work(sessionmaker) as session:
            issued = await create_key(
                session,
                role=Role(role),
                buyer_id=buyer.id if buyer else None,
                supplier_id=supplier_id,
            )
        return {"Authorization": f"Bearer {issued.key}"}

    return make
