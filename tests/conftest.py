"""Shared fixtures.

Databases. SQLite (a temp file) by default, PostgreSQL when DATABASE_URL is a postgres URL:
created for the test session, migrated with alembic, dropped at the end.

One rollback per test (the default). The test's units of work — its own (`sessionmaker`,
`session`, `make_buyer`, `make_key`) and its app's (`app`, or `make_app(settings)` for settings
of its own: requests, `app.state.compliance`, the call recorder) — share one connection (`connection`) whose outer transaction is rolled back when the
test ends; their commits only release SAVEPOINTs (SQLAlchemy's "joining a session into an
external transaction", `join_transaction_mode="create_savepoint"`). Nothing is ever committed on
that database, so every test finds it empty: no test needs random identifiers to miss another's
rows. Within such a test:
- go through `sessionmaker` / `session`, never `engine`: another connection sees none of the
  test's rows and, on SQLite, waits for the write lock the test holds (then "database is locked");
- units of work nest within a task but never overlap: another task's opening while one is open
  fails with a clear error (concurrent requests or jobs need `real_commits`);
- jobs do not run: the in-process runner refuses to start (the queue keeps what it is given).

Opt-out: `@pytest.mark.real_commits` (or a conftest overriding the `real_commits` fixture) for
tests whose connections must see each other's commits — the in-process runner's concurrent jobs,
a worker subprocess, racing requests. They commit on a second session database where rows stay
(`committed_database_url`: identifiers of their own), or on `fresh_database_url`.

API Entreprise. The app's client (`api_entreprise_client`) sits on an `httpx.MockTransport` that
fails the test on any call; `@pytest.mark.sandbox` (or a conftest overriding the fixture to
None) starts the in-process sandbox instead. tests/compliance and tests/workers drive the engine
end to end: both marks apply there (END_TO_END). The migrations and CLI tests make databases of
their own.

Tests that need a real PostgreSQL or Redis use `postgres_url` / `redis_url`: they skip with a
reason on a bare machine and fail instead when CI is set.
"""

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api_calls.service import ApiCallRecorder
from app.buyers.models import Buyer
from app.config import Settings
from app.db import SessionMaker, async_url, make_engine, make_sessionmaker, unit_of_work
from app.integrations.api_entreprise import ApiEntrepriseClient
from app.keys.models import Role
from app.keys.service import create_key
from app.main import create_app
from app.migrate import upgrade
from tests.factories import random_siret

IN_CI = bool(os.environ.get("CI"))
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


# The directories whose tests drive the engine end to end (the runner's concurrent jobs, a worker
# subprocess, against the sandbox): they keep real commits and the sandbox.
END_TO_END = ("compliance", "workers")
TESTS = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_commits: units of work commit for real (no rollback per test)"
    )
    config.addinivalue_line(
        "markers", "sandbox: the app calls the in-process API Entreprise sandbox"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(TESTS) and item.path.relative_to(TESTS).parts[0] in END_TO_END:
            item.add_marker(pytest.mark.real_commits)
            item.add_marker(pytest.mark.sandbox)


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
    """The migrated database of this test session: only rolled-back transactions touch it."""
    with migrated_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def committed_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database of the tests marked `real_commits`: their rows stay for the session."""
    with migrated_database(tmp_path_factory.mktemp("db-committed")) as url:
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
def real_commits(request: pytest.FixtureRequest) -> bool:
    """False: one rollback per test (the default). True for tests marked `real_commits`."""
    return request.node.get_closest_marker("real_commits") is not None


@pytest.fixture
def settings(request: pytest.FixtureRequest, real_commits: bool, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("committed_database_url" if real_commits else "database_url")
    return Settings(
        environment="test",
        database_url=url,
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
async def connection(
    engine: AsyncEngine, real_commits: bool
) -> AsyncIterator[AsyncConnection | None]:
    """The test's one connection, in an outer transaction rolled back at the end (None when the
    test makes real commits). On SQLite the engine's own `BEGIN IMMEDIATE` starts it."""
    if real_commits:
        yield None
        return
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            await outer.rollback()


