"""Every request the client builds is checked against the official OpenAPI spec: the path
exists, the method is declared, every required parameter is present, and every value matches
its parameter schema (jsonschema), plus the bearer security scheme. Zero violations."""

import re
from functools import cache
from typing import Any
from urllib.parse import unquote

import httpx
import jsonschema
import yaml

from tests.integrations.api_entreprise.conftest import BUYER_SIRET, CASES, DATA, TOKEN


@cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the spec is 2 MB
    return yaml.load((DATA / "api_entreprise.yaml").read_text(encoding="utf-8"), Loader=loader)


def _match(path: str) -> tuple[str, dict[str, str]] | None:
    for template in spec()["paths"]:
        pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        found = re.match(pattern, path)
        if found:
            return template, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def violations(request: httpx.Request) -> list[str]:
    found = _match(request.url.path)
    if found is None:
        return [f"{request.url.path}: no such path in the spec"]
    template, path_values = found
    operation = spec()["paths"][template].get(request.method.lower())
    if operation is None:
        return [f"{template}: method {request.method} not declared"]
    problems = []
    security = operation.get("security", spec().get("security", []))
    if any("jwt_bearer_token" in s for s in security):
        auth = request.headers.get("authorization", "")
        if not re.fullmatch(r"Bearer \S+", auth):
            problems.append(f"{template}: no bearer token")
    sources = {
        "path": path_values,
        "query": dict(request.url.params),
        "header": {k.lower(): v for k, v in request.headers.items()},
    }
    for param in operation.get("parameters", []):
        where = sources[param["in"]]
        name = param["name"].lower() if param["in"] == "header" else param["name"]
        if name not in where:
            if param.get("required"):
                problems.append(f"{template}: required {param['in']} parameter {name} missing")
            continue
        try:
            jsonschema.validate(where[name], param.get("schema", {}))
        except jsonschema.ValidationError as exc:
            problems.append(f"{template}: {name}={where[name]!r}: {exc.message}")
    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    for extra in set(sources["query"]) - declared:
        problems.append(f"{template}: undeclared query parameter {extra}")
    return problems


async def test_every_request_conforms_to_the_spec(make_client, staging) -> None:
    client = make_client()
    for case in CASES:
        await client.call(case.operation, case.identifier, recipient=BUYER_SIRET, object="x" * 80)
    await client.privileges()
    requests = staging.api_requests
    assert len(requests) == len(CASES) + 1
    assert [v for r in requests for v in violations(r)] == []


async def test_traceability_parameters_are_the_buyers(make_client, staging) -> None:
    client = make_client()
    await client.urssaf_attestation_vigilance(
        "000000001",
        recipient=BUYER_SIRET,
        object="Marché n° 2026-17 : entretien des bâtiments communaux et des espaces verts",
    )
    request = staging.api_requests[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.url.params["recipient"] == BUYER_SIRET
    assert request.url.params["context"] == "Marchés publics"
    assert len(request.url.params["object"]) == 50
    assert request.url.params["object"].startswith("Marché n° 2026-17")


def test_the_checker_catches_violations() -> None:
    bad = httpx.Request(
        "GET",
        "https://staging.entreprise.api.gouv.fr/v4/urssaf/unites_legales/000000001/attestation_vigilance",
        params={"recipient": BUYER_SIRET, "object": "x", "token": "t"},
    )
    problems = violations(bad)
    assert any("bearer" in p for p in problems)
    assert any("context missing" in p for p in problems)
    assert any("undeclared query parameter token" in p for p in problems)
    assert violations(httpx.Request("GET", "https://x/v9/nothing")) != []
    assert violations(httpx.Request("POST", "https://x/privileges")) != []
