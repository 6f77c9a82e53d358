"""Helpers for the HTTP API tests: a buyer with an officer key, and the problem+json checks."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.buyers.models import Buyer
from app.keys.models import Role

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code", "request_id"}


@dataclass
class Tenant:
    buyer: Buyer
    headers: dict[str, str]


@pytest.fixture
async def tenant(make_buyer, make_key) -> Tenant:  # type: ignore[no-untyped-def]
    buyer = await make_buyer("Commune de Saint-Test")
    return Tenant(buyer, await make_key(Role.OFFICER, buyer=buyer))


@pytest.fixture
async def other_tenant(make_buyer, make_key) -> Tenant:  # type: ignore[no-untyped-def]
    buyer = await make_buyer("Métropole d'Ailleurs")
    return Tenant(buyer, await make_key(Role.OFFICER, buyer=buyer))


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 answer: status, media type, every member, French prose, a stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["request_id"] and body["request_id"] == response.headers["x-request-id"]
    assert body["type"].endswith(body["code"])
    if code is not None:
        assert body["code"] == code, body
    for prose in (body["title"], body["detail"]):
        assert isinstance(prose, str) and prose
        assert not _looks_english(prose), prose
    for err in body.get("errors", []):
        assert {"pointer", "detail", "code"} <= err.keys(), err
        assert not _looks_english(err["detail"]), err
    return body


_ENGLISH = (
    " the ",
    "field required",
    "input should",
    "not found",
    "invalid ",
    "must be ",
    "value error",
)


def _looks_english(text: str) -> bool:
    lowered = f" {text.lower()} "
    return any(word in lowered for word in _ENGLISH)


def pointers(body: dict[str, Any]) -> set[str]:
    return {e["pointer"] for e in body.get("errors", [])}