class JoinedSession(AsyncSession):
    """A session on the test's one connection. Units of work nest within a task (the call
    recorder's inside a check's); two tasks' at once would interleave their SAVEPOINTs. The
    `session` fixture's is open to all (owner None): the test awaits what nests in it."""

    async def __aenter__(self) -> "JoinedSession":
        opened: dict[int, asyncio.Task[Any] | None] = self.info["open_units"]
        task = asyncio.current_task()
        if any(owner not in (task, None) for owner in opened.values()):
            raise RuntimeError(
                "two units of work at once on the test's one connection (concurrent requests "
                "or jobs?): mark the test `real_commits`"
            )
        opened[id(self)] = task
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.info["open_units"].pop(id(self), None)
        await super().__aexit__(*exc)


@pytest.fixture
def sessionmaker(engine: AsyncEngine, connection: AsyncConnection | None) -> SessionMaker:
    if connection is None:
        return make_sessionmaker(engine)
    joined = async_sessionmaker(
        bind=connection,
        class_=JoinedSession,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
        info={"open_units": {}},
    )
    return joined  # type: ignore[return-value]


@pytest.fixture
async def session(sessionmaker: SessionMaker):  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        if isinstance(session, JoinedSession):
            session.info["open_units"][id(session)] = None
        yield session


class UpstreamCalled(AssertionError):
    """A test called API Entreprise without the sandbox (mark it `sandbox`)."""


@pytest.fixture
async def api_entreprise_client(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[ApiEntrepriseClient | None]:
    """The app's API Entreprise client: every call raises, and the test fails at teardown even if
    something swallowed it. None (the in-process sandbox) for tests marked `sandbox`."""
    if request.node.get_closest_marker("sandbox"):
        yield None
        return
    calls: list[str] = []

    def refuse(call: httpx.Request) -> httpx.Response:
        calls.append(f"{call.method} {call.url.path}")
        raise UpstreamCalled(f"API Entreprise called without the sandbox: {calls[-1]}")

    base_url = "https://api-entreprise.invalid"
    # Shared, not owned: the runtime's aclose() leaves it open for the next app of the test.
    http = httpx.AsyncClient(base_url=base_url, transport=httpx.MockTransport(refuse))
    client = ApiEntrepriseClient(
        settings.api_entreprise, base_url=base_url, token="no-upstream", production=False, http=http
    )
    yield client
    await http.aclose()
    if calls:
        pytest.fail(f"API Entreprise called without the sandbox (mark the test `sandbox`): {calls}")


def share_connection(app: FastAPI, sessionmaker: SessionMaker) -> None:
    """Every unit of work of `app` joins the test's connection: requests, the engine's context,
    the call recorder. Its jobs would need real commits: the in-process runner refuses to start."""
    rt = app.state.runtime
    rt.sessionmaker = sessionmaker
    rt.compliance = dataclasses.replace(rt.compliance, sessionmaker=sessionmaker)
    app.state.sessionmaker, app.state.compliance = sessionmaker, rt.compliance
    if isinstance(rt.client.recorder, ApiCallRecorder):
        rt.client.recorder.sessionmaker = sessionmaker
    if rt.runner is not None:
        rt.runner.ctx.update(rt.job_context)

        def refuse(**_: Any) -> None:
            raise RuntimeError(
                "jobs do not run under one rollback per test: mark it `real_commits`"
            )

        rt.runner.start = refuse


@pytest.fixture
def make_app(
    api_entreprise_client: ApiEntrepriseClient | None,
    sessionmaker: SessionMaker,
    connection: AsyncConnection | None,
) -> Callable[[Settings], AbstractAsyncContextManager[FastAPI]]:
    """`async with make_app(settings) as app`: an app past its startup, on the test's connection,
    with the test's API Entreprise client (for tests that need settings of their own)."""

    @asynccontextmanager
    async def make(settings: Settings) -> AsyncIterator[FastAPI]:
        application = create_app(settings, client=api_entreprise_client)
        async with application.router.lifespan_context(application):
            if connection is not None:
                share_connection(application, sessionmaker)
            yield application

    return make


@pytest.fixture
async def app(make_app, settings: Settings) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    async with make_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
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
