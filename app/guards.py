"""Input that must never reach the database raw: control characters.

A NUL byte in a query parameter or a JSON string (`?supplier=%00`, `"reference": "a\\u0000b"`)
is refused by PostgreSQL with an error that resets the connection (a 500), and other control
characters have no place in a reference, a name or a note. This ASGI middleware refuses them at
the door, before any route runs: 422 `invalid_text` with the pointer of each offending field.
Tab, line feed and carriage return stay allowed (a contract's object may span lines).
"""

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same characters as JSON escapes (raw ones are not valid JSON: the parser refuses them).
_JSON_CONTROL = re.compile(rb"\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_MESSAGE = "Caractère de contrôle interdit (octet nul, échappement…) : retirez-le."


def _pointer(parts: list[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _bad_strings(value: Any, path: list[str | int]) -> Iterator[str]:
    if isinstance(value, str):
        if CONTROL.search(value):
            yield _pointer(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if CONTROL.search(key):
                yield _pointer([*path, key])
            yield from _bad_strings(item, [*path, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bad_strings(item, [*path, i])


class RejectControlCharacters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        pointers = [
            f"#/query/{name}"
            for name, value in parse_qsl(query, keep_blank_values=True)
            if CONTROL.search(name) or CONTROL.search(value)
        ]
        headers = dict(scope.get("headers") or [])
        is_json = b"json" in headers.get(b"content-type", b"")
        if not is_json:
            if pointers:
                await self._refuse(scope, send, pointers)
                return
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:  # the JSON body, buffered once (the app reads it back from `replay`)
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if _JSON_CONTROL.search(body):
            with contextlib.suppress(ValueError):  # not JSON: the app answers invalid_json itself
                pointers += list(_bad_strings(json.loads(body), []))
        if pointers:
            await self._refuse(scope, send, pointers)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, pointers: list[str]) -> None:
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else str(uuid.uuid4())
        problem = {
            "type": "https://vigie.example/problems/invalid_text",
            "title": "Données invalides",
            "status": 422,
            "detail": "La requête contient des caractères de contrôle ; voir la liste `errors`.",
            "instance": scope.get("path", ""),
            "code": "invalid_text",
            "request_id": rid,
            "errors": [
                {"pointer": p, "detail": _MESSAGE, "code": "invalid_text"}
                for p in dict.fromkeys(pointers)
            ],
        }
        payload = json.dumps(problem, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
