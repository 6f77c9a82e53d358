"""Input that must never reach a route raw: oversized JSON, the wrong media type, duplicate keys,
control characters. One pure ASGI middleware, before any route runs; each refusal is an RFC 9457
problem with a stable code.

- A JSON body is read at most `LIMITS__MAX_JSON_BYTES` (1 MB) deep: a declared `Content-Length`
  above it, or a body that grows past it while it is read, is a 413 `payload_too_large` (the
  rest is never read into memory). Uploads (multipart) have a cap of their own, in their route.
- A route that takes a JSON body refuses any other `Content-Type` (415 `unsupported_media_type`);
  no `Content-Type` is read as JSON, as FastAPI does. A POST that takes no body needs none.
- Duplicate keys in a JSON object (`{"amount_ht": 1, "amount_ht": 2}`: which one did the ERP
  mean?) are a 422 `duplicate_key` with their pointers.
- A NUL byte in a query parameter or a JSON string (`?supplier=%00`, `"reference": "a\\u0000b"`)
  is refused by PostgreSQL with an error that resets the connection, and other control characters
  have no place in a reference, a name or a note: 422 `invalid_text` with the pointer of each
  offending field. Tab, line feed and carriage return stay allowed (an object may span lines).
"""

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MESSAGE = "Caractère de contrôle interdit (octet nul, échappement…) : retirez-le."
_DUPLICATE = "Cette clé apparaît plusieurs fois dans le même objet JSON : gardez-en une seule."
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
DEFAULT_MAX_JSON_BYTES = 1024 * 1024

# Does the route that will serve this request take a JSON body? (Built from the app's routes in
# app/main.py; the guard itself knows no framework.)
ExpectsJson = Callable[[Scope], bool]


class _TooLarge(Exception):
    pass


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers the keys it saw twice."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def _pointer(parts: list[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _walk(value: Any, path: list[str | int]) -> Iterator[tuple[str, str]]:
    """(code, pointer) of every duplicate key and every string holding a control character."""
    if isinstance(value, str):
        if CONTROL.search(value):
            yield "invalid_text", _pointer(path)
    elif isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            yield "duplicate_key", _pointer([*path, key])
        for key, item in value.items():
            if CONTROL.search(key):
                yield "invalid_text", _pointer([*path, key])
            yield from _walk(item, [*path, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, [*path, i])


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def request_id_of(scope: Scope) -> str:
    """The request's id (set by the request log, app/observability.py), or the client's."""
    rid = scope.get("state", {}).get("request_id")
    if rid:
        return str(rid)
    incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
    return incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else str(uuid.uuid4())


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        expects_json: ExpectsJson | None = None,
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.expects_json = expects_json or (lambda scope: False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope.get("method") not in BODY_METHODS and not scope.get("query_string")
        ):  # nothing to check: no body is read, no query (most reads), the app's own receive
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        errors = [
            ("invalid_text", f"#/query/{name}")
            for name, value in parse_qsl(query, keep_blank_values=True)
            if CONTROL.search(name) or CONTROL.search(value)
        ]
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        json_body = is_json(content_type) or (not content_type and self._wants_json(scope))
        if content_type and not json_body and self._wants_json(scope):
            await self._refuse(scope, send, 415)
            return
        if not json_body or scope.get("method") not in BODY_METHODS:
            if errors:
                await self._refuse(scope, send, 422, errors)
                return
            await self.app(scope, receive, send)
            return
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > self.max_json_bytes:
                raise _TooLarge
            body = await self._read(receive)
        except _TooLarge:
            await self._refuse(scope, send, 413)
            return
        if body.strip():
            with contextlib.suppress(ValueError):  # not JSON: the route answers invalid_json
                errors += list(_walk(json.loads(body, object_pairs_hook=_object), []))
        if errors:
            await self._refuse(scope, send, 422, errors)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _wants_json(self, scope: Scope) -> bool:
        return scope.get("method") in BODY_METHODS and self.expects_json(scope)

    async def _read(self, receive: Receive) -> bytes:
        """The body, buffered once (the app reads it back), never past the cap."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_json_bytes:
                raise _TooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        errors: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> None:
        rid = request_id_of(scope)
        if status == 413:
            limit = f"{self.max_json_bytes / 1_000_000:g} Mo"
            code, title = "payload_too_large", "Requête trop volumineuse"
            detail = f"Le corps JSON dépasse la taille maximale acceptée ({limit})."
        elif status == 415:
            code, title = "unsupported_media_type", "Type de contenu non pris en charge"
            detail = (
                "Cette route attend un corps JSON : envoyez-le avec Content-Type: application/json."
            )
        else:
            codes = {c for c, _ in errors}
            code = (
                "invalid_text"
                if codes == {"invalid_text"}
                else ("duplicate_key" if codes == {"duplicate_key"} else "validation_failed")
            )
            title = "Données invalides"
            detail = "La requête contient des caractères de contrôle ou des clés en double ; voir la liste `errors`."
        problem: dict[str, Any] = {
            "type": f"https://vigie.example/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope.get("path", ""),
            "code": code,
            "request_id": rid,
        }
        if errors:
            problem["errors"] = [
                {"pointer": p, "detail": _MESSAGE if c == "invalid_text" else _DUPLICATE, "code": c}
                for c, p in dict.fromkeys(errors)
            ]
        payload = json.dumps(problem, ensure_ascii=False).encode()
        response_headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        if status == 413:
            response_headers.append((b"connection", b"close"))  # the rest is never read
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})


RejectControlCharacters = RequestGuard  # its first name (issue 14's first part)
