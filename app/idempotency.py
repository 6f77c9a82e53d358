"""`Idempotency-Key` on every POST (IETF httpapi draft "The Idempotency-Key HTTP Header
Field"): a client that retries a POST over a bad network gets the first answer again instead of
a second contract.

- same key, same request (method, path, query and body hashed) → the first answer, replayed
  with `Idempotent-Replayed: true`;
- same key, another request → 422 `idempotency_key_reused`;
- same key while the first is still running → 409 `idempotency_key_in_use` (retry later);
- keys are scoped to the API key (its SHA-256, as stored) and kept 72 hours.

Answers that say nothing about the request (401, 403 of another key, 429, 5xx) are not kept: a
retry runs again. A pure ASGI middleware placed inside the request-id middleware and outside
the routes; its records live beside the events (`IdempotencyRecord`).
"""

import hashlib
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.db import unit_of_work
from app.events.models import IdempotencyRecord
from app.keys.models import ApiKey
from app.keys.service import hash_key

log = logging.getLogger("vigie.idempotency")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"idempotency-key"
KEEP = timedelta(hours=72)
ABANDONED = timedelta(minutes=5)  # a "running" record this old belonged to a dead process
MAX_KEY_CHARS = 255
MAX_STORED_BYTES = 5 * 1024 * 1024
SPOOL_BYTES = 1024 * 1024  # a larger body waits on disk while the first answer is computed
CHUNK_BYTES = 64 * 1024
NOT_KEPT = {401, 429}  # nothing was done: a retry runs again
DROPPED_HEADERS = {b"x-request-id", b"date", b"server", b"set-cookie", b"content-length"}
PROBLEM_BASE = "https://vigie.example/problems/"


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What identifies a request: method, path, query and the body's SHA-256."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(len(body).to_bytes(8, "big"))
    digest.update(hashlib.sha256(body).digest())
    return digest.hexdigest()


async def purge_idempotency_keys(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Records older than 72 hours go."""
    cutoff = (now or utcnow()) - KEEP
    result = await session.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    )
    return int(result.rowcount or 0)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        token = _bearer(headers.get(b"authorization", b""))
        if raw_key is None or token is None:  # no key, or no caller: the route answers
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip().strip('"')
        if not key or len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
            await _problem(
                scope,
                send,
                400,
                "invalid_idempotency_key",
                "Clé d'idempotence invalide",
                f"L'en-tête Idempotency-Key doit compter de 1 à {MAX_KEY_CHARS} caractères "
                "ASCII imprimables (un UUID, par exemple).",
            )
            return
        print_, receive, close = await _read_body(
            receive,
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            _boundary(headers),
        )
        try:
            await self._handle(scope, receive, send, token, key, print_)
        finally:
            close()

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, token: str, key: str, print_: str
    ) -> None:
        sessionmaker = scope["app"].state.sessionmaker
        owner = hash_key(token)
        now = utcnow()
        async with unit_of_work(sessionmaker) as session:
            decision = await _begin(session, owner, key, print_, now)
        if isinstance(decision, IdempotencyRecord):  # the first answer, again
            await _replay(send, decision)
            return
        if decision == "pass":
            await self.app(scope, receive, send)
            return
        if decision == "reused":
            await _problem(
                scope,
                send,
                422,
                "idempotency_key_reused",
                "Clé d'idempotence déjà utilisée",
                "Cette clé d'idempotence a déjà servi pour une autre requête (autre chemin ou "
                "autre corps) : une clé par opération.",
            )
            return
        if decision == "running":
            await _problem(
                scope,
                send,
                409,
                "idempotency_key_in_use",
                "Requête déjà en cours",
                "La première requête faite avec cette clé d'idempotence est encore en cours : "
                "réessayez dans un instant pour obtenir sa réponse.",
                {"Retry-After": "1"},
            )
            return
        await self._run_and_keep(scope, receive, send, sessionmaker, owner, key)

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, sessionmaker: Any, owner: str, key: str
    ) -> None:
        status: int | None = None
        kept_headers: list[list[str]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                kept_headers[:] = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() not in DROPPED_HEADERS and not k.lower().startswith(b"ratelimit")
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            async with unit_of_work(sessionmaker) as session:
                await _forget(session, owner, key)
            raise
        body = b"".join(chunks)
        keep = status is not None and status < 500 and status not in NOT_KEPT
        async with unit_of_work(sessionmaker) as session:
            if keep and len(body) <= MAX_STORED_BYTES:
                await _finish(session, owner, key, status or 0, kept_headers, body)
            else:
                await _forget(session, owner, key)


def _bearer(value: bytes) -> str | None:
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def _read_body(
    receive: Receive, method: str, path: str, query: bytes, boundary: bytes | None = None
) -> tuple[str, Receive, Callable[[], None]]:
    """Read the body once, hashing it as it comes, into a spooled file (a large upload goes to
    disk, not memory), and hand the app a `receive` that gives it back by chunks. Returns the
    request's fingerprint, that `receive`, and what closes the spool."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the caller)
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        spool.write(message.get("body", b""))
        more = message.get("more_body", False)
    size = spool.tell()
    spool.seek(0)
    digest.update(size.to_bytes(8, "big"))
    digest.update(_body_hash(spool, boundary))
    spool.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(CHUNK_BYTES)
        done = spool.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return digest.hexdigest(), replay, spool.close


def _body_hash(spool: Any, boundary: bytes | None) -> bytes:
    """The body's SHA-256; a multipart body's with its boundary masked (a client's retry draws a
    new random boundary around the same fields and file)."""
    digest = hashlib.sha256()
    if not boundary:
        while chunk := spool.read(CHUNK_BYTES):
            digest.update(chunk)
        return digest.digest()
    carry = b""
    while True:
        chunk = spool.read(CHUNK_BYTES)
        buffer = carry + chunk
        if not chunk:
            digest.update(buffer.replace(boundary, b"-"))
            return digest.digest()
        # Occurrences starting before `cut` end inside the buffer; later ones wait for more.
        cut = len(buffer) - (len(boundary) - 1)
        out, start = bytearray(), 0
        while (found := buffer.find(boundary, start)) != -1 and found < cut:
            out += buffer[start:found] + b"-"
            start = found + len(boundary)
        end = max(cut, start)
        out += buffer[start:end]
        digest.update(out)
        carry = buffer[end:]


def _boundary(headers: dict[bytes, bytes]) -> bytes | None:
    kind, _, params = headers.get(b"content-type", b"").partition(b";")
    if kind.strip().lower() != b"multipart/form-data":
        return None
    for param in params.split(b";"):
        name, _, value = param.strip().partition(b"=")
        if name.lower() == b"boundary" and value:
            return value.strip(b'"')
    return None


async def _record(session: AsyncSession, owner: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.scope == owner, IdempotencyRecord.key == key
    )
    return (await session.exec(query)).first()


async def _begin(
    session: AsyncSession, owner: str, key: str, print_: str, now: datetime
) -> IdempotencyRecord | str:
    """`pass` (no valid caller: the route answers 401), `run` (recorded as running), `reused`,
    `running`, or the finished record to replay."""
    caller = (
        await session.exec(
            select(ApiKey.id).where(ApiKey.key_hash == owner, col(ApiKey.revoked_at).is_(None))
        )
    ).first()
    if caller is None:
        return "pass"
    record = await _record(session, owner, key)
    if record is not None and record.created_at < now - KEEP:
        await session.delete(record)
        await session.flush()
        record = None
    if record is None:
        try:
            async with session.begin_nested():
                session.add(
                    IdempotencyRecord(scope=owner, key=key, fingerprint=print_, created_at=now)
                )
                await session.flush()
        except IntegrityError:  # a concurrent first request took the key
            return "running"
        return "run"
    if record.fingerprint != print_:
        return "reused"
    if not record.done:
        if record.created_at < now - ABANDONED:  # its process died: this one runs it
            record.created_at = now
            session.add(record)
            await session.flush()
            return "run"
        return "running"
    return record


async def _finish(
    session: AsyncSession,
    owner: str,
    key: str,
    status: int,
    headers: list[list[str]],
    body: bytes,
) -> None:
    record = await _record(session, owner, key)
    if record is None:
        return
    record.done, record.status_code, record.headers, record.body = True, status, headers, body
    session.add(record)
    await session.flush()


async def _forget(session: AsyncSession, owner: str, key: str) -> None:
    await session.exec(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.scope) == owner, col(IdempotencyRecord.key) == key
        )
    )


async def _replay(send: Send, record: IdempotencyRecord) -> None:
    body = record.body or b""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record.headers]
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": record.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, str] | None = None,
) -> None:
    """RFC 9457 problem+json, as app/problems.py renders the others."""
    state = scope.get("state") or {}
    body = json.dumps(
        {
            "type": PROBLEM_BASE + code,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope["path"],
            "code": code,
            "request_id": state.get("request_id"),
        },
        ensure_ascii=False,
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (extra or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
